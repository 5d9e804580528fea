"""What one router is: its state read in one round trip and parsed (pure; the I/O is in tasks/gather.py).

All reads go on one console line (RouterOS 7: a few, `batch_lines`), separated by `;` with a `:put` marker
before each (`ikefleet.routeros.console`), so a router answers every section in a single exchange. On 7.17+
the list reads come as JSON (`:serialize`), which the parsers normalise. Detail forms (`print detail
without-paging`) are used because they parse robustly (no column widths, no paging).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Network
from typing import Any

from ikefleet import parsers as p
from ikefleet.routeros.config import Config
from ikefleet.routeros.console import MAX_V7_LINE, marked, pack_reads
from ikefleet.routeros.script import parse_script

ROUTE_READ = "/ip route print detail without-paging where {where}"  # `where`: see route_filter
MAX_ROUTE_PREFIXES = 8

# section -> command; order is the order of the batch.
COMMANDS: dict[str, str] = {
    "active_peers": "/ip ipsec active-peers print detail without-paging",
    "installed_sa": "/ip ipsec installed-sa print detail without-paging",
    "policy": "/ip ipsec policy print detail without-paging",
    "certificate": "/certificate print detail without-paging",
    "certificate_settings": "/certificate settings print",
    "eoip": "/interface eoip print detail without-paging",
    "ospf_neighbor": "/routing ospf neighbor print detail without-paging",
    "ospf_interface": "/routing ospf interface print detail without-paging",
    "route": ROUTE_READ.format(where="ospf"),
    "bfd": "/routing bfd neighbor print detail without-paging",
    "clock": "/system clock print",
    "ntp": "/system ntp client print",
    "log": '/log print without-paging where topics~"ipsec"',
    "config": "/export terse hide-sensitive",
}


def _json(menu: str, where: str = "") -> str:
    """A v7 read as JSON: `:put [:serialize to=json options=json.no-string-conversion [<menu> print
    as-value]]` (no wrapping, no column cuts, typed values). Without the option RouterOS turns a string that
    looks like a number into `1234.000000`, and `0123` or `1.10` cannot be read back: JSON reads are for
    7.17+ only (`ikefleet.routeros.versions.json_reads`)."""
    return (f":put [:serialize to=json options=json.no-string-conversion "
            f"[{menu} print as-value{' where ' + where if where else ''}]]")


# RouterOS 7.17+: the list reads as JSON (`:serialize`); BFD sessions replaced `/routing bfd neighbor`.
V7_COMMANDS: dict[str, str] = {
    "active_peers": _json("/ip ipsec active-peers"),
    "installed_sa": _json("/ip ipsec installed-sa"),
    "policy": _json("/ip ipsec policy"),
    "eoip": _json("/interface eoip"),
    "ospf_neighbor": _json("/routing ospf neighbor"),
    "ospf_interface": _json("/routing ospf interface"),
    "route": _json("/ip route", "ospf"),
    "bfd": _json("/routing bfd session"),
}
# The same reads as text (`print detail`): 7.11..7.16 (no lossless `:serialize`), and for comparing.
V7_TEXT_COMMANDS: dict[str, str] = {"bfd": "/routing bfd session print detail without-paging"}


def commands(major: int = 6, json: bool = True, routes: str = "ospf") -> dict[str, str]:
    """section -> command for a RouterOS `major` router (v7: JSON reads unless `json=False`); `routes` is
    the route read's `where` (route_filter)."""
    table = COMMANDS if major < 7 else {**COMMANDS, **(V7_COMMANDS if json else V7_TEXT_COMMANDS)}
    route = _json("/ip route", routes) if major >= 7 and json else ROUTE_READ.format(where=routes)
    return {**table, "route": route}


def _settings(text: str) -> list[dict[str, str]]:
    return [r["values"] for r in p.parse_generic_settings(text)]


