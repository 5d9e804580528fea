"""v7 print layouts the verify reads, against the captures: `/routing ospf neighbor` (table, terse, JSON) with
`area`, `dr`/`bdr` where a DR is elected and `timeout`, computed by the fabric; `/ip ipsec installed-sa` as a
`Columns:` table for plain `print` and items for `print detail`; ikefleet's parsers and verify checks read
the lab's output as they read the captures."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests_support import rolled_out_lab

from ikefleet.lab.engine import Session
from ikefleet.lab.fabric import ospf_state
from ikefleet.lab.fabric.common import memory
from ikefleet.lab.manager import Lab
from ikefleet.parsers import (
    parse_active_peers,
    parse_address,
    parse_bfd_session,
    parse_installed_sa,
    parse_ospf_interface,
    parse_ospf_neighbor,
    parse_policy,
    parse_route,
)
from ikefleet.routeros.config import Item
from ikefleet.runbooks.verify import Verify, VerifyOptions

SAMPLES = Path(__file__).resolve().parents[1] / "parsers" / "golden"  # copies of shared/routeros-samples
PTP = "v7__routing_ospf_interface_and_neighbor_print__itmo-lab-chr1_ospf.txt"  # neighbour over a ptp link
BROADCAST = "v7__routing_ospf_neighbor_print__pt-lab-mtk2.txt"
TERSE = "v7__routing_ospf_neighbor_print_terse__harness-A1M.txt"
SA = "v7__ip_ipsec_installed-sa_print__porotnikov.txt"


def capture(name: str) -> list[str]:
    return (SAMPLES / name).read_text().splitlines()


def names(text: str) -> list[str]:
    """Field names in print order."""
    return re.findall(r"([a-z-]+)=", text)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory: Path = tmp_path_factory.mktemp("v7prints")
    with rolled_out_lab(directory / "lab", branches=1, version="7.16.1", convergence_delay=0.05) as lab:
        yield lab


def run(lab: Lab, name: str, command: str, width: int = 80) -> str:
    return Session(lab.routers[name], "admin", width=width).execute(command)


# --- /routing ospf neighbor ------------------------------------------------------------------------------


def test_ptp_neighbour_prints_the_captured_fields(lab: Lab) -> None:
    text = run(lab, "br1", "/routing ospf neighbor print")
    lines = text.splitlines()
    assert lines[0] == capture(BROADCAST)[1]  # "Flags: V - virtual; D - dynamic "
    assert lines[1].startswith(" 0  D instance=") and lines[2].startswith("      ")  # number, V/D, indent 6
    # itmo chr1: instance area address router-id state state-changes adjacency timeout (no DR on ptp)
    assert names(text) == names("\n".join(capture(PTP)[12:15]))
    assert 'state="Full"' in text and "interface=" not in text and "dr-address" not in text
    record = parse_ospf_neighbor(text)[0]
    area = lab.routers["br1"].config.items("/routing ospf area")[0].get("name")
    assert (record["area"], record["address"], record["router_id"]) == (area, "172.16.0.1", "192.168.1.1")
    assert 31 <= record["timeout"] <= 40  # dead-interval 40s less < one hello-interval (10s) since a hello


def test_detail_terse_and_json_carry_the_same_fields(lab: Lab) -> None:
    detail = parse_ospf_neighbor(run(lab, "hub", "/routing ospf neighbor print detail"))
    terse_text = run(lab, "hub", "/routing ospf neighbor print terse")
    line = terse_text.splitlines()[0]
    captured = capture(TERSE)[1]
    assert line.split(" instance=")[0] == captured.split(" instance=")[0] == "0 D"  # bare "0 D" head
    assert "state=Full " in line  # terse quotes nothing
    js = json.loads(run(lab, "hub", ":put [:serialize to=json [/routing ospf neighbor print as-value]]"))
    assert set(js[0]) == {".id", "dynamic", "virtual", *names(line)}
    terse = parse_ospf_neighbor(terse_text)
    volatile = {"adjacency", "timeout"}
    strip = [{k: v for k, v in r.items() if k not in volatile} for r in (detail[0], terse[0])]
    assert strip[0] == strip[1] and detail[0]["address"] == "172.16.0.2"


def test_timeout_counts_down_from_the_dead_interval() -> None:
    item = Item(0, {"timeout": ""}, dynamic=True)
    item.private |= {"hello": "10", "dead": "40"}
    seen = []
    for elapsed in (0, 3, 9.5, 10, 13, 600):
        ospf_state.timeout(item, elapsed)
        seen.append(item.get("timeout"))
    assert seen == ["40s", "37s", "31s", "40s", "37s", "40s"]


def test_verify_reads_the_lab_neighbours(lab: Lab) -> None:
    lab.settle()
    report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
    assert report.compliant, [(r.host, r.check, r.observed) for r in report.results if r.status != "pass"]
    passed = {(r.host, r.check) for r in report.results if r.status == "pass"}
    assert {("br1", "ospf.neighbor"), ("hub", "hub.ospf")} <= passed


def test_broadcast_neighbour_prints_priority_and_the_elected_dr(lab: Lab) -> None:
    """On a broadcast link v7 prints priority, dr and bdr (pt-lab-mtk2): both ends at the v7 default
    priority 128, the higher router id (br1, 192.168.2.1) is DR."""
    set_type = "/routing ospf interface-template set [find interfaces={}] type={}"
    try:
        for name, iface in (("hub", "eoip-br1"), ("br1", "eoip-hub")):
            assert run(lab, name, set_type.format(iface, "broadcast")) == ""
        lab.settle()
        text = run(lab, "hub", "/routing ospf neighbor print", width=120)
        assert names(text) == names("\n".join(capture(BROADCAST)[2:5]))
        record = parse_ospf_neighbor(text)[0]
        assert (record["priority"], record["dr"], record["bdr"]) == (128, "172.16.0.2", "172.16.0.1")
        assert record["state"] == "Full"
    finally:
        for name, iface in (("hub", "eoip-br1"), ("br1", "eoip-hub")):
            run(lab, name, set_type.format(iface, "ptp"))
        lab.settle()
    assert "dr=" not in run(lab, "hub", "/routing ospf neighbor print")


# --- /ip ipsec installed-sa ------------------------------------------------------------------------------


def carried_traffic(lab: Lab, name: str) -> None:
    """Date br1's SAs a minute back: they have carried keepalives since (the S flag, current-bytes)."""
    mem = memory(lab.routers[name])
    for item in lab.routers[name].config.items("/ip ipsec installed-sa"):
        mem.since[item.private["session"]] -= timedelta(seconds=60)


