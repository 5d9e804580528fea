"""RouterOS `/routing ospf` + `/routing filter` of one router -> one FRR configuration (zebra, ospfd, bfdd).
Pure. Linux interfaces in the namespace carry the RouterOS interface names, so names pass through.

Kept: router-id, networks and areas, point-to-point / passive / BFD interfaces with the BFD timers of their
`/routing bfd interface` entry, connected redistribution (metric type), `ospf-out` / `ospf-in` filter chains
of prefix matches. SPF/LSA throttles are lowered so the lab converges in about a second (RouterOS timing is
not what the lab tests). Anything else is refused. `delta` turns a change of configuration into the commands
that make it in place, as RouterOS changes one interface without resetting the others' adjacencies.
"""

from __future__ import annotations

import ipaddress

from ikefleet.routeros.config import Item

from ..fabric.common import enabled, parse_duration, value
from ..router import Router
from .errors import Untranslatable, refuse_v7

INSTANCE, AREA, NETWORK = "/routing ospf instance", "/routing ospf area", "/routing ospf network"
INTERFACE, FILTER, BFD = "/routing ospf interface", "/routing filter", "/routing bfd interface"
FILTER_FIELDS = {"chain", "action", "prefix", "prefix-length", "comment"}
CHAINS = ("ospf-out", "ospf-in")
NETWORK_TYPES = {"point-to-point": "point-to-point", "broadcast": "broadcast", "default": ""}
METRIC_TYPE = {"as-type-1": "1", "as-type-2": "2"}
# bfdd's ranges: transmit-interval and receive-interval in whole ms, detect-multiplier
BFD_RANGES = {"interval": (10, 60000), "min-rx": (10, 60000), "multiplier": (2, 255)}
THROTTLES = ("timers throttle lsa all 0", "timers lsa min-arrival 0", "timers throttle spf 0 50 500")


def _area_id(router: Router, name: str) -> str:
    for item in enabled(router.config.items(AREA)):
        if item.get("name") == name:
            return value(item, AREA, "area-id")
    return "0.0.0.0" if name == "backbone" else name


def _prefix_entry(router: Router, item: Item) -> str:
    """One RouterOS filter rule as a prefix-list entry (`permit 10.0.0.0/8 le 32`)."""
    extra = set(item.values) - FILTER_FIELDS
    if extra:
        field = sorted(extra)[0]
        raise Untranslatable(router.spec.name, f"{FILTER} {field}", item.get(field), "only prefix matches")
    action = item.get("action") or "accept"
    if action not in ("accept", "discard", "reject"):
        raise Untranslatable(router.spec.name, f"{FILTER} action", action, "only accept/discard/reject")
    verb = "permit" if action == "accept" else "deny"
    prefix = item.get("prefix")
    if not prefix:
        return f"{verb} any"
    net = ipaddress.ip_network(prefix, strict=False)
    low, _, high = (item.get("prefix-length") or str(net.prefixlen)).partition("-")
    lo, hi = int(low), int(high or low)
    if lo < net.prefixlen:
        raise Untranslatable(router.spec.name, f"{FILTER} prefix-length", f"{lo}-{hi}", "shorter than prefix")
    text = f"{verb} {net}"
    if lo > net.prefixlen:
        text += f" ge {lo}"
    if hi > net.prefixlen or lo > net.prefixlen:
        text += f" le {hi}"
    return text


def _filters(router: Router) -> tuple[list[str], dict[str, str]]:
    """Prefix lists and route maps (one per chain), and the chain -> route-map name of those present.
    `ospf-out` filters what `redistribute connected` exports; `ospf-in` what zebra installs from OSPF."""
    lists: dict[str, list[str]] = {}
    for item in enabled(router.config.items(FILTER)):
        chain = item.get("chain")
        if chain not in CHAINS:
            raise Untranslatable(router.spec.name, f"{FILTER} chain", chain, "only ospf-in/ospf-out chains")
        lists.setdefault(chain, []).append(_prefix_entry(router, item))
    lines = []
    for chain, entries in lists.items():
        for seq, entry in enumerate([*entries, "permit any"], start=1):
            lines.append(f"ip prefix-list {chain} seq {seq * 5} {entry}")
        lines += [f"route-map {chain} permit 10", f" match ip address prefix-list {chain}", "!"]
    return lines, {chain: chain for chain in lists}


