"""The fabric on the seed's configuration: a working R1/R2 pair, a hub with 20 branches, and time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ikefleet.lab import fabric
from ikefleet.lab.clock import LabClock
from ikefleet.lab.router import Router

from .test_fabric_seed import Lab, build, find

# The lab's routers and CA and these tests read one clock, held at the moment the module loads.
CLOCK = LabClock.held()
NOW = CLOCK.now()


def ospf_routes(router: Router) -> dict[str, dict[str, str]]:
    return {i.get("dst-address"): i.values for i in find(router, "/ip route") if i.get("ospf-type")}


def active_route(router: Router, dst: str) -> dict[str, str] | None:
    return next(
        (
            i.values
            for i in find(router, "/ip route", **{"dst-address": dst})
            if i.status.get("active") == "yes"
        ),
        None,
    )


@pytest.fixture
def seed(tmp_path: Path) -> Lab:
    lab = build(tmp_path, clock=CLOCK)
    fabric.recompute(lab.routers, NOW)
    return lab


def test_both_ends_show_an_established_peer(seed: Lab) -> None:
    (r1_peer,) = seed.hub.config.items("/ip ipsec active-peers")
    (r2_peer,) = seed.branches[0].config.items("/ip ipsec active-peers")
    assert r1_peer.dynamic and r1_peer.get("state") == "established"
    assert r1_peer.status["responder"] == "yes" and r2_peer.status["responder"] == "no"
    assert r1_peer.get("remote-address") == "198.51.100.2" and r2_peer.get("remote-address") == "203.0.113.1"
    assert r1_peer.get("id") == "CN=client" and r2_peer.get("id") == "CN=server"
    assert r1_peer.get("dynamic-address") == "10.0.0.2"
    assert r1_peer.get("ph2-total") == r2_peer.get("ph2-total") == "1"


@pytest.mark.parametrize("index", [0, 1])
def test_a_mature_sa_pair_with_the_proposal_algorithms(seed: Lab, index: int) -> None:
    router = seed.routers[index]
    sas = router.config.items("/ip ipsec installed-sa")
    assert len(sas) == 2
    assert {(sa.get("src-address"), sa.get("dst-address")) for sa in sas} == {
        ("203.0.113.1", "198.51.100.2"),
        ("198.51.100.2", "203.0.113.1"),
    }
    for sa in sas:
        assert sa.get("state") == "mature"
        assert (sa.get("auth-algorithm"), sa.get("enc-algorithm"), sa.get("enc-key-size")) == (
            "sha256",
            "aes-cbc",
            "256",
        )
        assert sa.status["flags"] == "HE"  # CCR1009 accelerates aes-cbc + sha256
        assert "enc-key" not in sa.values and "auth-key" not in sa.values
        assert sa.private["enc-key"]


def test_the_same_sa_has_the_same_spi_on_both_ends(seed: Lab) -> None:
    def spis(router: Router) -> dict[tuple[str, str], str]:
        return {
            (s.get("src-address"), s.get("dst-address")): s.get("spi")
            for s in find(router, "/ip ipsec installed-sa")
        }

    assert spis(seed.hub) == spis(seed.branches[0])
    assert len(set(spis(seed.hub).values())) == 2


def test_generated_policies_and_mode_config_address(seed: Lab) -> None:
    r2 = seed.branches[0]
    (hub_policy,) = [p for p in seed.hub.config.items("/ip ipsec policy") if p.dynamic]
    (r2_policy,) = [p for p in r2.config.items("/ip ipsec policy") if p.dynamic]
    assert (r2_policy.get("src-address"), r2_policy.get("dst-address")) == ("10.0.0.2/32", "10.0.0.1/32")
    assert (hub_policy.get("src-address"), hub_policy.get("dst-address")) == ("10.0.0.1/32", "10.0.0.2/32")
    for policy in (hub_policy, r2_policy):
        assert policy.get("ph2-state") == "established" and policy.status["active"] == "yes"
        assert policy.get("proposal") == "SHA256"
    (address,) = [a for a in r2.config.items("/ip address") if a.dynamic]
    assert address.get("address") == "10.0.0.2/32" and address.get("interface") == "ether1"


def test_eoip_runs_on_both_ends_with_distinct_stable_macs(seed: Lab) -> None:
    (a,) = seed.hub.config.items("/interface eoip")
    (b,) = seed.branches[0].config.items("/interface eoip")
    assert a.status["running"] == b.status["running"] == "yes"
    assert a.status["actual-mtu"] == "1458"
    assert a.status["mac-address"] != b.status["mac-address"]
    assert a.status["mac-address"].startswith("02:")
    before = a.status["mac-address"]
    fabric.recompute(seed.routers, NOW + timedelta(seconds=5))
    assert a.status["mac-address"] == before


def test_ospf_full_both_ways_with_bfd(seed: Lab) -> None:
    r2 = seed.branches[0]
    (n1,) = seed.hub.config.items("/routing ospf neighbor")
    (n2,) = r2.config.items("/routing ospf neighbor")
    assert (n1.get("state"), n1.get("router-id"), n1.get("address")) == ("Full", "192.168.2.1", "172.16.0.2")
    assert (n2.get("state"), n2.get("router-id"), n2.get("address")) == ("Full", "192.168.1.1", "172.16.0.1")
    assert n1.get("interface") == "EoIP-Tunnel" and n1.get("dr-address") == "0.0.0.0"  # point-to-point
    for router in seed.routers:
        (bfd,) = router.config.items("/routing bfd neighbor")
        assert bfd.get("state") == "up" and bfd.status["up"] == "yes" and bfd.get("protocols") == "ospf"


def test_lan_routes_cross_the_tunnel_and_tunnel_nets_do_not(seed: Lab) -> None:
    r2 = seed.branches[0]
    route = active_route(seed.hub, "192.168.2.0/24")
    assert route is not None and route["gateway"] == "172.16.0.2" and route["distance"] == "110"
    assert route["gateway-status"] == "172.16.0.2 reachable via  EoIP-Tunnel"
    route = active_route(r2, "192.168.1.0/24")
    assert route is not None and route["gateway"] == "172.16.0.1"
    for router in seed.routers:
        routes = ospf_routes(router)
        assert not [dst for dst in routes if dst.startswith("172.16.0.")]
        # ospf-out lets only 192.168.0.0/16 out: no WAN, no IPsec /32
        assert all(dst.startswith("192.168.") for dst in routes)
        connected = active_route(router, "172.16.0.0/30")
        assert connected is not None and connected["distance"] == "0"
        (conn,) = find(router, "/ip route", **{"dst-address": "172.16.0.0/30"})
        assert conn.status["flags"] == "ADC"


def test_hub_with_twenty_branches(tmp_path: Path) -> None:
    lab = build(tmp_path, branches=20, clock=CLOCK)
    fabric.recompute(lab.routers, NOW)
    neighbors = lab.hub.config.items("/routing ospf neighbor")
    assert len(neighbors) == 20 and {n.get("state") for n in neighbors} == {"Full"}
    assert len(lab.hub.config.items("/ip ipsec active-peers")) == 20
    assert len(lab.hub.config.items("/ip ipsec installed-sa")) == 40
    for k, branch in enumerate(lab.branches, start=1):
        hub_end = f"172.16.0.{4 * (k - 1) + 1}"
        routes = ospf_routes(branch)
        others = {f"192.168.{j + 1}.0/24" for j in range(21) if j != k}
        assert set(routes) == others  # every other LAN (the hub's and 19 branches'), nothing else
        far = f"192.168.{(k % 20) + 2}.0/24"
        assert routes[far]["gateway"] == hub_end
        assert routes[far]["ospf-metric"] == "30"  # two tunnel hops + the far LAN
        assert routes["192.168.1.0/24"]["ospf-metric"] == "20"


def test_refresh_ages_sessions_and_rekeys_sas(seed: Lab) -> None:
    r2 = seed.branches[0]
    fabric.refresh(r2, NOW + timedelta(minutes=5))
    (peer,) = r2.config.items("/ip ipsec active-peers")
    assert peer.get("uptime") == "5m"
    sa = r2.config.items("/ip ipsec installed-sa")[0]
    first_spi = sa.get("spi")
    assert sa.get("expires-in") == "25m" and sa.get("add-lifetime") == "24m/30m"
    bytes_5m = int(sa.get("current-bytes"))
    fabric.refresh(r2, NOW + timedelta(minutes=6))
    assert int(sa.get("current-bytes")) > bytes_5m > 0
    (neighbor,) = r2.config.items("/routing ospf neighbor")
    assert neighbor.get("adjacency") == "6m"
    fabric.refresh(r2, NOW + timedelta(minutes=25))  # past the 24m soft lifetime: a new SA
    assert sa.get("spi") != first_spi and sa.get("expires-in") == "29m"
    fabric.refresh(r2, NOW + timedelta(hours=6, minutes=24, seconds=8))
    assert peer.get("uptime") == "6h24m8s"


def test_a_read_ages_its_own_menu(seed: Lab) -> None:
    """refresh(path) brings the menu about to be read to time; the other timed menus wait for their read
    (a hub's batch reads four, each over every branch's sessions)."""
    r2 = seed.branches[0]
    fabric.refresh(r2, NOW + timedelta(minutes=7))
    fabric.refresh(r2, NOW + timedelta(minutes=9), "/ip ipsec active-peers")
    (peer,) = r2.config.items("/ip ipsec active-peers")
    (neighbor,) = r2.config.items("/routing ospf neighbor")
    assert peer.get("uptime") == "9m" and neighbor.get("adjacency") == "7m"
    fabric.refresh(r2, NOW + timedelta(minutes=10), "/routing ospf neighbor")
    assert neighbor.get("adjacency") == "10m" and peer.get("uptime") == "9m"
    assert r2.config.items("/ip ipsec installed-sa")[0].get("expires-in") == "23m"  # aged at 7m


def test_uptime_survives_recompute_but_restarts_after_an_outage(seed: Lab) -> None:
    r2 = seed.branches[0]
    fabric.recompute(seed.routers, NOW + timedelta(minutes=1))
    fabric.refresh(r2, NOW + timedelta(minutes=2))
    assert r2.config.items("/ip ipsec active-peers")[0].get("uptime") == "2m"
    r2.faults.wan_down = True
    fabric.recompute(seed.routers, NOW + timedelta(minutes=3))
    assert r2.config.items("/ip ipsec active-peers") == []
    r2.faults.wan_down = False
    fabric.recompute(seed.routers, NOW + timedelta(minutes=4))
    fabric.refresh(r2, NOW + timedelta(minutes=5))
    assert r2.config.items("/ip ipsec active-peers")[0].get("uptime") == "1m"


def test_recompute_never_touches_configuration(seed: Lab) -> None:
    for router in seed.routers:
        stored = router.config.to_json()
        fabric.recompute(seed.routers, NOW + timedelta(seconds=30))
        assert router.config.to_json() == stored


def test_connected_network_outside_ospf_arrives_as_external_type_1(seed: Lab) -> None:
    r2 = seed.branches[0]
    r2.config.add("/interface bridge", {"name": "guests"})
    r2.config.add(
        "/ip address", {"address": "192.168.20.1/24", "network": "192.168.20.0", "interface": "guests"}
    )
    r2.config.add("/ip address", {"address": "192.0.2.1/24", "network": "192.0.2.0", "interface": "guests"})
    fabric.recompute(seed.routers, NOW)
    routes = ospf_routes(seed.hub)
    assert routes["192.168.20.0/24"]["ospf-type"] == "external-type-1"
    assert routes["192.168.20.0/24"]["ospf-metric"] == "30"  # tunnel cost 10 + metric-connected 20
    assert "192.0.2.0/24" not in routes  # ospf-out on R2 lets only 192.168.0.0/16 out


def test_two_equal_paths_give_an_ecmp_route(seed: Lab) -> None:
    hub, r2 = seed.hub, seed.branches[0]
    for router, local, remote, address in (
        (hub, "203.0.113.1", "198.51.100.2", "172.16.0.5/30"),
        (r2, "198.51.100.2", "203.0.113.1", "172.16.0.6/30"),
    ):
        tunnel = {"name": "plain", "local-address": local, "remote-address": remote, "tunnel-id": "2"}
        router.config.add("/interface eoip", tunnel)
        router.config.add("/ip address", {"address": address, "network": "172.16.0.4", "interface": "plain"})
        router.config.add("/routing ospf interface", {"interface": "plain", "network-type": "point-to-point"})
    fabric.recompute(seed.routers, NOW)
    assert len(hub.config.items("/routing ospf neighbor")) == 2
    route = ospf_routes(hub)["192.168.2.0/24"]
    assert route["gateway"] == "172.16.0.2,172.16.0.6"
    assert route["gateway-status"] == "172.16.0.2 reachable via  EoIP-Tunnel,172.16.0.6 reachable via  plain"
    (plain,) = find(hub, "/routing ospf interface", interface="plain")
    plain.values["cost"] = "50"
    fabric.recompute(seed.routers, NOW)
    assert ospf_routes(hub)["192.168.2.0/24"]["gateway"] == "172.16.0.2"


def test_one_broken_branch_leaves_the_others_alone(tmp_path: Path) -> None:
    lab = build(tmp_path, branches=20, clock=CLOCK)
    lab.branches[4].faults.wan_down = True  # R6, LAN 192.168.6.0/24
    fabric.recompute(lab.routers, NOW)
    assert len(lab.hub.config.items("/ip ipsec active-peers")) == 19
    assert len(lab.hub.config.items("/routing ospf neighbor")) == 19
    routes = ospf_routes(lab.branches[0])
    assert "192.168.6.0/24" not in routes and "192.168.7.0/24" in routes
    assert ospf_routes(lab.branches[4]) == {}


@pytest.mark.parametrize("days", [365, 3650 - 30 + 1])
def test_the_seed_fabric_on_another_date(tmp_path: Path, days: int) -> None:
    """Held a year ahead, or with the certificates inside their renewal window: the same clock signs and
    checks, so the tunnels come up whatever the date."""
    clock = LabClock.held(CLOCK.now() + timedelta(days=days))
    lab = build(tmp_path, clock=clock)
    fabric.recompute(lab.routers, clock.now())
    (peer,) = lab.hub.config.items("/ip ipsec active-peers")
    assert peer.get("state") == "established"