def test_installed_sa_print_is_the_captured_table(lab: Lab) -> None:
    lab.settle()
    carried_traffic(lab, "br1")
    lines = run(lab, "br1", "/ip ipsec installed-sa print").splitlines()
    want = capture(SA)
    assert lines[:2] == want[1:3]  # legend (S: traffic seen, H: hardware AEAD, E: ESP) and Columns:
    # header: widths from the values (the capture's addresses, NAT-T "ip:4500", are wider than the lab's)
    head, captured = lines[2], want[3]
    assert head.split() == captured.split()
    assert head.startswith("#     SPI         STATE   SRC-ADDRESS ") and captured.startswith(head[:26])
    assert head.endswith("  AUTH-ALGORITHM  ENC-ALGORITHM  ENC-KEY-SIZE") and captured.endswith(head[-44:])
    assert len(lines) == 5
    for line in lines[3:]:
        # "0 SHE 0x9965D31   mature  ..." : one-digit number, the 3 flag cells, columns two spaces apart
        assert re.match(r"^[01] SHE 0x[0-9A-F]+ +mature  ", line)
        assert line.endswith("sha256          aes-cbc                 256")
        assert line.index("mature") == want[3].index("STATE")
    for line in lines[3:]:  # every value starts under its header (content-sized columns)
        src, dst = line.split()[4:6]
        assert (line.index(src), line.index(dst)) == (head.index("SRC-ADDRESS"), head.index("DST-ADDRESS"))