def bfd_timers(router: Router, interface: str) -> tuple[int, int, int]:
    """The BFD timers RouterOS 6 runs on `interface`, as (interval ms, min-rx ms, multiplier): those of its
    own enabled `/routing bfd interface` entry, else of the `interface=all` one (the factory's default item,
    200ms, 200ms, 5, when a configuration leaves it out)."""
    items = router.config.items(BFD)
    item = next((i for i in items if i.get("interface") == interface and not i.disabled), None)
    item = item or next((i for i in items if i.get("interface") == "all"), Item(0, {"interface": "all"}))
    if item.disabled:
        raise Untranslatable(router.spec.name, f"{BFD} interface", interface, "no enabled entry covers it")
    timers = []
    for field, (low, high) in BFD_RANGES.items():
        text = value(item, BFD, field)
        number = float(text) if field == "multiplier" else parse_duration(text) * 1000
        if number != int(number) or not low <= number <= high:
            unit = "" if field == "multiplier" else " ms"
            raise Untranslatable(router.spec.name, f"{BFD} {field}", text, f"FRR takes {low}-{high}{unit}")
        timers.append(int(number))
    return timers[0], timers[1], timers[2]


def bfd_profile(timers: tuple[int, int, int]) -> str:
    """The bfdd profile of a set of timers: named by them, so interfaces with the same timers share one."""
    return "routeros-{}-{}-x{}".format(*timers)


def _interface(router: Router, item: Item) -> list[str]:
    """One configured `/routing ospf interface` entry. Timers, cost and priority are always written (RouterOS
    defaults included: FRR's differ, e.g. its cost comes from the link speed where RouterOS says 10)."""
    name = item.get("interface")
    if name == "all":
        raise Untranslatable(router.spec.name, f"{INTERFACE} interface", name, "FRR needs interface names")
    out = [f"interface {name}"]
    kind = value(item, INTERFACE, "network-type") or "default"
    if kind not in NETWORK_TYPES:
        raise Untranslatable(router.spec.name, f"{INTERFACE} network-type", kind, "not in FRR")
    for field, allowed in (("authentication", "none"), ("instance-id", "0")):
        if (value(item, INTERFACE, field) or allowed) != allowed:
            raise Untranslatable(router.spec.name, f"{INTERFACE} {field}", item.get(field), "not translated")
    if NETWORK_TYPES[kind]:
        out.append(f" ip ospf network {NETWORK_TYPES[kind]}")
    out.append(f" ip ospf cost {value(item, INTERFACE, 'cost') or '10'}")
    out.append(f" ip ospf priority {value(item, INTERFACE, 'priority') or '1'}")
    for field in ("hello-interval", "dead-interval", "retransmit-interval", "transmit-delay"):
        seconds = parse_duration(value(item, INTERFACE, field) or "")
        if seconds != int(seconds) or seconds < 1:
            raise Untranslatable(router.spec.name, f"{INTERFACE} {field}", item.get(field), "whole seconds")
        out.append(f" ip ospf {field} {int(seconds)}")
    if value(item, INTERFACE, "use-bfd") == "yes":
        out += [" ip ospf bfd", f" ip ospf bfd profile {bfd_profile(bfd_timers(router, name))}"]
    if value(item, INTERFACE, "passive") == "yes":
        out.append(" ip ospf passive")
    out.append("!")
    return out


