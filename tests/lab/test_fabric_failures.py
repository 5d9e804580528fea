"""Each misconfiguration or fault of the seed produces the state (and log) a real RouterOS would show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ikefleet.lab import fabric, pki
from ikefleet.lab.clock import LabClock
from ikefleet.lab.router import Router

from .test_fabric_seed import Authority, Lab, build, find, store_cert

NOW = datetime.now(UTC)


@pytest.fixture
def seed(tmp_path: Path) -> Lab:
    return build(tmp_path, clock=LabClock.held(NOW.replace(microsecond=0)))


def logs(router: Router) -> list[str]:
    return [f"{topics}: {message}" for _, topics, message in router.logs]


def assert_no_tunnel(lab: Lab) -> None:
    for router in lab.routers:
        assert router.config.items("/ip ipsec active-peers") == []
        assert router.config.items("/ip ipsec installed-sa") == []
        assert router.config.items("/routing ospf neighbor") == []
        (eoip,) = router.config.items("/interface eoip")
        assert eoip.status["running"] == "no"
        assert not [i for i in router.config.items("/ip route") if i.get("ospf-type")]
    assert not [a for a in lab.branches[0].config.items("/ip address") if a.dynamic]


def replace_client_cert(lab: Lab, cert_pem: str, key_pem: str) -> None:
    r2 = lab.branches[0]
    (item,) = find(r2, "/certificate", name="client")
    r2.config.items("/certificate").remove(item)
    store_cert(r2, "client", cert_pem, key_pem)
    (item,) = find(lab.hub, "/certificate", name="client")
    lab.hub.config.items("/certificate").remove(item)
    store_cert(lab.hub, "client", cert_pem, None)


def test_mismatched_proposal_fails_phase2_only(seed: Lab) -> None:
    (proposal,) = find(seed.branches[0], "/ip ipsec proposal", name="SHA256")
    proposal.values["enc-algorithms"] = "aes-128-cbc"
    fabric.recompute(seed.routers, NOW)
    for router in seed.routers:
        (peer,) = router.config.items("/ip ipsec active-peers")
        assert peer.get("state") == "established" and peer.get("ph2-total") == "0"
        assert router.config.items("/ip ipsec installed-sa") == []
        (policy,) = [p for p in router.config.items("/ip ipsec policy") if p.dynamic]
        assert policy.get("ph2-state") == "no-phase2" and policy.status["active"] == "no"
        assert router.config.items("/routing ospf neighbor") == []
    assert any("no suitable proposal found" in line for line in logs(seed.hub))


def test_mismatched_profile_fails_phase1(seed: Lab) -> None:
    (profile,) = find(seed.branches[0], "/ip ipsec profile", name="SHA256")
    profile.values["dh-group"] = "modp2048"
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: no suitable proposal found" in logs(seed.hub)


def test_certificate_from_another_ca(seed: Lab) -> None:
    replace_client_cert(seed, *Authority(name="rogue").issue("client"))
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: certificate verification failed: unknown CA" in logs(seed.hub)


def test_expired_certificate(seed: Lab) -> None:
    replace_client_cert(seed, *seed.ca.issue("client", days=1, start=NOW - timedelta(days=3)))
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: certificate verification failed: expired" in logs(seed.hub)


def test_not_yet_valid_because_of_the_hub_clock(seed: Lab) -> None:
    seed.hub.faults.clock_offset_s = -3 * 86400  # the certificates were issued a day ago
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: certificate verification failed: not yet valid" in logs(seed.hub)


def test_revoked_certificate_fails_only_with_crl_use(seed: Lab) -> None:
    serial = pki.load_certificate(
        find(seed.hub, "/certificate", name="client")[0].private["certificate"]
    ).serial_number
    crl = pki.build_crl(seed.ca.pem, seed.ca.key, [(serial, NOW - timedelta(minutes=1))], NOW)
    seed.hub.config.add("/certificate crl", {"issuer": "CN=ca"}).private["crl"] = crl
    fabric.recompute(seed.routers, NOW)
    assert len(seed.hub.config.items("/ip ipsec active-peers")) == 1  # crl-use=no: the CRL is ignored
    seed.hub.config.add("/certificate settings", {"crl-use": "yes"})
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: certificate verification failed: revoked" in logs(seed.hub)


def test_responder_certificate_not_the_expected_one(seed: Lab) -> None:
    (identity,) = seed.branches[0].config.items("/ip ipsec identity")
    identity.values["remote-certificate"] = "ca"
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: peer's ID does not match certificate" in logs(seed.branches[0])


def test_no_identity_on_the_hub_for_this_client(seed: Lab) -> None:
    (identity,) = seed.hub.config.items("/ip ipsec identity")
    identity.values["remote-certificate"] = "server"
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert any("identity not found" in line and "CN=client" in line for line in logs(seed.hub))


def test_wrong_tunnel_id_keeps_ipsec_but_stops_eoip_and_ospf(seed: Lab) -> None:
    (eoip,) = seed.branches[0].config.items("/interface eoip")
    eoip.values["tunnel-id"] = "2"
    fabric.recompute(seed.routers, NOW)
    for router in seed.routers:
        assert len(router.config.items("/ip ipsec installed-sa")) == 2
        assert router.config.items("/interface eoip")[0].status["running"] == "no"
        assert router.config.items("/routing ospf neighbor") == []
        assert router.config.items("/routing bfd neighbor") == []
        # the tunnel's connected route is there but not active (interface not running)
        (conn,) = find(router, "/ip route", **{"dst-address": "172.16.0.0/30"})
        assert conn.status["active"] == "no"


def test_mtu_fault_leaves_ospf_stuck_before_full(seed: Lab) -> None:
    r2 = seed.branches[0]
    r2.faults.mtu = 1400
    fabric.recompute(seed.routers, NOW)
    assert r2.config.items("/interface eoip")[0].status["actual-mtu"] == "1358"
    assert seed.hub.config.items("/interface eoip")[0].status["actual-mtu"] == "1458"
    (n_r2,) = r2.config.items("/routing ospf neighbor")
    (n_hub,) = seed.hub.config.items("/routing ospf neighbor")
    assert n_r2.get("state") == "ExStart" and n_hub.get("state") == "Exchange"
    assert not [i for i in r2.config.items("/ip route") if i.get("ospf-type")]


def test_missing_ospf_network(seed: Lab) -> None:
    r2 = seed.branches[0]
    (net,) = find(r2, "/routing ospf network", network="172.16.0.0/24")
    r2.config.items("/routing ospf network").remove(net)
    fabric.recompute(seed.routers, NOW)
    assert seed.hub.config.items("/routing ospf neighbor") == []
    assert r2.config.items("/routing ospf neighbor") == []
    (entry,) = find(r2, "/routing ospf interface", interface="EoIP-Tunnel")
    assert entry.status["inactive"] == "yes"
    assert r2.config.items("/interface eoip")[0].status["running"] == "yes"


def test_wan_cut_drops_everything_and_logs(seed: Lab) -> None:
    seed.branches[0].faults.wan_down = True
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert seed.hub.config.items("/routing bfd neighbor") == []
    (ether1,) = seed.branches[0].config.items("/interface ethernet")
    assert ether1.status["running"] == "no"
    assert any("phase1 negotiation failed due to time up" in line for line in logs(seed.branches[0]))


def test_ike_drop_fault(seed: Lab) -> None:
    seed.hub.faults.ike_drop = True
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)


def test_failures_are_logged_once_not_per_recompute(seed: Lab) -> None:
    seed.branches[0].faults.wan_down = True
    for second in range(3):
        fabric.recompute(seed.routers, NOW + timedelta(seconds=second))
    assert len([line for line in logs(seed.branches[0]) if "time up" in line]) == 1


def test_copied_mac_address_breaks_the_tunnel(seed: Lab) -> None:
    fabric.recompute(seed.routers, NOW)
    hub_mac = seed.hub.config.items("/interface eoip")[0].status["mac-address"]
    seed.branches[0].config.items("/interface eoip")[0].values["mac-address"] = hub_mac
    fabric.recompute(seed.routers, NOW)
    assert seed.branches[0].config.items("/interface eoip")[0].status["running"] == "no"
    assert seed.hub.config.items("/routing ospf neighbor") == []


def test_without_static_ospf_interfaces_dynamic_entries_appear(seed: Lab) -> None:
    """Before the seed's `copy-from` lines: dynamic broadcast entries, DR election, still Full."""
    for router in seed.routers:
        router.config.items("/routing ospf interface").clear()
    fabric.recompute(seed.routers, NOW)
    entries = seed.hub.config.items("/routing ospf interface")
    assert {e.get("interface") for e in entries} == {"EoIP-Tunnel", "bridge"}
    assert all(e.dynamic and e.get("network-type") == "broadcast" for e in entries)
    (neighbor,) = seed.hub.config.items("/routing ospf neighbor")
    assert neighbor.get("state") == "Full"
    assert {neighbor.get("dr-address"), neighbor.get("backup-dr-address")} == {"172.16.0.1", "172.16.0.2"}
    assert seed.hub.config.items("/routing bfd neighbor") == []  # use-bfd=no by default