def test_installed_sa_table_and_detail_parse_alike(lab: Lab) -> None:
    carried_traffic(lab, "br1")
    table = parse_installed_sa(run(lab, "br1", "/ip ipsec installed-sa print"))
    detail = parse_installed_sa(run(lab, "br1", "/ip ipsec installed-sa print detail"))
    captured = parse_installed_sa((SAMPLES / SA).read_text())
    assert set(table[0]) == set(captured[0])  # the table carries what the captured table carries
    assert [(r["spi"], r["src_address"], r["seen_traffic"]) for r in table] == [
        (r["spi"], r["src_address"], r["seen_traffic"]) for r in detail
    ]
    assert all(r["seen_traffic"] and r["hw_aead"] and r["esp"] for r in table)
    detail_text = run(lab, "br1", "/ip ipsec installed-sa print detail")
    assert "Columns:" not in detail_text and " 0 SHE spi=" in detail_text


# --- /ip route -------------------------------------------------------------------------------------------

ROUTES = "v7__ip_route_print_ospf_ecmp__pt-lab-mtk1.txt"


def test_route_table_as_captured(lab: Lab) -> None:
    """pt-lab-mtk1: `Columns: DST-ADDRESS, GATEWAY, DISTANCE`, columns as wide as their content two spaces
    apart, OSPF next hops as `address%interface`, no number column when no route is configured."""
    lab.settle()
    text = run(lab, "br1", "/ip route print")
    lines = text.splitlines()
    assert lines[1] == capture(ROUTES)[2]
    header, rows = lines[2], lines[3:]
    dst, gw = header.index("DST-ADDRESS"), header.index("GATEWAY")
    assert header.startswith("    DST-ADDRESS") and header.endswith("DISTANCE")  # "DAo " then the column
    assert gw == dst + max(len(r.split()[1]) for r in rows) + 2
    for row in rows:
        flags, prefix, gateway, distance = row.split()
        assert row.index(prefix) == dst and row.index(gateway) == gw and row.endswith(distance)
        assert len(row) == len(header) and flags in ("DAc", "DAo")
    ospf = [r.split() for r in rows if r.startswith("DAo")]
    assert [r[1:3] for r in ospf] == [["192.168.1.0/24", "172.16.0.1%eoip-hub"]]  # the hub's LAN
    records = parse_route(text)
    assert [(r["dst_address"], r["gateway"]) for r in records if r.get("ospf")] == [
        ("192.168.1.0/24", ["172.16.0.1%eoip-hub"])
    ]


def test_static_routes_show_active_and_static(lab: Lab) -> None:
    """v7__ip_route_add_then_print: a configured route is numbered and flagged `A` (active) and `s`
    (static, v7's lower-case protocol letter); one whose gateway is unreachable is not active."""
    try:
        assert run(lab, "br1", "/ip route add dst-address=10.99.0.0/16 gateway=198.51.100.254") == ""
        assert run(lab, "br1", "/ip route add dst-address=10.98.0.0/16 gateway=192.0.2.77") == ""
        lab.settle()
        lines = run(lab, "br1", "/ip route print").splitlines()
        assert "s - STATIC" in lines[0]
        assert lines[3].split()[:3] == ["0", "As", "10.99.0.0/16"]
        assert lines[4].split()[:3] == ["1", "s", "10.98.0.0/16"]
        assert re.match(r"^  DAc ", lines[5])  # dynamic rows keep the (empty) number column
        records = {r["dst_address"]: r for r in parse_route("\n".join(lines))}
        assert records["10.99.0.0/16"]["static"] and records["10.99.0.0/16"]["active"]
        assert records["10.98.0.0/16"]["static"] and not records["10.98.0.0/16"].get("active")
    finally:
        run(lab, "br1", "/ip route remove [find static]")
        lab.settle()


# --- other v7 tables: /ip address, /ip ipsec active-peers ----------------------------------------------


def test_address_table_as_captured(lab: Lab) -> None:
    """id-blog-spoke: "#   ADDRESS           NETWORK        INTERFACE" / "2 D 172.16.0.2/24 ...": a one-digit
    number column, only the D flag column, content-sized columns; a comment on its own line (harness-A1M)."""
    lines = run(lab, "br1", "/ip address print").splitlines()
    want = capture("v7__ip_address_print__id-blog-spoke.txt")
    assert lines[:2] == want[1:3]
    header = lines[2]
    assert header.startswith("#   ADDRESS ")
    rows = [line for line in lines[3:] if not line.startswith(";;;")]
    assert [r.split()[0] for r in rows] == [str(n) for n in range(len(rows))]
    dynamic = next(r for r in rows if r[2] == "D")
    assert dynamic.split()[2:] == ["10.0.0.2/32", "10.0.0.2", "ether1"]  # the mode-config address
    widest = max(len(r[4:].split()[0]) for r in rows)
    assert header.index("NETWORK") == 4 + widest + 2
    commented = lines.index(";;; ikefleet")
    assert lines[commented + 1].split()[1] == "172.16.0.2/30"
    records = parse_address(run(lab, "br1", "/ip address print"))
    assert [r["address"] for r in records if r.get("comment") == "ikefleet"] == ["172.16.0.2/30"]