def _log(text: str) -> list[str]:
    """Log lines as printed (only the message text is used, for hints)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _config(text: str) -> list[Config]:
    return [parse_script(text)]


PARSERS: dict[str, Callable[[str], list[Any]]] = {
    "active_peers": p.parse_active_peers,
    "installed_sa": p.parse_installed_sa,
    "policy": p.parse_policy,
    "certificate": p.parse_certificate,
    "certificate_settings": _settings,
    "eoip": p.parse_eoip,
    "ospf_neighbor": p.parse_ospf_neighbor,
    "ospf_interface": p.parse_ospf_interface,
    "route": p.parse_route,
    "bfd": p.parse_bfd_neighbor,
    "clock": p.parse_clock,
    "ntp": p.parse_ntp_client,
    "log": _log,
    "config": _config,
}


def route_filter(prefixes: Sequence[IPv4Network]) -> str:
    """The route read's `where` limited to OSPF routes inside `prefixes` (RouterOS `in`: the prefix itself
    and everything more specific). A branch's checks look only at the hub's LANs and the EoIP pool; reading
    every branch's LAN on every branch made verify grow with the fleet squared. More than
    MAX_ROUTE_PREFIXES would not fit a v7 console line (MAX_V7_LINE): then every OSPF route is read."""
    if not prefixes or len(prefixes) > MAX_ROUTE_PREFIXES:
        return "ospf"
    return "ospf and (" + " or ".join(f"dst-address in {p}" for p in prefixes) + ")"


def batch_command(sections: list[str] | None = None, major: int = 6, json: bool = True,
                  routes: str = "ospf") -> str:
    """One console line reading every section: `:put "<<ikefleet:x>>"; <command>; ...`."""
    return "; ".join(_parts(sections, major, json, routes))


def batch_lines(sections: list[str] | None = None, major: int = 6, json: bool = True,
                routes: str = "ospf", extra: Mapping[str, str] | None = None) -> list[str]:
    """The batch as console lines: one on v6; on v7 as few as fit in MAX_V7_LINE characters each
    (`pack_reads`). `routes`: the route read's `where` (see route_filter); `extra`: section -> command,
    a caller's own reads (a re-run's reach: its hand-over files and logins), marked as verify's are and
    packed with them, so they cost no round trip of their own."""
    parts = _parts(sections, major, json, routes) + [marked(n, c) for n, c in (extra or {}).items()]
    if major < 7:
        return ["; ".join(parts)]
    return ["; ".join(line) for line in pack_reads(parts, MAX_V7_LINE)]


def _parts(sections: list[str] | None, major: int, json: bool, routes: str) -> list[str]:
    table = commands(major, json, routes)
    return [marked(n, table[n]) for n in sections or list(COMMANDS)]


@dataclass
class HostState:
    """A router's parsed state. `error` set: the router could not be read at all (unreachable, refused).
    `problems` lists sections that could not be read or parsed (their checks report 'error')."""

    host: str
    sections: dict[str, list[Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    error: str = ""
    read_at: datetime | None = None  # when the state was read (the reference for the clock check)
    ros_version: str = ""  # the RouterOS version the router reported ("" when unknown)
    warnings: list[str] = field(default_factory=list)  # e.g. the inventory's ros_version is wrong

    def __repr__(self) -> str:
        """What was read, not all of it: nornir_utils' print_result pprints a result (all of a router's
        parsed state printed some 100 KB per host). The data stays on the object."""
        counts = {name: len(items) for name, items in self.sections.items()}
        return (f"HostState(host={self.host!r}, ros_version={self.ros_version!r}, error={self.error!r}, "
                f"sections={counts!r}, problems={self.problems!r}, warnings={self.warnings!r})")

    @property
    def reachable(self) -> bool:
        return not self.error

    def get(self, section: str) -> list[Any]:
        return self.sections.get(section, [])

    @property
    def config(self) -> Config | None:
        configs = self.sections.get("config")
        return configs[0] if configs else None


# RouterOS 7 sections read from another menu than on v6 (its parser names that menu in its errors)
V7_PARSERS: dict[str, Callable[[str], list[Any]]] = {"bfd": p.parse_bfd_session}


def parse_sections(host: str, raw: dict[str, str], major: int = 6) -> HostState:
    """Parse every section's text (as a RouterOS `major` router prints it); one unreadable section does not
    spoil the others. An error reply in a section is its problem, as printed: each parser looks for one
    first and raises CommandFailed (the log and the configuration are read as they are)."""
    state = HostState(host)
    parsers = {**PARSERS, **V7_PARSERS} if major >= 7 else PARSERS
    for name in COMMANDS:
        if name not in raw:
            state.problems[name] = "no output"
            continue
        try:
            state.sections[name] = parsers[name](raw[name])
        except p.CommandFailed as exc:
            state.problems[name] = exc.error.text
        except Exception as exc:  # parser errors are data here: the checks on this section say 'error'
            state.problems[name] = f"{type(exc).__name__}: {exc}"
    return state
