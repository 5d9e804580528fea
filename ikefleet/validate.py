"""Inventory validation: every problem found before any router is contacted, reported all at once.

Value checks are driven by `inventory_schema.yaml` (types, allowed algorithms, defaults); cross-site checks
(duplicates, overlaps, pool sizes, one responder) run on the parsed `Fleet`. Each problem names the file,
the host, the field and the fix, so one run of `ikefleet plan` lists everything to correct.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from ikefleet.problems import FLEET, Problem, suggest
from ikefleet.routeros.versions import FEATURES, has, since

if TYPE_CHECKING:
    from ikefleet.fleet import Fleet

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")  # \Z: `$` would also match before a final newline
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?\Z")
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK = re.compile(r"^(\d+):(\d\d):(\d\d)$")


@cache
def schema() -> dict[str, Any]:
    """The inventory schema (site keys, fleet settings) loaded once from the package data."""
    text = resources.files("ikefleet").joinpath("inventory_schema.yaml").read_text()
    data: dict[str, Any] = YAML(typ="safe").load(text)
    return data


def is_leaf(node: Mapping[str, Any]) -> bool:
    return "type" in node


def format_duration(seconds: int) -> str:
    """Seconds in the compact form RouterOS 6 export prints: 30m, 12h, 1d, 1h30m, 15s."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_duration(text: str) -> int:
    """RouterOS durations ('30m', '1d2h', '00:30:00', plain seconds '15') to seconds; ValueError if bad."""
    text = str(text).strip()
    if text.isdigit():
        return int(text)
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, secs = (int(g) for g in clock.groups())
        return hours * 3600 + minutes * 60 + secs
    match = _DURATION.match(text)
    if not text or not match:
        raise ValueError(text)
    weeks, days, hours, minutes, secs = (int(g or 0) for g in match.groups())
    return weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + secs


