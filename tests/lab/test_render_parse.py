"""The lab's output must read back through ikefleet.parsers, in every print form and terminal width the
tool and netmiko use (80 columns, netmiko's 4098)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ikefleet import parsers
from ikefleet.lab.render import Row, print_as_value, print_detail, print_table, print_terse
from ikefleet.routeros.schema import load_schema

V6 = load_schema(6)
WIDTHS = (80, 4098)
Render = Callable[..., str]
FORMS: list[tuple[str, Render]] = [
    ("table", lambda m, r, w: print_table(m, r, width=w)),
    ("detail", lambda m, r, w: print_detail(m, r, width=w)),
    ("terse", lambda m, r, w: print_terse(m, r)),
]

PEER = {
    "id": "branch-01.example.net",
    "local-address": "192.0.2.1",
    "remote-address": "198.51.100.7",
    "state": "established",
    "side": "responder",
    "uptime": "1h2m3s",
    "ph2-total": "2",
}
NEIGHBOR = {
    "instance": "default",
    "router-id": "10.255.0.2",
    "address": "10.254.0.2",
    "interface": "eoip-branch-01",
    "priority": "1",
    "dr-address": "0.0.0.0",
    "backup-dr-address": "0.0.0.0",
    "state": "Full",
    "state-changes": "5",
    "ls-retransmits": "0",
    "ls-requests": "0",
    "db-summaries": "0",
    "adjacency": "6h8m46s",
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("form", "render"), FORMS, ids=[f[0] for f in FORMS])
def test_active_peers_read_back(form: str, render: Render, width: int) -> None:
    rows = [
        Row(0, PEER, flags="R"),
        Row(1, {**PEER, "id": "b2", "remote-address": "203.0.113.9"}, flags="RN"),
    ]
    got = parsers.parse_active_peers(render(V6.menu("/ip ipsec active-peers"), rows, width))
    assert [p["remote_address"] for p in got] == ["198.51.100.7", "203.0.113.9"]
    assert [p["responder"] for p in got] == [True, True]
    assert [p["natt"] for p in got] == [False, True]
    assert got[0]["id"] == "branch-01.example.net"
    assert got[0]["state"] == "established"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("form", "render"), FORMS, ids=[f[0] for f in FORMS])
def test_ospf_neighbors_read_back(form: str, render: Render, width: int) -> None:
    rows = [Row(n, {**NEIGHBOR, "address": f"10.254.{n}.2"}) for n in range(12)]
    got = parsers.parse_ospf_neighbor(render(V6.menu("/routing ospf neighbor"), rows, width))
    assert [n["address"] for n in got] == [f"10.254.{n}.2" for n in range(12)]
    assert {n["state"] for n in got} == {"Full"}
    assert got[11]["index"] == 11
    assert got[0]["interface"] == "eoip-branch-01"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("form", "render"), FORMS, ids=[f[0] for f in FORMS])
def test_addresses_read_back_with_comments_and_flags(form: str, render: Render, width: int) -> None:
    rows = [
        Row(
            0,
            {"address": "192.0.2.1/24", "network": "192.0.2.0", "interface": "ether1"},
            comment="wan uplink",
        ),
        Row(1, {"address": "10.254.0.1/30", "network": "10.254.0.0", "interface": "eoip-b1"}, flags="X"),
        Row(2, {"address": "10.0.9.1/32", "network": "10.0.9.1", "interface": "lo"}, flags="D"),
    ]
    got = parsers.parse_address(render(V6.menu("/ip address"), rows, width))
    assert [a["address"] for a in got] == ["192.0.2.1/24", "10.254.0.1/30", "10.0.9.1/32"]
    assert [a["interface"] for a in got] == ["ether1", "eoip-b1", "lo"]
    assert got[0]["comment"] == "wan uplink"
    assert [a["disabled"] for a in got] == [False, True, False]
    assert [a["dynamic"] for a in got] == [False, False, True]


@pytest.mark.parametrize("width", WIDTHS)
def test_policy_detail_reads_back(width: int) -> None:
    rows = [
        Row(
            0,
            {"group": "default", "src-address": "::/0", "dst-address": "::/0", "template": "yes"},
            flags="T*",
        ),
        Row(
            1,
            {
                "peer": "hub",
                "tunnel": "yes",
                "src-address": "10.1.0.0/16",
                "dst-address": "10.0.0.0/8",
                "action": "encrypt",
                "sa-src-address": "198.51.100.7",
                "sa-dst-address": "192.0.2.1",
                "ph2-state": "established",
            },
            flags="A",
            comment="to hub",
        ),
    ]
    got = parsers.parse_policy(print_detail(V6.menu("/ip ipsec policy"), rows, width=width))
    assert got[1]["ph2_state"] == "established"
    assert got[1]["sa_dst_address"] == "192.0.2.1"
    assert got[1]["comment"] == "to hub"


def test_as_value_reads_back() -> None:
    rows = [
        Row(
            0, {"address": "192.0.2.1/24", "network": "192.0.2.0", "interface": "ether1"}, comment="wan", id=1
        ),
        Row(
            1, {"address": "10.254.0.1/30", "network": "10.254.0.0", "interface": "eoip-b1"}, flags="X", id=2
        ),
    ]
    got = parsers.parse_address(print_as_value(V6.menu("/ip address"), rows))
    assert [a["address"] for a in got] == ["192.0.2.1/24", "10.254.0.1/30"]
    assert [a["disabled"] for a in got] == [False, True]
    assert got[0]["comment"] == "wan"
