"""Render rules that the captures do not pin down on their own: quoting, flag columns, widths, terse,
as-value, export wrapping (round trip) and headers."""

from __future__ import annotations

import re
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ikefleet.lab.render import (
    ExportHeader,
    ExportLine,
    Row,
    columns,
    export,
    print_as_value,
    print_detail,
    print_settings,
    print_table,
    print_terse,
    quote,
)
from ikefleet.routeros.schema import load_schema

V6 = load_schema(6)


def test_quote_leaves_safe_values_bare() -> None:
    for value in ("eoip1000", "10.0.0.1/24", "modp2048,modp1024", "00:30:00", "a-b_c.d@e+f"):
        assert quote(value) == value


def test_quote_escapes_what_routeros_escapes() -> None:
    assert quote("") == '""'
    assert quote("WAN port") == '"WAN port"'
    assert quote("*****") == '"*****"'
    assert quote("$2018$") == '"\\$2018\\$"'
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("a\\b") == '"a\\\\b"'
    assert quote("why?") == '"why\\?"'


def test_policy_flag_group_shows_first_active_letter() -> None:
    menu = V6.menu("/ip ipsec policy")
    rows = [
        Row(0, {"group": "default"}, flags="TX*"),
        Row(1, {"src-address": "10.1.0.0/24"}, flags="DA"),  # dynamic and active share a column
        Row(2, {"src-address": "10.2.0.0/24"}, flags="A"),
    ]
    lines = print_table(menu, rows, width=200).split("\n")
    assert lines[1].startswith(" 0 TX* group=default")
    assert lines[2].startswith(" 1  D  src-address=10.1.0.0/24")
    assert lines[3].startswith(" 2  A  src-address=10.2.0.0/24")


def test_legend_wraps_between_units_and_keeps_trailing_space() -> None:
    menu = V6.menu("/ip route")
    wide = print_table(menu, [], width=200).split("\n")
    assert wide[0].startswith("Flags: X - disabled, A - active") and wide[0].endswith("P - prohibit ")
    narrow = print_table(menu, [], width=80).split("\n")
    assert narrow[:3] == [
        "Flags: X - disabled, A - active, D - dynamic, ",
        "C - connect, S - static, r - rip, b - bgp, o - ospf, m - mme, ",
        "B - blackhole, U - unreachable, P - prohibit ",
    ]


def test_menu_without_flags_prints_no_legend() -> None:
    out = print_table(V6.menu("/routing ospf neighbor"), [Row(0, {"instance": "default"})], width=80)
    assert not out.startswith("Flags")
    assert out.split("\n")[0] == " 0 instance=default "


def test_numbers_from_ten_lose_the_leading_space() -> None:
    menu = V6.menu("/ip address")
    rows = [
        Row(n, {"address": f"10.0.{n}.1/24", "network": f"10.0.{n}.0", "interface": "ether1"})
        for n in (9, 10)
    ]
    lines = print_table(menu, rows, width=80).split("\n")
    assert lines[2].startswith(" 9   10.0.9.1/24 ")
    assert lines[3].startswith("10   10.0.10.1/24 ")


def test_table_fills_width_minus_one_through_its_expanding_column() -> None:
    menu = V6.menu("/ip address")
    row = Row(0, {"address": "10.0.0.1/24", "network": "10.0.0.0", "interface": "ether1"})
    for width in (80, 120, 4098):
        lines = print_table(menu, [row], width=width).split("\n")
        assert {len(line) for line in lines[1:]} == {width - 1}


def test_narrow_table_truncates_headers_with_dots() -> None:
    header = print_table(V6.menu("/routing ospf interface"), [], width=80).split("\n")[1]
    assert header.split() == ["#", "INTERFACE", "COST", "PRI", "NETWORK-TYPE", "AUT...", "AUTHENTICATIO..."]


def test_long_left_value_wraps_inside_its_column() -> None:
    menu = V6.menu("/ip address")
    name = "eoip-" + "x" * 70
    lines = print_table(menu, [Row(0, {"address": "10.0.0.1/24", "network": "10.0.0.0", "interface": name})])
    start = lines.split("\n")[1].index("INTERFACE")
    body = lines.split("\n")[2:]
    assert len(body) > 1
    assert "".join(line[start:].rstrip() for line in body) == name