DEFCONF_INPUT = [
    {"chain": "input", "action": "accept", "connection-state": "established,related,untracked"},
    {"chain": "input", "action": "drop", "connection-state": "invalid"},
    {"chain": "input", "action": "accept", "protocol": "icmp"},
    {"chain": "input", "action": "drop", "in-interface-list": "!LAN"},
]
IKE_ACCEPT = [
    {
        "action": "accept",
        "chain": "input",
        "dst-port": "500,4500",
        "in-interface-list": "WAN",
        "protocol": "udp",
    },
    {"action": "accept", "chain": "input", "in-interface-list": "WAN", "protocol": "ipsec-esp"},
]


def defconf_firewall(router: Router, ike_first: bool) -> None:
    add = router.config.add
    add("/interface list", {"name": "WAN"})
    add("/interface list", {"name": "LAN"})
    add("/interface list member", {"list": "WAN", "interface": "ether1"})
    add("/interface list member", {"list": "LAN", "interface": "bridge"})
    rules = [*IKE_ACCEPT, *DEFCONF_INPUT] if ike_first else [*DEFCONF_INPUT, *IKE_ACCEPT]
    for rule in rules:
        add("/ip firewall filter", rule)


def test_ike_accept_rules_after_the_defconf_drop_never_match(seed: Lab) -> None:
    defconf_firewall(seed.hub, ike_first=False)
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert any("time up" in line for line in logs(seed.branches[0]))