class ValueChecker:
    """Parses one leaf value by its schema type; problems go to `problems`, the parsed value is returned."""

    def __init__(self, source: str, host: str, problems: list[Problem]) -> None:
        self.source, self.host, self.problems = source, host, problems

    def fail(self, field: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.source, self.host, field, message, fix))

    def parse(self, field: str, value: Any, spec: Mapping[str, Any]) -> Any:
        kind = spec["type"]
        fix = spec.get("fix", "")
        try:
            return getattr(self, f"_{kind}")(field, value, spec, fix)
        except (ValueError, TypeError) as exc:
            detail = f" ({exc})" if str(exc) and str(exc) != str(value) else ""
            self.fail(field, f"bad {kind} {value!r}{detail}", fix or f"give a valid {kind}")
            return None

    def _name(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-'")
        return value

    def _version(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> str:
        if not _VERSION.match(str(value)):
            raise ValueError("expected like 6.49.2")
        return str(value)

    def _int(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not an integer")
        low, high = spec.get("min"), spec.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high if high is not None else 'any'}")
        return value

    def _choice(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> str:
        allowed = [str(a) for a in spec["allowed"]]
        if str(value) not in allowed:
            self.fail(field, f"unsupported value {value!r} (RouterOS 6.49 accepts: {', '.join(allowed)})",
                      f"use one of {', '.join(allowed)}")
            return str(spec["default"])
        return str(value)

    def _choices(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> tuple[str, ...]:
        values = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
        allowed = [str(a) for a in spec["allowed"]]
        bad = [str(v) for v in values if str(v) not in allowed]
        if bad or not values:
            listed = ", ".join(allowed)
            message = f"unsupported value {', '.join(bad) or 'empty list'} (RouterOS 6.49 accepts: {listed})"
            self.fail(field, message, f"use values from {listed}")
            return tuple(str(d) for d in spec["default"])
        return tuple(str(v) for v in values)

    def _duration(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> str:
        seconds = parse_duration(str(value))
        if seconds <= 0:
            raise ValueError("must be positive, like 30m or 12h")
        return format_duration(seconds)

    def _network(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> IPv4Network:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError("expected an IPv4 prefix like 10.0.0.0/22")
        return IPv4Network(value, strict=True)

    def _networks(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> tuple[IPv4Network, ...]:
        if isinstance(value, str) or not isinstance(value, list) or not value:
            raise ValueError("expected a non-empty list of prefixes")
        return tuple(self._network(field, v, spec, fix) for v in value)

    def _interface(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> IPv4Interface:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError("expected address/prefix-length like 203.0.113.1/24")
        iface = IPv4Interface(value)
        if iface.network.prefixlen < 31 and iface.ip in (iface.network.network_address,
                                                          iface.network.broadcast_address):
            raise ValueError("the network or broadcast address is not a host address")
        return iface

    def _address(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> IPv4Address:
        return IPv4Address(str(value))

    def _hosts(self, field: str, value: Any, spec: Mapping[str, Any], fix: str) -> tuple[str, ...]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise ValueError("expected a list of NTP server names or addresses")
        return tuple(values)


def check_section(data: Any, node: Mapping[str, Any], checker: ValueChecker, prefix: str = "",
                  extra_keys: Iterable[str] = ()) -> dict[str, Any]:
    """Parse a (nested) settings mapping against a schema node; fill defaults; flag unknown keys."""
    result: dict[str, Any] = {}
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        checker.fail(prefix.rstrip(".") or "data", "expected a mapping", "write key: value pairs")
        data = {}
    extra = set(extra_keys)
    for key in data:
        if key not in node and key not in extra:
            checker.fail(f"{prefix}{key}", "unknown key", suggest(str(key), [*node, *extra]))
    for key, spec in node.items():
        if is_leaf(spec):
            value = data.get(key, spec.get("default"))
            result[key] = None if value is None else checker.parse(f"{prefix}{key}", value, spec)
            if result[key] is None and "default" in spec and key in data:
                result[key] = checker.parse(f"{prefix}{key}", spec["default"], spec)
        else:
            result[key] = check_section(data.get(key), spec, checker, f"{prefix}{key}.")
    return result


def overlaps(named: list[tuple[str, str, IPv4Network]],
             shared: frozenset[str] = frozenset({"wan_address"})) -> list[tuple[int, int]]:
    """Index pairs (container, prefix) of overlapping prefixes, at most one per prefix: the nearest one
    containing it (or equal), skipping pairs whose two fields are both in `shared` (sites may share a WAN
    segment). Two prefixes overlap only when one contains the other, so one sorted sweep with a stack of
    the enclosing prefixes does it in n log n; every pair would be quadratic (5,000 sites on one WAN subnet:
    12.5 M pairs, 1 GB)."""
    spans = [(int(net.network_address), int(net.broadcast_address)) for _, _, net in named]
    order = sorted(range(len(named)), key=lambda i: (spans[i][0], -spans[i][1], i))
    pairs: list[tuple[int, int]] = []
    stack: list[tuple[int, int | None]] = []  # (prefix, nearest prefix at or below it outside `shared`)
    for i in order:
        start = spans[i][0]
        while stack and spans[stack[-1][0]][1] < start:
            stack.pop()
        own = named[i][1] not in shared
        if stack:
            partner = stack[-1][0] if own else stack[-1][1]
            if partner is not None:
                pairs.append((partner, i))
        stack.append((i, i if own else (stack[-1][1] if stack else None)))
    return pairs


def check_fleet(fleet: Fleet, sources: Mapping[str, str]) -> list[Problem]:
    """Cross-site checks on a parsed fleet: uniqueness, overlaps, pool capacity, OSPF export coverage."""
    problems: list[Problem] = []
    d = fleet.defaults
    defaults_src = sources.get(FLEET, "defaults.yaml")

    def add(host: str, field: str, message: str, fix: str) -> None:
        problems.append(Problem(sources.get(host, defaults_src), host, field, message, fix))

    certs = d.certificates
    if certs.renew_window_days >= certs.days_valid:
        add(FLEET, "certificates.renew_window_days",
            f"renewal window {certs.renew_window_days} days is not shorter than days_valid "
            f"{certs.days_valid}: every run would re-issue every certificate",
            f"make renew_window_days smaller than days_valid (e.g. {max(1, certs.days_valid // 10)})")

    seen_ids: dict[int, str] = {}
    for b in fleet.branches:
        assert b.branch_id is not None  # an initiator's branch_id is required (inventory_schema.yaml)
        if b.branch_id in seen_ids:
            message = f"duplicate branch_id {b.branch_id} (also used by {seen_ids[b.branch_id]})"
            add(b.name, "branch_id", message, "give each branch a unique branch_id")
        else:
            seen_ids[b.branch_id] = b.name

    seen_names: dict[str, str] = {}
    for site in fleet.sites:
        key = site.name.lower()
        if key in seen_names:
            add(site.name, "name", f"duplicate site name (RouterOS names are case-insensitive: "
                f"{seen_names[key]})", "rename one of the hosts")
        else:
            seen_names[key] = site.name

    for field, attr in (("wan_address", "wan_ip"), ("router_id", "effective_router_id")):
        seen: dict[str, str] = {}
        for site in fleet.sites:
            value = str(getattr(site, attr))
            if value in seen:
                add(site.name, field, f"duplicate {field} {value} (also used by {seen[value]})",
                    f"give each site its own {field}")
            else:
                seen[value] = site.name

    max_ipsec = d.pools.ipsec.num_addresses - 3  # network, hub, broadcast
    max_eoip = d.pools.eoip.num_addresses // 4
    for b in fleet.branches:
        assert b.branch_id is not None
        if b.branch_id > max_ipsec:
            add(b.name, "branch_id", f"branch_id {b.branch_id} does not fit the IPsec pool {d.pools.ipsec} "
                f"(room for ids 1..{max_ipsec})", "enlarge pools.ipsec in defaults.yaml or use a smaller id")
        if b.branch_id > max_eoip:
            add(b.name, "branch_id", f"branch_id {b.branch_id} does not fit the EoIP pool {d.pools.eoip} "
                f"(room for {max_eoip} /30s)", "enlarge pools.eoip in defaults.yaml or use a smaller id")

    named: list[tuple[str, str, IPv4Network]] = [
        (FLEET, "pools.ipsec", d.pools.ipsec),
        (FLEET, "pools.eoip", d.pools.eoip),
    ]
    for site in fleet.sites:
        named.extend((site.name, "lan_prefixes", p) for p in site.lan_prefixes)
        if site.wan_address.network.prefixlen < 32:
            named.append((site.name, "wan_address", site.wan_address.network))
    for i, j in overlaps(named):
        first, second = named[i], named[j]
        if first[1] == second[1] == "wan_address":
            continue  # sites may share an upstream segment (a lab); equal addresses are caught above
        blame = {"lan_prefixes": 2, "wan_address": 1}  # report on the LAN, then the WAN, pools last
        if blame.get(first[1], 0) > blame.get(second[1], 0):
            first, second = second, first
        host, field, net = second
        other = f"{first[1]} {first[2]}" if first[0] == FLEET else f"{first[0]} {first[1]} {first[2]}"
        add(host, field, f"{net} overlaps {other}", "use non-overlapping prefixes (LANs, pools and WANs)")

    for site in fleet.sites:
        for prefix in site.lan_prefixes:
            if not any(prefix.subnet_of(agg) for agg in d.ospf.export_prefixes):
                add(site.name, "lan_prefixes", f"{prefix} is outside ospf.export_prefixes "
                    f"({', '.join(map(str, d.ospf.export_prefixes))}) and would not be advertised",
                    "add a covering prefix to ospf.export_prefixes in defaults.yaml or renumber the LAN")
    problems.extend(version_problems(fleet, sources))
    return problems


# What each role's configuration needs of its RouterOS (ikefleet.routeros.versions.FEATURES keys).
ROLE_FEATURES: dict[str, tuple[str, ...]] = {"responder": ("mode-config-address",), "initiator": ()}


def version_problems(fleet: Fleet, sources: Mapping[str, str]) -> list[Problem]:
    """Sites whose inventory ros_version lacks a feature their role's configuration uses, with the reason."""
    problems = []
    for site in fleet.sites:
        if not site.ros_version:
            continue
        for name in ROLE_FEATURES.get(site.role, ()):
            if has(site.ros_version, name):
                continue
            feature = FEATURES[name]
            problems.append(Problem(
                sources.get(site.name, sources.get(FLEET, "defaults.yaml")), site.name, "ros_version",
                f"RouterOS {site.ros_version} cannot do {feature.what}: it exists from {since(name)} "
                f"({feature.source})",
                f"run RouterOS {since(name)} or later on this {site.role}, or correct ros_version",
            ))  # fmt: skip
    return problems


def parse_host_address(value: str) -> bool:
    """True when `value` is an IP address (as opposed to a DNS name)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def check_endpoints(fleet: Fleet, sources: Mapping[str, str]) -> list[Problem]:
    """Two hosts at one hostname:port would be one router driven as two sites (the second run rewrites the
    first's tunnel-id, router-id and OSPF networks). Host names compare as DNS does: case and a final dot
    ignored. Aliases that differ in spelling are the login's identity check's (connection.identity)."""
    problems: list[Problem] = []
    seen: dict[tuple[str, int], str] = {}
    for site in fleet.sites:
        key = (site.hostname.lower().rstrip("."), site.port)
        if key in seen:
            problems.append(Problem(
                sources.get(site.name, sources.get(FLEET, "hosts.yaml")), site.name, "hostname",
                f"{site.hostname}:{site.port} is also {seen[key]}'s: one router would be configured as two "
                "sites", f"give {site.name} its own router's hostname/port, or remove one of the two hosts"))
        else:
            seen[key] = site.name
    return problems
