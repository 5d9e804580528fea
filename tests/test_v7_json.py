"""v7 `:serialize to=json` in the lab as RouterOS prints it (help.mikrotik.com Scripting: numbers stay
integers, number-looking strings become `1234.000000` unless options=json.no-string-conversion; 7.13+, the
option 7.17+), and the verify gather reading 7.17+ state as JSON: the same records as the text path once
normalised (null to absent)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests_support import rolled_out_lab

from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.routeros.console import MAX_V7_LINE
from ikefleet.verify.gather import (
    COMMANDS,
    PARSERS,
    V7_COMMANDS,
    V7_PARSERS,
    batch_command,
    batch_lines,
    commands,
)

# Fields only one form can carry: flags the text legend knows but the v7 menu does not print
# (`seen_traffic`, `blackhole`...), and `active` of a dynamic policy, which the text hides behind its `D`
# (one flag column for X/D/I/A, as in the v7 capture).
ONE_FORM_ONLY = {"index", "object_id", "extra", "seen_traffic", "blackhole", "unreachable", "prohibit",
                 "backup", "active"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory: Path = tmp_path_factory.mktemp("json")
    with rolled_out_lab(directory / "lab", branches=1, version="7.17.1", convergence_delay=0.05) as lab:
        yield lab


def console(lab: Lab, name: str) -> Session:
    return Session(lab.routers[name], "admin", width=200)


def test_serialize_is_json_with_routeros_types(lab: Lab) -> None:
    hub = console(lab, "hub")
    out = hub.execute(":put [:serialize to=json value=[/ip ipsec installed-sa print as-value]]")
    assert '"replay":128,' in out  # numbers stay integers
    items = json.loads(out)
    assert len(items) == 2 and all(i[".id"].startswith("*") for i in items)
    assert {type(i["ESP"]) for i in items} == {bool} and {i["state"] for i in items} == {"mature"}
    positional = console(lab, "hub").execute(":put [:serialize to=json [/ip/address/print as-value]]")
    assert json.loads(positional)[0]["address"] == "203.0.113.1/24"


def test_serialize_nulls_and_refusals(lab: Lab) -> None:
    hub = console(lab, "hub")
    assert hub.execute(":put [:serialize to=json value=\"\"]") == "null"
    assert hub.execute(":put [:serialize to=xml value=1]") == "invalid value for argument to"
    with_blank = json.loads(hub.execute(":put [:serialize to=json value=[/interface eoip print as-value]]"))
    assert all(v is not None for v in with_blank[0].values())
    hub.execute("/ip address add address=10.9.9.1/24 interface=bridge comment=\"\"")
    rows = json.loads(hub.execute(":put [:serialize to=json value=[/ip address print as-value where "
                                  "address=10.9.9.1/24]]"))
    assert rows and "network" in rows[0]
    hub.execute("/ip address remove [find address=10.9.9.1/24]")


def test_number_looking_strings_as_routeros_converts_them(lab: Lab) -> None:
    """The Scripting page's example: `{"string"="1234"; "number"=1234}` ->
    `{"number":1234,"string":1234.000000}`; with json.no-string-conversion `{"number":1234,"string":"1234"}`.
    A comment is a string: `0123` would come back as 123.000000, losing the value."""
    hub = console(lab, "hub")
    hub.execute('/ip address add address=10.9.9.1/24 interface=bridge comment="0123"')
    read = "[/ip address print as-value where address=10.9.9.1/24]"
    try:
        converted = hub.execute(f":put [:serialize to=json value={read}]")
        kept = hub.execute(f":put [:serialize to=json options=json.no-string-conversion value={read}]")
    finally:
        hub.execute("/ip address remove [find address=10.9.9.1/24]")
    assert '"comment":123.000000' in converted
    assert json.loads(kept)[0]["comment"] == "0123"
    parsed = PARSERS["eoip"](console(lab, "hub").execute(V7_COMMANDS["eoip"]))
    assert parsed and all(isinstance(r["tunnel_id"], int) for r in parsed)


@pytest.mark.parametrize(
    ("version", "says"),
    [
        ("7.12.2", "bad command name"),  # :serialize is 7.13+
        ("7.16.1", "invalid value for argument options"),  # options= has only json.pretty before 7.17
        ("7.15.3", "expected end of command"),  # no options= at all before 7.16
    ],
)
def test_serialize_by_version(tmp_path: Path, version: str, says: str) -> None:
    with Lab.start(tmp_path / "lab", branches=0, version=version, control_socket=False) as old:
        out = Session(old.routers["hub"], "admin").execute(V7_COMMANDS["eoip"])
    assert says in out


def test_gather_reads_json_only_where_every_value_survives() -> None:
    """7.11..7.16 read as text (no `:serialize`, or one that turns number-looking strings into floats)."""
    assert all("options=json.no-string-conversion" in c for c in V7_COMMANDS.values())
    assert ":serialize" not in batch_command(major=7, json=False)


def test_v6_has_no_serialize(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab6", branches=0, version="6.49.2", control_socket=False) as lab6:
        out = Session(lab6.routers["hub"], "admin").execute(":put [:serialize to=json value=1]")
    assert out.startswith("bad command name")


# v7 `/routing ospf interface` prints only `D - dynamic` (itmo chr1): the v6 X/I/P flags the text parser
# knows are absent from its JSON
SECTION_ONLY = {
    "ospf_interface": {"disabled", "inactive"},
    # v7 `print detail` leaves out of each kind of policy the fields of the other (id-blog-hub): a template
    # prints no tunnel, ports, action, level, ipsec-protocols; a policy no group; JSON carries them all
    "policy": {"tunnel", "src_port", "dst_port", "action", "level", "ipsec_protocols", "group"},
}


def _common(text: list[dict[str, Any]], js: list[dict[str, Any]], section: str = ""
            ) -> tuple[list[Any], list[Any]]:
    skip = ONE_FORM_ONLY | SECTION_ONLY.get(section, set())

    def strip(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in skip} for r in recs]

    return strip(text), strip(js)


@pytest.mark.parametrize("section", sorted(V7_COMMANDS))
def test_json_and_text_reads_agree(lab: Lab, section: str) -> None:
    """The lab's clock runs between two reads (a neighbor's dead-timer countdown, its adjacency's age, in
    whole seconds), so the JSON read is held to the text reads just before and just after it: it equals one
    of them (a second's boundary falls in one gap at most)."""
    for name in ("hub", "br1"):
        session = console(lab, name)
        text_command = commands(7, json=False)[section]
        parse = {**PARSERS, **V7_PARSERS}[section]
        before = parse(session.execute(text_command))
        js = parse(session.execute(V7_COMMANDS[section]))
        after = parse(session.execute(text_command))
        assert V7_COMMANDS[section].startswith(":put [:serialize to=json")
        a, b = _common(before, js, section)
        assert b in (a, _common(after, js, section)[0]), (name, section)
        if section in ("active_peers", "installed_sa", "eoip", "route", "ospf_neighbor", "ospf_interface",
                       "bfd"):
            assert js, (name, section)  # a rolled-out router has this state: the comparison is not empty
        assert all(isinstance(v, int) for r in js for k, v in r.items() if k in ("replay", "distance"))


def test_gather_batch_uses_json_on_v7_only() -> None:
    assert ":serialize" in batch_command(major=7) and ":serialize" not in batch_command(major=6)
    assert commands(6) == COMMANDS


def test_route_table_legend_as_captured(lab: Lab) -> None:
    """v7__ip_route_print_ospf_ecmp__pt-lab-mtk1: "Flags: D - DYNAMIC; A - ACTIVE; c - CONNECT, o - OSPF; ..."
    (only the flags shown, one `;` per flag column); OSPF routes carry D, A and o."""
    lines = console(lab, "hub").execute("/ip route print").splitlines()
    assert lines[0] == "Flags: D - DYNAMIC; A - ACTIVE; c - CONNECT, o - OSPF"
    # dynamic routes print without a number (v7__ip_route_add_then_print: "    DAC 10.1.1.0/24 ..."; with no
    # numbered row there is no number column at all: pt-lab-mtk1 "DAo  0.0.0.0/0 ...")
    assert any(re.match(r"^DAo +192\.168\.2\.0/24", line) for line in lines)
    assert not lines[2].lstrip().startswith("#")


def test_v7_batch_lines_fit_the_console() -> None:
    """v7 scrolls lines wider than the terminal (the lab reproduces it): each batch line stays short, and
    together they read every section once."""
    lines = batch_lines(major=7)
    assert len(lines) > 1 and all(len(line) <= MAX_V7_LINE for line in lines)
    # the same reads as the one-line batch, in the order that packs them best (reads' order is free)
    assert sorted("; ".join(lines).split("; ")) == sorted(batch_command(major=7).split("; "))
    assert batch_lines(major=6) == [batch_command(major=6)]