def test_active_peers_table_as_captured(lab: Lab) -> None:
    lines = run(lab, "hub", "/ip ipsec active-peers print").splitlines()
    want = capture("v7__ip_ipsec_active-peers_print__id-blog-hub.txt")
    assert lines[:2] == want[1:3]  # "Flags: R - RESPONDER", the Columns: line
    assert lines[2].split() == want[3].split()
    row = lines[3].split()
    assert row[:2] == ["0", "R"] and row[3] == "established" and row[-2:] == ["198.51.100.2", "10.0.0.2"]
    assert lines[2].index("STATE") == lines[3].index("established")
    peers = parse_active_peers("\n".join(lines))
    assert [(p["remote_address"], p["state"]) for p in peers] == [("198.51.100.2", "established")]


# --- /routing bfd session -------------------------------------------------------------------------------

BFD = "v7__routing_bfd_session_print__helpmt-bfd.txt"


def test_bfd_sessions_print_as_the_capture(lab: Lab) -> None:
    """help.mikrotik.com "BFD": legend `U - up, I - inactive`, rows ` 1   multihop=...`, no `interface=`;
    the interface is part of the address (`remote-address=IP%iface`)."""
    text = run(lab, "hub", "/routing bfd session print", width=200)
    lines, captured = text.splitlines(), capture(BFD)
    assert lines[0] == captured[1]  # "Flags: U - up, I - inactive "
    head = " 0 U multihop=no remote-address=172.16.0.2%eoip-br1 local-address=172.16.0.1 "
    assert lines[1].startswith(head)
    assert "interface=" not in text and "vrf=" not in text
    order = names("\n".join(captured[5:]))  # the down session: every field it prints, in its order
    assert [n for n in names(text) if n in order] == order
    (record,) = parse_bfd_session(text)
    assert (record["address"], record["interface"], record["vrf"], record["up"]) == (
        "172.16.0.2", "eoip-br1", "main", True)


# --- /routing ospf interface ----------------------------------------------------------------------------

A1M_TERSE = "v7__routing_ospf_interface_print_terse__harness-A1M.txt"


def test_ospf_interfaces_are_the_dynamic_rows_of_the_templates(lab: Lab) -> None:
    """itmo chr1 (ptp rows) and harness-A1M (a passive broadcast row): v7 lists one dynamic row per
    interface a template matched, `address=IP%iface area= state= network-type= cost= [priority=] use-bfd=`;
    no v6 table. `state=passive` is the string RouterOS prints."""
    text = run(lab, "hub", "/routing ospf interface print")
    lines = text.splitlines()
    assert lines[0].rstrip() == capture(PTP)[2].rstrip()  # "Flags: D - dynamic"
    assert not any(line.startswith(("Columns:", " #")) for line in lines)
    blocks = [b for b in text.split("\n\n") if "address=" in b]
    tunnel = next(b for b in blocks if "%eoip-br1" in b)
    lan = next(b for b in blocks if "state=passive" in b)
    assert tunnel.startswith(" 0 D address=") or tunnel.startswith(" 1 D address=")
    assert names(tunnel) == names("\n".join(capture(PTP)[3:6]))  # ptp: no priority, no dr/bdr
    assert names(lan) == names(capture(A1M_TERSE)[3])  # passive broadcast: priority, no dr/bdr
    records = {r["interface"]: r for r in parse_ospf_interface(text)}
    assert (records["eoip-br1"]["state"], records["eoip-br1"]["network_type"]) == ("ptp", "ptp")
    assert records["eoip-br1"]["use_bfd"] is True and records["eoip-br1"]["address"] == "172.16.0.1%eoip-br1"
    assert records["bridge"]["state"] == "passive" and records["bridge"]["passive"] is True
    terse = run(lab, "hub", "/routing ospf interface print terse")
    assert re.search(r"^\d D address=172\.16\.0\.1%eoip-br1 area=", terse, re.M)  # bare, as A1M prints it
    as_json = ":put [:serialize to=json [/routing ospf interface print as-value]]"
    js = parse_ospf_interface(run(lab, "hub", as_json))
    assert sorted(r["state"] for r in js) == ["passive", "ptp"]


