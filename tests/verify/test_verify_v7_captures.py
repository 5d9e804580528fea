"""The checks on real RouterOS 7 output: captures fed through the parsers into the recorded fleet's state.

The captures are the parsers' golden copies (tests/parsers/golden, from shared/routeros-samples); only the
addresses and interface names are changed to the recorded fleet's, never the layout.
"""

from __future__ import annotations

import re
from pathlib import Path

from recorded import raw, report

from ikefleet.routeros.console import split_sections
from ikefleet.verify.checks import router_time
from ikefleet.verify.gather import HostState, parse_sections

GOLDEN = Path(__file__).resolve().parents[1] / "parsers" / "golden"
BFD = "v7__routing_bfd_session_print__helpmt-bfd.txt"


def with_section(host: str, section: str, text: str, major: int) -> HostState:
    """The recorded `host` with one section's reply replaced by `text`, parsed as a `major` router's."""
    sections = split_sections(raw(host))
    sections[section] = text
    state = parse_sections(host, sections, major)
    state.read_at = router_time(state)
    return state


def bfd_capture(remote: str, up: bool) -> str:
    """The helpmt-bfd capture (its prompt line dropped) with session 1's far end renamed to `remote`."""
    text = (GOLDEN / BFD).read_text().split("\n", 1)[1]
    text = text.replace("111.111.11.11%ovpn-out1@vrf1", remote)
    return text.replace(" 1   multihop", " 1 U multihop").replace("state=down", "state=up") if up else text


def bfd_result(state: HostState):  # type: ignore[no-untyped-def]
    (result,) = [r for r in report(br1=state).results if r.check == "bfd.neighbor" and r.host == "br1"]
    return result


def test_v7_bfd_session_up_on_the_tunnel_passes() -> None:
    """Real v7 sessions carry the interface in the address (`IP%iface`), not an `interface=` field."""
    result = bfd_result(with_section("br1", "bfd", bfd_capture("172.16.0.1%eoip-hub", up=True), 7))
    assert result.status == "pass", result.observed


def test_v7_bfd_session_down_on_the_tunnel_reports_its_state() -> None:
    result = bfd_result(with_section("br1", "bfd", bfd_capture("172.16.0.1%eoip-hub@vrf1", up=False), 7))
    assert (result.status, result.observed) == ("fail", "down")


def test_v7_bfd_session_on_another_interface_is_not_the_tunnel() -> None:
    result = bfd_result(with_section("br1", "bfd", bfd_capture("172.16.0.1%ovpn-out1", up=True), 7))
    assert (result.status, result.observed) == ("fail", "no BFD session")
    assert not re.search(r"interface=", (GOLDEN / BFD).read_text())  # the capture has no interface= field


def check_result(state: HostState, check: str):  # type: ignore[no-untyped-def]
    (result,) = [r for r in report(br1=state).results if r.check == check and r.host == "br1"]
    return result


def test_v7_ptp_neighbour_capture_maps_to_the_tunnel_by_address() -> None:
    """itmo chr1: a v7 neighbour has no `interface=`; its address (the hub's tunnel end) places it."""
    lines = (GOLDEN / "v7__routing_ospf_interface_and_neighbor_print__itmo-lab-chr1_ospf.txt").read_text()
    block = "\n".join(lines.splitlines()[11:15])  # the neighbour print
    text = block.replace("address=10.10.10.3", "address=172.16.0.1").replace("router-id=2.2.2.2",
                                                                              "router-id=192.168.1.1")
    assert check_result(with_section("br1", "ospf_neighbor", text, 7), "ospf.neighbor").status == "pass"
    elsewhere = text.replace("address=172.16.0.1", "address=10.10.10.3")
    result = check_result(with_section("br1", "ospf_neighbor", elsewhere, 7), "ospf.neighbor")
    assert result.status == "fail"


def test_v7_ospf_route_capture_counts_as_learned() -> None:
    """helpmt-ospf: a v7 OSPF route table row (`DAo`, gateway `IP%iface`) is a learned hub LAN."""
    text = (GOLDEN / "v7__ip_route_print_where__helpmt-ospf.txt").read_text().split("\n", 1)[1]
    learned = text.replace("192.168.0.0/24", "192.168.1.0/24")
    assert check_result(with_section("br1", "route", learned, 7), "routes.learned").status == "pass"
    result = check_result(with_section("br1", "route", text, 7), "routes.learned")
    assert (result.status, result.observed) == ("fail", "missing 192.168.1.0/24")
