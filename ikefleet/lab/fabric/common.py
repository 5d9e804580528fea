"""Shared helpers of the fabric: field defaults, RouterOS durations and dates, addresses, memory.

Config items only store what was set; the defaults RouterOS 6.49 applies to the rest come from the menu
schema (`ikefleet/routeros/menus/v6`) or, for fields it lacks, `defaults.yaml`: `value(item, path, field)`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import load_schema

from ..router import Router

_HERE = Path(__file__).parent
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


@cache
def data(name: str) -> dict[str, Any]:
    """A YAML table shipped beside this module (`defaults.yaml`, `hardware.yaml`)."""
    return YAML(typ="safe").load((_HERE / name).read_text())


@cache
def _schema_default(path: str, name: str) -> str | None:
    schema = load_schema(6)
    if not schema.has_menu(path):
        return None
    found = schema.menu(path).fields.get(name)
    return found.default if found is not None else None


def value(item: Item, path: str, name: str) -> str:
    """The item's value of `name`, or the default: the menu schema's, else `defaults.yaml`'s."""
    if name in item.values:
        return item.values[name]
    default = _schema_default(path, name)
    if default is not None:
        return default
    return str(data("defaults.yaml").get(path, {}).get(name, ""))


def words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def enabled(items: list[Item]) -> list[Item]:
    return [item for item in items if not item.disabled]


def number(text: str, fallback: int) -> int:
    """An integer field's value; `fallback` when it is unset or not a number (never raises)."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return fallback


def parse_duration(text: str) -> float:
    """`00:30:00`, `12:00:00`, `1d 00:00:00`, `30m`, `8h10s`, `0.2sec`, `15` (seconds) -> seconds."""
    text = text.strip().replace("sec", "s")
    total = 0.0
    if ":" in text:
        head, _, clock = text.rpartition(" ")
        parts = [float(p) for p in clock.split(":")]
        while len(parts) < 3:
            parts.insert(0, 0.0)
        total += parts[0] * 3600 + parts[1] * 60 + parts[2]
        text = head
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return total + float(text)
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)", text):
        total += float(number) * _UNITS[unit]
    return total


def format_duration(seconds: float) -> str:
    """RouterOS print form: `6h24m8s`, `1d2h`, `30m`, `5w3d22h25m43s`, `0s`."""
    left = int(seconds)
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        count, left = divmod(left, int(_UNITS[unit]))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def format_date(moment: datetime) -> str:
    """v6 console date-time: `nov/27/2026 00:10:00`."""
    moment = moment.astimezone(UTC)
    return f"{_MONTHS[moment.month - 1]}/{moment.day:02d}/{moment.year} {moment:%H:%M:%S}"


def host(address: str) -> str:
    """`203.0.113.1/24` -> `203.0.113.1`."""
    return address.split("/")[0].strip()


@lru_cache(maxsize=262144)
def interface_address(address: str) -> ipaddress.IPv4Interface | None:
    try:
        return ipaddress.IPv4Interface(address.strip() if "/" in address else f"{address.strip()}/32")
    except ValueError:
        return None


@lru_cache(maxsize=262144)
def network(prefix: str) -> ipaddress.IPv4Network | None:
    try:
        text = prefix.strip() if "/" in prefix else f"{prefix.strip()}/32"
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return None


def generate_mac(router_name: str, interface_name: str) -> str:
    """A stable locally administered MAC for a new EoIP interface (`02:xx:xx:xx:xx:xx`)."""
    digest = hashlib.sha256(f"{router_name}/{interface_name}".encode()).digest()
    return ":".join(["02", *(f"{b:02X}" for b in digest[:5])])


def token(*parts: object, size: int = 4) -> int:
    """A stable pseudo-random integer (SPIs, counters) derived from `parts`."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:size], "big")


@dataclass
class Memory:
    """What the fabric remembers about a router between recomputes: when each session came up.

    Keys are stable descriptions of a session (tunnel, SA pair, OSPF or BFD neighbour); a session that
    disappears is forgotten, so it restarts with a fresh uptime when it comes back.
    """

    since: dict[str, datetime] = field(default_factory=dict)
    # The last recompute's OSPF snapshot (domain, own addresses, interface running map) that routes are
    # built from, and whether /ip route still has to be rebuilt from it.
    ospf: Any = None
    routes_stale: bool = False
    state_changes: dict[str, int] = field(default_factory=dict)
    next_id: int = 0  # last id handed to a dynamic item (offset by items.DYNAMIC_IDS)
    failures: dict[str, str] = field(default_factory=dict)  # session -> logged failure message
    ospf_states: dict[str, str] = field(default_factory=dict)  # neighbour router-id -> state

    def up(self, key: str, now: datetime, seen: set[str]) -> datetime:
        seen.add(key)
        if key not in self.since:
            self.since[key] = now
            self.state_changes[key] = self.state_changes.get(key, 0) + 1
        return self.since[key]

    def forget_except(self, seen: set[str]) -> None:
        for key in [k for k in self.since if k not in seen]:
            del self.since[key]


def memory(router: Router) -> Memory:
    mem = router.__dict__.get("_fabric_memory")
    if mem is None:
        mem = router.__dict__["_fabric_memory"] = Memory()
    return mem


def clock(router: Router, now: datetime) -> datetime:
    """The router's clock at lab time `now` (the clock-offset fault shifts it)."""
    return now + timedelta(seconds=router.faults.clock_offset_s)
