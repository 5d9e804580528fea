"""Pieces of the fabric on their own: RouterOS durations, routing filters, SA algorithms, hardware flags."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ikefleet.lab import fabric
from ikefleet.lab.clock import LabClock
from ikefleet.lab.engine import Session
from ikefleet.lab.fabric import common, ike, ospf

from .test_fabric_seed import build, find, make_router

# The lab's routers and CA and these tests read one clock, held at the moment the module loads.
CLOCK = LabClock.held()
NOW = CLOCK.now()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(23048, "6h24m8s"), (93600, "1d2h"), (1800, "30m"), (0, "0s"), (3559543, "5w6d4h45m43s")],
)
def test_format_duration_like_routeros(seconds: int, text: str) -> None:
    assert common.format_duration(seconds) == text
    assert common.parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:30:00", 1800),
        ("12:00:00", 43200),
        ("1d 00:00:00", 86400),
        ("15", 15),
        ("0.2sec", 0.2),
        ("200ms", 0.2),
    ],
)
def test_parse_duration_accepts_console_forms(text: str, seconds: float) -> None:
    assert common.parse_duration(text) == pytest.approx(seconds)


def test_format_date_like_v6() -> None:
    assert common.format_date(datetime(2026, 1, 5, 7, 8, 9, tzinfo=UTC)) == "jan/05/2026 07:08:09"


@pytest.mark.parametrize(
    ("enc", "auth", "expected"),
    [
        (
            "aes-256-cbc",
            "sha256",
            {"auth-algorithm": "sha256", "enc-algorithm": "aes-cbc", "enc-key-size": "256"},
        ),
        ("aes-256-gcm", "sha256", {"enc-algorithm": "aes-gcm", "enc-key-size": "288"}),  # the v6 capture
        (
            "aes-128-ctr",
            "sha1",
            {"auth-algorithm": "sha1", "enc-algorithm": "aes-ctr", "enc-key-size": "160"},
        ),
        ("3des", "md5", {"auth-algorithm": "md5", "enc-algorithm": "3des", "enc-key-size": "192"}),
    ],
)
def test_sa_algorithm_names(enc: str, auth: str, expected: dict[str, str]) -> None:
    assert ike.sa_algorithms(enc, auth) == expected


def filter_router(tmp_path: Path, rules: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    router = make_router(tmp_path, "F", "responder", "203.0.113.9/24", "192.168.9.0/24")
    for rule in rules:
        router.config.add("/routing filter", rule)
    return router


def verdict(router, chain: str, prefix: str) -> bool:  # type: ignore[no-untyped-def]
    return ospf.accepted(router, chain, ipaddress.IPv4Network(prefix))


def test_seed_filters(tmp_path: Path) -> None:
    router = filter_router(
        tmp_path,
        [
            {"chain": "ospf-out", "prefix": "192.168.0.0/16", "prefix-length": "16-32", "action": "accept"},
            {"chain": "ospf-out", "action": "discard"},
            {"chain": "ospf-in", "prefix": "172.16.0.0/24", "prefix-length": "30", "action": "discard"},
        ],
    )
    assert verdict(router, "ospf-out", "192.168.7.0/24")
    assert verdict(router, "ospf-out", "192.168.0.0/16")
    assert not verdict(router, "ospf-out", "10.0.0.2/32")
    assert not verdict(router, "ospf-out", "198.51.100.0/24")
    assert not verdict(router, "ospf-in", "172.16.0.4/30")
    assert verdict(router, "ospf-in", "172.16.0.0/24")  # length 24, not 30
    assert verdict(router, "ospf-in", "192.168.2.0/24")  # falls through: accepted


def test_prefix_without_length_matches_only_that_prefix(tmp_path: Path) -> None:
    router = filter_router(tmp_path, [{"chain": "ospf-in", "prefix": "10.0.0.0/8", "action": "discard"}])
    assert not verdict(router, "ospf-in", "10.0.0.0/8")
    assert verdict(router, "ospf-in", "10.1.0.0/16")


def test_first_match_wins_and_jump_return(tmp_path: Path) -> None:
    router = filter_router(
        tmp_path,
        [
            {"chain": "ospf-in", "prefix": "10.0.0.0/8", "prefix-length": "8-32", "action": "jump",
             "jump-target": "tens"},
            {"chain": "ospf-in", "action": "reject"},
            {"chain": "tens", "prefix": "10.1.0.0/16", "prefix-length": "16-32", "action": "return"},
            {"chain": "tens", "action": "accept"},
        ],
    )  # fmt: skip
    assert verdict(router, "ospf-in", "10.2.0.0/24")  # accepted inside the jump
    assert not verdict(router, "ospf-in", "10.1.5.0/24")  # returned, then rejected
    assert not verdict(router, "ospf-in", "192.168.1.0/24")
    router.config.items("/routing filter")[0].disabled = True
    assert not verdict(router, "ospf-in", "10.2.0.0/24")


def test_no_h_flag_without_acceleration(tmp_path: Path) -> None:
    lab = build(tmp_path, clock=CLOCK)
    for router in lab.routers:
        router.spec = type(router.spec)(**{**router.spec.__dict__, "model": "CHR"})
    fabric.recompute(lab.routers, NOW)
    assert {sa.status["flags"] for sa in lab.hub.config.items("/ip ipsec installed-sa")} == {"E"}
    assert {sa.status["hw-aead"] for sa in lab.hub.config.items("/ip ipsec installed-sa")} == {"no"}


def test_gcm_proposal_without_auth_algorithm(tmp_path: Path) -> None:
    lab = build(tmp_path, clock=CLOCK)
    for router in lab.routers:
        (proposal,) = find(router, "/ip ipsec proposal", name="SHA256")
        proposal.values["enc-algorithms"] = "aes-256-gcm"
    fabric.recompute(lab.routers, NOW)
    sa = lab.hub.config.items("/ip ipsec installed-sa")[0]
    assert sa.get("enc-algorithm") == "aes-gcm" and sa.get("enc-key-size") == "288"
    assert "auth-algorithm" not in sa.values and "auth-key" not in sa.private


def test_eoip_without_keepalive_shows_running_but_carries_nothing(tmp_path: Path) -> None:
    lab = build(tmp_path, clock=CLOCK)
    (eoip,) = lab.branches[0].config.items("/interface eoip")
    eoip.values |= {"keepalive": "", "tunnel-id": "9"}
    fabric.recompute(lab.routers, NOW)
    assert eoip.status["running"] == "yes"  # no keepalive: RouterOS cannot tell
    assert lab.hub.config.items("/interface eoip")[0].status["running"] == "no"
    assert lab.branches[0].config.items("/routing ospf neighbor") == []


def test_static_route_flags_and_best_route(tmp_path: Path) -> None:
    lab = build(tmp_path, clock=CLOCK)
    r2 = lab.branches[0]
    r2.config.add("/ip route", {"dst-address": "0.0.0.0/0", "gateway": "198.51.100.1"})
    r2.config.add(
        "/ip route", {"dst-address": "192.168.1.0/24", "gateway": "198.51.100.1", "distance": "200"}
    )
    r2.config.add("/ip route", {"dst-address": "192.0.2.0/24", "gateway": "192.0.2.254"})
    fabric.recompute(lab.routers, NOW)
    default, lan, unreachable = [i for i in r2.config.items("/ip route") if not i.dynamic]
    assert (
        default.status["flags"] == "AS"
        and default.status["gateway-status"] == "198.51.100.1 reachable via  ether1"
    )
    assert lan.status["flags"] == "S"  # distance 200 loses to OSPF's 110
    assert (
        unreachable.status["flags"] == "S"
        and unreachable.status["gateway-status"] == "192.0.2.254 unreachable"
    )
    (ospf_lan,) = [
        i for i in r2.config.items("/ip route") if i.dynamic and i.get("dst-address") == "192.168.1.0/24"
    ]
    assert ospf_lan.status["flags"] == "ADo"


def test_find_reads_a_large_lab_routing_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[find]` sees the routes a print would: the table is built for the read, not only for a print."""
    monkeypatch.setattr(fabric, "EAGER_ROUTES_LIMIT", 1)
    lab = build(tmp_path, clock=CLOCK)
    fabric.recompute(lab.routers, NOW)
    lab.hub.refresh_state = lambda router, path: fabric.refresh(router, NOW, path)
    console = Session(lab.hub, "admin")
    found = console.execute(":put [/ip route find where ospf]")
    assert found.startswith("*") and found.count("*") == 1, found
    assert console.execute(":put [/ip route get [find where ospf] dst-address]") == "192.168.2.0/24"