def test_comment_takes_its_own_line_in_tables_and_lists() -> None:
    table = print_table(
        V6.menu("/ip address"),
        [Row(0, {"address": "10.0.0.1/24", "network": "10.0.0.0", "interface": "ether1"}, comment="hub lan")],
    ).split("\n")
    assert table[2] == " 0   ;;; hub lan"
    assert table[3].startswith("     10.0.0.1/24 ")
    listing = print_detail(V6.menu("/interface eoip"), [Row(0, {"name": "eoip-b1"}, flags="R", comment="b1")])
    assert listing.split("\n")[1:4] == [" 0  R ;;; b1", '      name="eoip-b1" ', ""]


def test_detail_quotes_strings_but_not_other_values() -> None:
    menu = V6.menu("/ip ipsec identity")
    out = print_detail(
        menu, [Row(0, {"peer": "hub", "secret": "a b", "my-id": "auto", "remote-id": ""})], width=200
    )
    assert 'secret="a b"' in out and "peer=hub " in out and 'remote-id="" ' in out


def test_plain_print_blank_lines_only_when_an_item_wraps() -> None:
    menu = V6.menu("/ip ipsec profile")
    short = [Row(0, {"name": "default"}, flags="*"), Row(1, {"name": "ike2"})]
    assert "" not in print_table(menu, short, width=80).split("\n")
    long_values = {
        "name": "ike2",
        "hash-algorithm": "sha256",
        "enc-algorithm": "aes-256",
        "dh-group": "ecp256",
        "lifetime": "1d",
        "proposal-check": "obey",
        "nat-traversal": "yes",
        "dpd-interval": "2m",
    }
    lines = print_table(menu, [Row(0, long_values), Row(1, long_values)], width=80).split("\n")
    assert lines.count("") == 2 and lines[-1] == ""
    assert all(len(line) <= 79 for line in lines)


def test_terse_is_one_unwrapped_line_per_item() -> None:
    menu = V6.menu("/routing ospf neighbor")
    values = {"instance": "default", "router-id": "10.255.0.1", "state": "Full", "adjacency": "6h8m46s"}
    rows = [Row(0, values), Row(1, {**values, "state": "2-Way"})]
    lines = print_terse(menu, rows).split("\n")
    assert lines == [
        " 0 instance=default router-id=10.255.0.1 state=Full adjacency=6h8m46s",
        " 1 instance=default router-id=10.255.0.1 state=2-Way adjacency=6h8m46s",
    ]


def test_terse_quotes_only_where_needed_and_keeps_flag_columns() -> None:
    menu = V6.menu("/ip address")
    row = Row(3, {"address": "10.0.0.1/24", "interface": "ether1"}, flags="X", comment="to hub")
    assert print_terse(menu, [row]) == ' 3 X comment="to hub" address=10.0.0.1/24 interface=ether1'


def test_as_value_joins_items_with_semicolons() -> None:
    menu = V6.menu("/ip address")
    rows = [
        Row(0, {"network": "10.0.0.0", "address": "10.0.0.1/24"}, id=1),
        Row(1, {"address": "10.0.1.1/24"}, "D", id=26),
    ]
    assert print_as_value(menu, rows) == (
        ".id=*1;address=10.0.0.1/24;disabled=false;dynamic=false;invalid=false;network=10.0.0.0;"
        ".id=*1A;address=10.0.1.1/24;disabled=false;dynamic=true;invalid=false"
    )


def test_as_value_writes_booleans_as_true_false() -> None:
    menu = V6.menu("/ip ipsec peer")
    out = print_as_value(
        menu, [Row(0, {"name": "hub", "passive": "yes", "port": "500"}, "*", comment="c", id=3)]
    )
    assert (
        out == ".id=*3;comment=c;disabled=false;dynamic=false;name=hub;passive=true;port=500;responder=false"
    )


def test_settings_align_names_on_the_longest() -> None:
    out = print_settings(V6.menu("/system identity"), {"name": "hub"})
    assert out == "  name: hub"
    out = print_settings(None, {"a": "1", "longer-name": "2"})
    assert out.split("\n") == ["            a: 1", "  longer-name: 2"]


def test_columns_lists_table_fields() -> None:
    assert columns("/ip address") == ("address", "network", "interface")
    assert columns("/ip ipsec peer") == ()


HEADER = ExportHeader(when=datetime(2026, 1, 5, 9, 3, 7), version="6.49.19", software_id="ABCD-1234")


def test_export_header_lines() -> None:
    out = export([], header=HEADER).split("\n")
    assert out == ["# jan/05/2026 09:03:07 by RouterOS 6.49.19", "# software id = ABCD-1234", "#", "#", "#"]
    full = ExportHeader(when=HEADER.when, version="6.49.19", software_id="X", model="RB5009", serial="HEX1")
    assert export([], header=full).split("\n")[3:] == ["# model = RB5009", "# serial number = HEX1"]


