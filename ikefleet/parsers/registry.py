"""Which parser reads which command: the menu path in the command text picks it (as data)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ikefleet.parsers import bfd, certificate, interfaces, ipsec, ospf, routes, system

Parser = Callable[[str], list[Any]]

# menu path (space-separated, as typed in v6) -> parser of its `print` output, any form
PARSERS: dict[str, Parser] = {
    "ip ipsec installed-sa": ipsec.parse_installed_sa,
    "ip ipsec active-peers": ipsec.parse_active_peers,
    "ip ipsec remote-peers": ipsec.parse_active_peers,
    "ip ipsec policy": ipsec.parse_policy,
    "ip ipsec peer": ipsec.parse_peer,
    "ip ipsec identity": ipsec.parse_identity,
    "ip ipsec profile": ipsec.parse_profile,
    "ip ipsec proposal": ipsec.parse_proposal,
    "certificate": certificate.parse_certificate,
    "interface": interfaces.parse_interface,
    "interface eoip": interfaces.parse_eoip,
    "ip address": interfaces.parse_address,
    "routing ospf neighbor": ospf.parse_ospf_neighbor,
    "routing ospf interface": ospf.parse_ospf_interface,
    "ip route": routes.parse_route,
    "routing route": routes.parse_route,
    "routing bfd neighbor": bfd.parse_bfd_neighbor,
    "system resource": system.parse_resource,
    "system identity": system.parse_identity,
    "system clock": system.parse_clock,
    "system ntp client": system.parse_ntp_client,
}

# a menu word: "ip", "installed-sa", "ntp"
_MENU_WORD_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_PRINT_WORDS = ("print", "pr")


def menu_of(command: str) -> str | None:
    """The menu path a command prints: "/ip/ipsec/installed-sa/print detail" -> "ip ipsec installed-sa".

    Works through `:put [:serialize to=json [/ip/route/print as-value]]` too; None when nothing prints.
    """
    words = re.sub(r"[\[\]/{}()]", " ", command).split()
    for at, word in enumerate(words):
        if word in _PRINT_WORDS:
            menu: list[str] = []
            for previous in reversed(words[:at]):
                if not _MENU_WORD_RE.match(previous):
                    break
                menu.insert(0, previous)
            return " ".join(menu)
    return None


def parser_for(command: str) -> Parser | None:
    menu = menu_of(command)
    return PARSERS.get(menu) if menu is not None else None


def supported_commands() -> list[str]:
    return [f"/{menu} print" for menu in PARSERS]


def parse_command_output(command: str, text: str) -> list[Any]:
    """Parse `text` as the output of `command`; KeyError when no parser reads that command."""
    parser = parser_for(command)
    if parser is None:
        raise KeyError(command)
    return parser(text)