def test_large_labs_build_routes_on_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fabric, "EAGER_ROUTES_LIMIT", 1)
    lab = build(tmp_path, clock=CLOCK)
    fabric.recompute(lab.routers, NOW)
    assert lab.hub.config.items("/ip route") == []
    fabric.refresh(lab.hub, NOW)
    assert {i.get("dst-address") for i in lab.hub.config.items("/ip route") if i.get("ospf-type")} == {
        "192.168.2.0/24"
    }


def test_configured_policies_between_lans(tmp_path: Path) -> None:
    """Without mode-config: a configured policy on each end, or a template the hub generates from."""
    lab = build(tmp_path, clock=CLOCK)
    hub, r2 = lab.hub, lab.branches[0]
    (identity,) = r2.config.items("/ip ipsec identity")
    identity.values["mode-config"] = "none"
    common = {"tunnel": "yes", "proposal": "SHA256"}
    mine = r2.config.add(
        "/ip ipsec policy",
        {"peer": "server", "src-address": "192.168.2.0/24", "dst-address": "192.168.1.0/24"},
    )
    mirror = hub.config.add(
        "/ip ipsec policy",
        {"peer": "local", "src-address": "192.168.1.0/24", "dst-address": "192.168.2.0/24"},
    )
    mine.values |= common
    mirror.values |= common
    fabric.recompute(lab.routers, NOW)
    for policy in (mine, mirror):
        assert policy.status["ph2-state"] == "established" and policy.status["active"] == "yes"
    assert len(r2.config.items("/ip ipsec installed-sa")) == 2
    assert not [p for p in hub.config.items("/ip ipsec policy") if p.dynamic]
    hub.config.items("/ip ipsec policy").remove(mirror)
    fabric.recompute(lab.routers, NOW)
    (generated,) = [p for p in hub.config.items("/ip ipsec policy") if p.dynamic]
    assert (generated.get("src-address"), generated.get("dst-address")) == (
        "192.168.1.0/24",
        "192.168.2.0/24",
    )
    assert mine.status["ph2-state"] == "established"
    r2.faults.wan_down = True
    fabric.recompute(lab.routers, NOW)
    assert mine.status["ph2-state"] == "no-phase2" and mine.status["active"] == "no"