def test_broadcast_ospf_interface_names_the_other_router(lab: Lab) -> None:
    """harness-A1M: a broadcast row prints `dr=`/`bdr=` of the other router and its own `state=dr|bdr`."""
    set_type = "/routing ospf interface-template set [find interfaces={}] type={}"
    try:
        for name, iface in (("hub", "eoip-br1"), ("br1", "eoip-hub")):
            assert run(lab, name, set_type.format(iface, "broadcast")) == ""
        lab.settle()
        text = run(lab, "hub", "/routing ospf interface print terse")
        row = next(line for line in text.splitlines() if "%eoip-br1" in line)
        # the hub (192.168.1.1) has the lower router id: br1 is DR, the hub BDR (as the neighbour test)
        assert "state=bdr network-type=broadcast dr=172.16.0.2 cost=1 priority=128 " in row
        captured = capture(A1M_TERSE)[1]
        assert names(row) == names(captured)
    finally:
        for name, iface in (("hub", "eoip-br1"), ("br1", "eoip-hub")):
            run(lab, name, set_type.format(iface, "ptp"))
        lab.settle()


# --- /ip route print detail -----------------------------------------------------------------------------

ROUTE_DETAIL = "v7__ip_route_print_detail__helpmt-policyrouting.txt"


def test_route_detail_prints_the_v7_fields(lab: Lab) -> None:
    """helpmt-policyrouting: `dst-address routing-table [pref-src] gateway immediate-gw distance scope
    target-scope ...`; connected rows without target-scope, with `local-address=IP%iface`; no v6
    `gateway-status`, `ospf-metric`, `ospf-type`."""
    text = run(lab, "hub", "/ip route print detail", width=200)
    assert not re.search(r"gateway-status|ospf-metric|ospf-type|pref-src=", text)
    ours = re.split(r"\n\s*\n", text)
    theirs = re.split(r"\n\s*\n", "\n".join(capture(ROUTE_DETAIL)))  # blank lines hold spaces there
    connected = next(b for b in ours if "dst-address=172.16.0.0/30" in b)
    assert names(connected) == names(next(b for b in theirs if "dst-address=172.16.1.0/24" in b))
    ospf = next(b for b in ours if "dst-address=192.168.2.0/24" in b)
    static = next(b for b in theirs if " As " in b)
    assert names(ospf) == [n for n in names(static) if n != "pref-src"]
    assert ospf.split()[0] == "DAo"
    assert "gateway=172.16.0.2%eoip-br1 immediate-gw=172.16.0.2%eoip-br1 " in ospf
    route = next(r for r in parse_route(text) if r["dst_address"] == "192.168.2.0/24")
    assert (route["gateway"], route["routing_table"], route["ospf"], route["active"]) == (
        ["172.16.0.2%eoip-br1"], "main", True, True)


def test_static_route_detail_names_its_immediate_gateway(lab: Lab) -> None:
    """helpmt-policyrouting `As` rows: `gateway=172.16.1.1 immediate-gw=172.16.1.1%ether8`."""
    hub = lab.routers["hub"]
    try:
        assert run(lab, "hub", "/ip route add dst-address=198.51.100.0/24 gateway=203.0.113.254") == ""
        lab.settle()
        text = run(lab, "hub", "/ip route print detail where dst-address=198.51.100.0/24", width=200)
        want = "gateway=203.0.113.254 immediate-gw=203.0.113.254%ether1 distance=1 scope=30 target-scope=10"
        assert want in text
    finally:
        run(lab, "hub", "/ip route remove [find dst-address=198.51.100.0/24]")
        assert not [i for i in hub.config.items("/ip route") if not i.dynamic]


# --- IPsec policies and active peers, EoIP --------------------------------------------------------------