def test_ike_accept_rules_placed_before_the_drop(seed: Lab) -> None:
    defconf_firewall(seed.hub, ike_first=True)
    fabric.recompute(seed.routers, NOW)
    assert len(seed.hub.config.items("/ip ipsec active-peers")) == 1
    seed.hub.config.items("/ip firewall filter")[0].disabled = True  # the udp 500,4500 accept
    fabric.recompute(seed.routers, NOW)
    assert seed.hub.config.items("/ip ipsec active-peers") == []


def test_certificate_without_digital_signature_usage(seed: Lab) -> None:
    replace_client_cert(seed, *seed.ca.issue("client", usage=("key-encipherment", "ipsec-tunnel")))
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert "ipsec,error: certificate verification failed: missing key usage" in logs(seed.hub)


def test_responder_peer_bound_to_another_local_address(seed: Lab) -> None:
    (peer,) = seed.hub.config.items("/ip ipsec peer")
    peer.values["local-address"] = "203.0.113.99"
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert any("no peer config found for 198.51.100.2" in line for line in logs(seed.hub))


def test_eoip_between_wan_addresses_runs_without_ipsec(seed: Lab) -> None:
    hub, r2 = seed.hub, seed.branches[0]
    hub.config.add("/interface eoip", {"name": "plain", "local-address": "203.0.113.1",
                                       "remote-address": "198.51.100.2", "tunnel-id": "77"})  # fmt: skip
    r2.config.add("/interface eoip", {"name": "plain", "local-address": "198.51.100.2",
                                      "remote-address": "203.0.113.1", "tunnel-id": "77"})  # fmt: skip
    r2.faults.ike_drop = True  # no IPsec at all
    fabric.recompute(seed.routers, NOW)
    assert find(hub, "/interface eoip", name="plain")[0].status["running"] == "yes"
    assert find(hub, "/interface eoip", name="EoIP-Tunnel")[0].status["running"] == "no"
    r2.faults.wan_down = True
    fabric.recompute(seed.routers, NOW)
    assert find(hub, "/interface eoip", name="plain")[0].status["running"] == "no"