def test_export_sorts_arguments_and_skips_empty_sections() -> None:
    lines = [ExportLine("add", (("tunnel-id", "10"), ("name", "eoip-b1"), ("comment", "to b1")))]
    out = export([("/interface bridge", []), ("/interface eoip", lines)], header=None)
    assert out == '/interface eoip\nadd comment="to b1" name=eoip-b1 tunnel-id=10'


def test_export_terse_repeats_the_path_and_never_wraps() -> None:
    args = tuple((f"key-{i:02d}", "v" * 10) for i in range(12))
    out = export(
        [("/ip ipsec proposal", [ExportLine("set", args, find="[ find default=yes ]")])],
        terse=True,
        header=None,
    )
    assert "\n" not in out
    assert out.startswith("/ip ipsec proposal set [ find default=yes ] key-00=vvvvvvvvvv ")


def _unwrap(lines: list[str]) -> str:
    text = ""
    for i, line in enumerate(lines):
        body = line[4:] if i else line
        text += body[:-1] if body.endswith("\\") else body
    return text


_KEY = st.from_regex(r"[a-z][a-z-]{0,14}", fullmatch=True)
_VALUE = st.text(alphabet='abcdefXYZ0123456789.:/,- $"', min_size=0, max_size=120)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_KEY, _VALUE), min_size=1, max_size=8, unique_by=lambda kv: kv[0]))
def test_export_wrap_round_trips(args: list[tuple[str, str]]) -> None:
    line = ExportLine("add", tuple(args))
    wrapped = export([("/interface eoip", [line])], header=None, width=80).split("\n")[1:]
    flat = export([("/interface eoip", [line])], header=None, width=100_000).split("\n")[1]
    assert _unwrap(wrapped) == flat
    assert all(len(w) <= 80 for w in wrapped)
    assert all(w.startswith("    ") for w in wrapped[1:])
    assert all(w.endswith("\\") for w in wrapped[:-1])


def test_export_splits_a_value_longer_than_a_line() -> None:
    secret = "k" * 140
    wrapped = export([("/interface eoip", [ExportLine("add", (("ipsec-secret", secret),))])], header=None)
    lines = wrapped.split("\n")[1:]
    assert len(lines) == 3
    assert lines[0] == "add ipsec-secret=\\"
    assert re.fullmatch(r"    k+\\", lines[1]) and len(lines[1]) == 79
    assert _unwrap(lines) == "add ipsec-secret=" + secret


def test_numbers_from_hundred_widen_the_number_column_for_every_row() -> None:
    menu = V6.menu("/ip address")
    rows = [
        Row(n, {"address": f"10.{n}.0.1/24", "network": f"10.{n}.0.0", "interface": "ether1"})
        for n in (7, 100)
    ]
    lines = print_table(menu, rows, width=80).split("\n")
    assert lines[1].startswith("  #   ADDRESS")
    assert lines[2].startswith("  7   10.7.0.1/24")
    assert lines[3].startswith("100   10.100.0.1/24")
    assert lines[2].index("10.7") == lines[3].index("10.100") == lines[1].index("ADDRESS")


def test_flag_missing_from_the_layout_still_gets_a_column() -> None:
    import dataclasses

    from ikefleet.routeros.schema import Flag

    menu = dataclasses.replace(
        V6.menu("/ip ipsec proposal"), flags=(*V6.menu("/ip ipsec proposal").flags, Flag("Z", "zed"))
    )
    out = print_table(menu, [Row(0, {"name": "p"}, flags="Z")], width=80).split("\n")
    assert out[0] == "Flags: X - disabled, * - default, Z - zed "
    assert out[1] == ' 0   Z name="p" '


def test_log_print_is_time_topics_message_lines() -> None:
    """v6 `/log print` has no legend and no item numbers: ` 00:01:16 system,info router rebooted`."""
    from types import SimpleNamespace

    from ikefleet.lab import render

    menu = SimpleNamespace(path="/log", fields={}, flags=())
    rows = [
        render.Row(0, {"time": "00:01:16", "topics": "system,info", "message": "router rebooted"}),
        render.Row(1, {"time": "nov/26 23:59:12", "topics": "ipsec,error", "message": "phase1 failed"}),
    ]
    assert render.print_table(menu, rows).splitlines() == [
        " 00:01:16 system,info router rebooted",
        " nov/26 23:59:12 ipsec,error phase1 failed",
    ]
