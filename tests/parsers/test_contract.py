"""Every registered parser: empty output is no records, garbage is a ParseError naming the command,
and the registry picks parsers from command text in any of its spellings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ikefleet.parsers import (
    ParseError,
    menu_of,
    parse_as_value_text,
    parse_generic,
    parse_generic_settings,
    parse_json_text,
    parser_for,
    supported_commands,
)
from ikefleet.parsers.registry import PARSERS

GOLDEN = Path(__file__).parent / "golden"
PARSER_FUNCTIONS = sorted(set(PARSERS.values()), key=lambda f: f.__module__ + f.__name__)
IDS = [f.__name__ for f in PARSER_FUNCTIONS]


@pytest.mark.parametrize("parser", PARSER_FUNCTIONS, ids=IDS)
@pytest.mark.parametrize("text", ["", "\r\n", "   \n\n  ", "[admin@R1] > "])
def test_empty_output_gives_no_records(parser, text: str) -> None:
    assert parser(text) == []


@pytest.mark.parametrize("parser", PARSER_FUNCTIONS, ids=IDS)
@pytest.mark.parametrize(
    "garbage", ["hello world\nthis is not RouterOS output", "0 ???", "\x00\x01\x02 binary", "<html><body>"]
)
def test_garbage_is_a_parse_error_naming_the_command(parser, garbage: str) -> None:
    with pytest.raises(ParseError) as info:
        parser(garbage)
    menu = next(m for m, f in PARSERS.items() if f is parser)
    assert info.value.command.lstrip("/").startswith(menu.split()[0])


@pytest.mark.parametrize("parser", PARSER_FUNCTIONS, ids=IDS)
def test_non_text_is_a_parse_error(parser) -> None:
    with pytest.raises(ParseError):
        parser(b"0 name=x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "menu"),
    [
        ("/ip ipsec installed-sa print detail", "ip ipsec installed-sa"),
        ("ip ipsec/active-peers/print", "ip ipsec active-peers"),
        ("/ip/ipsec/policy/print detail without-paging", "ip ipsec policy"),
        ("/routing/ ospf/ neighbor/ print ", "routing ospf neighbor"),
        ("routing ospf neighbor pr", "routing ospf neighbor"),
        (":put [:serialize to=json [/ip/ipsec/installed-sa/print as-value]]", "ip ipsec installed-sa"),
        ("/ip route print detail where dst-address=0.0.0.0/0", "ip route"),
        ("/system resource print", "system resource"),
        ("/system ntp client print", "system ntp client"),
        ("/ip ipsec installed-sa flush", None),
    ],
)
def test_menu_of(command: str, menu: str | None) -> None:
    assert menu_of(command) == menu


def test_every_supported_command_resolves_to_its_parser() -> None:
    for command in supported_commands():
        assert parser_for(command) is PARSERS[command.removeprefix("/").removesuffix(" print")]
    assert parser_for("/ip firewall filter print") is None


@pytest.mark.parametrize(
    "parser", [parse_generic, parse_generic_settings, parse_as_value_text, parse_json_text]
)
def test_generic_parsers_empty_and_garbage(parser) -> None:
    assert parser("", "/x print") == []
    with pytest.raises(ParseError) as info:
        parser("<html>garbage</html> ???", "/x print")
    assert info.value.command == "/x print"


def test_output_of_another_command_is_refused() -> None:
    neighbors = (GOLDEN / "v6__routing_ospf_neighbor_print__mplslab-PE3.txt").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="another command"):
        parser_for("/interface eoip print")(neighbors)
    resource = (GOLDEN / "v7__system_resource_print__mt-docs.txt").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="another command"):
        parser_for("/system identity print")(resource)