def test_ospf_logs_full_and_down_once(seed: Lab) -> None:
    fabric.recompute(seed.routers, NOW)
    fabric.recompute(seed.routers, NOW)
    seed.branches[0].faults.wan_down = True
    fabric.recompute(seed.routers, NOW)
    ospf_lines = [line for line in logs(seed.hub) if line.startswith("route,ospf,info")]
    assert ospf_lines == [
        "route,ospf,info: OSPFv2 neighbor 192.168.2.1: state change from Loading to Full",
        "route,ospf,info: OSPFv2 neighbor 192.168.2.1: state change from Full to Down",
    ]


@pytest.mark.parametrize(
    ("field", "value", "state"),
    [("hello-interval", "5s", None), ("dead-interval", "1m", None), ("network-type", "broadcast", "Init")],
)
def test_ospf_interface_mismatches(seed: Lab, field: str, value: str, state: str | None) -> None:
    (entry,) = find(seed.branches[0], "/routing ospf interface", interface="EoIP-Tunnel")
    entry.values[field] = value
    fabric.recompute(seed.routers, NOW)
    states = [n.get("state") for n in seed.hub.config.items("/routing ospf neighbor")]
    assert states == ([state] if state else [])
    assert not [i for i in seed.hub.config.items("/ip route") if i.get("ospf-type")]


def test_area_mismatch(seed: Lab) -> None:
    r2 = seed.branches[0]
    r2.config.add("/routing ospf area", {"name": "branches", "area-id": "0.0.0.1"})
    (net,) = find(r2, "/routing ospf network", network="172.16.0.0/24")
    net.values["area"] = "branches"
    fabric.recompute(seed.routers, NOW)
    assert seed.hub.config.items("/routing ospf neighbor") == []


def test_eoip_without_local_address_uses_the_policy_source(seed: Lab) -> None:
    (eoip,) = seed.branches[0].config.items("/interface eoip")
    del eoip.values["local-address"]  # RouterOS sends from the address the IPsec policy covers
    fabric.recompute(seed.routers, NOW)
    assert eoip.status["running"] == "yes"
    assert seed.hub.config.items("/routing ospf neighbor")[0].get("state") == "Full"


def test_disabled_wan_interface_is_a_wan_cut(seed: Lab) -> None:
    (ether1,) = seed.branches[0].config.items("/interface ethernet")
    ether1.disabled = True
    fabric.recompute(seed.routers, NOW)
    assert_no_tunnel(seed)
    assert ether1.status["running"] == "no"


def test_the_initiator_logs_the_notify_the_responder_sent(seed: Lab) -> None:
    replace_client_cert(seed, *Authority(name="rogue").issue("client"))
    fabric.recompute(seed.routers, NOW)
    assert "ipsec,error: 203.0.113.1 received notify: AUTHENTICATION_FAILED" in logs(seed.branches[0])
    (proposal,) = find(seed.branches[0], "/ip ipsec proposal", name="SHA256")
    proposal.values["enc-algorithms"] = "aes-128-cbc"
    replace_client_cert(seed, *seed.ca.issue("client"))
    fabric.recompute(seed.routers, NOW)
    assert logs(seed.branches[0])[-1] == "ipsec,error: 203.0.113.1 received notify: NO_PROPOSAL_CHOSEN"