POLICY = "v7__ip_ipsec_policy_print_detail__id-blog-hub.txt"
PEERS = "v7__ip_ipsec_active-peers_print_detail__id-blog-hub.txt"
EOIP = "v7__interface_eoip_print__mt-docs-eoip-AP.txt"


def test_policy_detail_prints_each_kind_with_its_own_fields(lab: Lab) -> None:
    """id-blog-hub: the template row has no tunnel/ports/action/level/ipsec-protocols; a generated policy
    no group and no template field."""
    text = run(lab, "hub", "/ip ipsec policy print detail", width=200)
    ours = [b for b in text.split("\n\n") if "=" in b]
    theirs = "\n".join(capture(POLICY)).split("\n\n")
    template = next(b for b in ours if " 0 T  * " in b)
    assert names(template) == names(next(b for b in theirs if " 0 T  * " in b))
    dynamic = next(b for b in ours if "   D  peer=" in b)
    assert names(dynamic) == names(next(b for b in theirs if " 1   D  peer=" in b))
    records = parse_policy(text)
    assert {r.get("ph2_state") for r in records if r["dynamic"]} == {"established"}


def test_active_peer_detail_prints_ports_last_seen_and_spis(lab: Lab) -> None:
    """id-blog-hub: `id="..."` quoted, `port=` after each address, `last-seen`, `spii`/`spir`."""
    text = run(lab, "hub", "/ip ipsec active-peers print detail", width=200)
    head = ' id="CN=br1-client" local-address=203.0.113.1 port=500 remote-address=198.51.100.2 port=500 '
    assert head in text
    captured = names("\n".join(capture(PEERS)[2:]))
    assert names(text) == captured[: captured.index("spir") + 1]  # the capture repeats spii/spir
    (peer,) = parse_active_peers(text)
    assert (peer["local_port"], peer["remote_port"], peer["last_seen"]) == (500, 500, 0)
    assert re.fullmatch(r"[0-9a-f]{16}", peer["spii"]) and re.fullmatch(r"[0-9a-f]{16}", peer["spir"])
    as_json = ":put [:serialize to=json [/ip ipsec active-peers print as-value]]"
    js = parse_active_peers(run(lab, "hub", as_json))
    assert (js[0]["local_port"], js[0]["spii"]) == (500, peer["spii"])


def test_eoip_print_has_l2mtu_and_loop_protect_status(lab: Lab) -> None:
    """mt-docs-eoip-AP (v7) and ru-notes (v6): `actual-mtu=1458 l2mtu=65535`, `loop-protect-status=off`."""
    text = run(lab, "hub", "/interface eoip print", width=200)
    assert names(text) == names("\n".join(capture(EOIP)[2:]))
    assert " l2mtu=65535 " in text and " loop-protect-status=off " in text


def test_forbidden_bfd_session_is_inactive_with_its_reason(lab: Lab) -> None:
    """help.mikrotik.com "BFD": a session a `/routing bfd configuration` forbids prints `I` and its reason on
    a `;;;` line, no state, zero timers; verify names it instead of "no BFD session"."""
    forbid = "/routing bfd configuration set [find interfaces=eoip-hub] forbid-bfd={}"
    try:
        assert run(lab, "br1", forbid.format("yes")) == ""
        lab.settle()
        text = run(lab, "br1", "/routing bfd session print", width=200)
        lines, captured = text.splitlines(), capture(BFD)
        assert lines[1] == captured[2]  # " 0 I ;;; BFD forbidden for destination address"
        assert names(lines[2]) == names("\n".join(captured[3:5]))
        assert "remote-address=172.16.0.1%eoip-hub " in lines[2]
        (record,) = parse_bfd_session(text)
        assert record["inactive"] and not record["up"] and "state" not in record
        assert [r.get("state") for r in parse_bfd_session(run(lab, "hub", "/routing bfd session print"))] == [
            "down"]
        report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
        (bfd,) = [r for r in report.results if r.check == "bfd.neighbor" and r.host == "br1"]
        assert (bfd.status, bfd.observed) == ("fail", "inactive (BFD forbidden for destination address)")
    finally:
        run(lab, "br1", forbid.format("no"))
        lab.settle()
    assert parse_bfd_session(run(lab, "br1", "/routing bfd session print"))[0]["up"]