def translate(router: Router) -> str:
    """frr.conf for `router`; empty when it runs no OSPF. Raises `Untranslatable`."""
    refuse_v7(router, router.spec.version)
    networks = enabled(router.config.items(NETWORK))
    if not networks:
        return ""
    inst = next((i for i in router.config.items(INSTANCE) if i.default or i.get("name") == "default"), None)
    out = ["frr defaults traditional", f"hostname {router.spec.name}", "log stdout warnings", "!"]
    prefix_lists, maps = _filters(router)
    out += prefix_lists
    out += _profiles(router)  # before the interfaces naming them
    for item in enabled(router.config.items(INTERFACE)):
        if not item.dynamic:  # the fabric's computed (D) entries are state, not configuration
            out += _interface(router, item)
    out.append("router ospf")
    if inst is not None and value(inst, INSTANCE, "router-id") not in ("", "0.0.0.0"):
        out.append(f" ospf router-id {value(inst, INSTANCE, 'router-id')}")
    redistribute = value(inst, INSTANCE, "redistribute-connected") if inst is not None else "no"
    if redistribute not in ("no", "", *METRIC_TYPE):
        raise Untranslatable(
            router.spec.name, f"{INSTANCE} redistribute-connected", redistribute, "not in FRR"
        )
    if redistribute in METRIC_TYPE:
        line = f" redistribute connected metric-type {METRIC_TYPE[redistribute]}"
        out.append(line + (f" route-map {maps['ospf-out']}" if "ospf-out" in maps else ""))
    for item in networks:
        out.append(f" network {item.get('network')} area {_area_id(router, value(item, NETWORK, 'area'))}")
    out += [f" {t}" for t in THROTTLES]
    out.append("!")
    if "ospf-in" in maps:
        out += [f"ip protocol ospf route-map {maps['ospf-in']}", "!"]
    return "\n".join([*out, ""])


def _profiles(router: Router) -> list[str]:
    """One bfdd profile per set of timers the BFD interfaces use (FRR's own default is 300 ms x 3)."""
    timers = sorted({
        bfd_timers(router, item.get("interface")) for item in enabled(router.config.items(INTERFACE))
        if not item.dynamic and value(item, INTERFACE, "use-bfd") == "yes"
    })
    out = ["bfd"]
    for interval, min_rx, multiplier in timers:
        out += [f" profile {bfd_profile((interval, min_rx, multiplier))}", f"  transmit-interval {interval}",
                f"  receive-interval {min_rx}", f"  detect-multiplier {multiplier}", " !"]
    return [*out, "!"]


def _entries(text: str) -> list[tuple[tuple[str, ...], str]]:
    """frr.conf text -> (context, command) in order: the context is the lines above by indentation
    (`interface X`, `router ospf`, `bfd` + ` profile P`); `!` lines only close."""
    out: list[tuple[tuple[str, ...], str]] = []
    stack: list[str] = []
    for line in text.splitlines():
        command = line.strip()
        if not command or command == "!":
            continue
        depth = len(line) - len(line.lstrip(" "))
        stack = stack[:depth]
        out.append((tuple(stack), command))
        stack.append(command)
    return out


def delta(old: str, new: str) -> str:
    """The commands (a vtysh -f file) that take FRR running `old` to `new` without a restart: what `old`
    had and `new` lacks is undone, last first (`no ...`; a removed interface line by line, any other removed
    block at once), then what `new` adds is entered in order, each under its context and back out (`exit`)."""
    before, after = _entries(old), _entries(new)
    kept, had = set(after), set(before)
    opens = {context[:n] for context, _ in before + after for n in range(1, len(context) + 1)}  # blocks
    gone = [(context, command) for context, command in before if (context, command) not in kept]
    dropped = {(*c, x) for c, x in gone if (*c, x) in opens and not x.startswith("interface ")}
    out: list[str] = []
    for context, command in reversed(gone):
        path = (*context, command)
        if any(path[:n] in dropped for n in range(1, len(path))):
            continue  # under a block undone at once
        if path in opens and path not in dropped:
            continue  # an interface stays in the kernel: only its lines go
        out += [*context, f"no {command}", *["exit"] * len(context)]
    for context, command in after:
        if (context, command) not in had:
            inside = len(context) + ((*context, command) in opens)
            out += [*context, command, *["exit"] * inside]
    return "\n".join([*out, ""]) if out else ""
