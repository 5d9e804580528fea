"""Which parser reads which command: the menu path in the command text picks it (as data)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ikefleet.parsers import bfd, certificate, interfaces, ipsec, ospf, routes, system
from ikefleet.parsers.schema import Spec

Parser = Callable[[str], list[Any]]

# menu path (space-separated, as typed in v6) -> (parser of its `print` output in any form, its spec)
_TABLE: tuple[tuple[str, Parser, Spec], ...] = (
    ("ip ipsec installed-sa", ipsec.parse_installed_sa, ipsec.INSTALLED_SA),
    ("ip ipsec active-peers", ipsec.parse_active_peers, ipsec.ACTIVE_PEERS),
    ("ip ipsec remote-peers", ipsec.parse_active_peers, ipsec.ACTIVE_PEERS),
    ("ip ipsec policy", ipsec.parse_policy, ipsec.POLICY),
    ("ip ipsec peer", ipsec.parse_peer, ipsec.PEER),
    ("ip ipsec identity", ipsec.parse_identity, ipsec.IDENTITY),
    ("ip ipsec profile", ipsec.parse_profile, ipsec.PROFILE),
    ("ip ipsec proposal", ipsec.parse_proposal, ipsec.PROPOSAL),
    ("certificate", certificate.parse_certificate, certificate.CERTIFICATE),
    ("interface", interfaces.parse_interface, interfaces.INTERFACE),
    ("interface eoip", interfaces.parse_eoip, interfaces.EOIP),
    ("ip address", interfaces.parse_address, interfaces.ADDRESS),
    ("routing ospf neighbor", ospf.parse_ospf_neighbor, ospf.NEIGHBOR),
    ("routing ospf interface", ospf.parse_ospf_interface, ospf.INTERFACE),
    ("ip route", routes.parse_route, routes.ROUTE),
    ("routing route", routes.parse_route, routes.ROUTE),
    ("routing bfd neighbor", bfd.parse_bfd_neighbor, bfd.BFD_NEIGHBOR),
    ("routing bfd session", bfd.parse_bfd_session, bfd.BFD_SESSION),
    ("system resource", system.parse_resource, system.RESOURCE),
    ("system identity", system.parse_identity, system.IDENTITY),
    ("system clock", system.parse_clock, system.CLOCK),
    ("system ntp client", system.parse_ntp_client, system.NTP_CLIENT),
)
PARSERS: dict[str, Parser] = {menu: parser for menu, parser, _ in _TABLE}
SPECS: dict[str, Spec] = {menu: spec for menu, _, spec in _TABLE}
# every record's position and id change when items come and go: never part of a comparison
ALWAYS_VOLATILE = frozenset({"index", "object_id"})

# ":put [:serialize to=json [/ip/route/print]]": brackets and slashes separate the words of a command
_PUNCT_RE = re.compile(r"[\[\]/{}()]")
# a menu word: "ip", "installed-sa", "ntp"
_MENU_WORD_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_PRINT_WORDS = ("print", "pr")


def menu_of(command: str) -> str | None:
    """The menu path a command prints: "/ip/ipsec/installed-sa/print detail" -> "ip ipsec installed-sa".

    Works through `:put [:serialize to=json [/ip/route/print as-value]]` too; None when nothing prints.
    """
    words = _PUNCT_RE.sub(" ", command).split()
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


def volatile_fields(command: str) -> frozenset[str]:
    """Record fields of `command`'s output that change by themselves (ages, counters, ids)."""
    menu = menu_of(command)
    spec = SPECS.get(menu) if menu is not None else None
    if spec is None:
        raise KeyError(command)
    return ALWAYS_VOLATILE | spec.volatile


def stable(records: list[Any], command: str) -> list[dict[str, Any]]:
    """`records` without their volatile fields: what two snapshots of a healthy router share."""
    volatile = volatile_fields(command)
    return [{k: v for k, v in record.items() if k not in volatile} for record in records]
