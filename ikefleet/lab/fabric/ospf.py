"""OSPFv2 in the RouterOS v6 dialect: interfaces, adjacencies over EoIP, BFD, SPF and routing filters.

`build()` computes what every router's OSPF sees now (interfaces, neighbours, the shared `Domain`);
routes are computed per router on demand by `routes_for()` (Dijkstra over the domain graph), so a hub with
a thousand branches recomputes in linear time and only the routers that print routes pay for SPF.
"""

from __future__ import annotations

import heapq
import ipaddress
from dataclasses import dataclass, field
from functools import cached_property

from ikefleet.routeros.config import Config, Item

from ..router import Router
from .common import enabled, network, number, parse_duration, value
from .eoip import End
from .v7 import bfd_forbidden, v6_view

INSTANCE, NETWORK, AREA = "/routing ospf instance", "/routing ospf network", "/routing ospf area"
INTERFACE, FILTER = "/routing ospf interface", "/routing filter"
# The v6 fields of a dynamic /routing ospf interface entry, in `print detail` order.
DYNAMIC_FIELDS = (
    "interface",
    "cost",
    "priority",
    "authentication",
    "authentication-key",
    "authentication-key-id",
    "network-type",
    "instance-id",
    "retransmit-interval",
    "transmit-delay",
    "hello-interval",
    "dead-interval",
    "use-bfd",
)
TYPE_ORDER = {"intra-area": 0, "inter-area": 1, "external-type-1": 2, "external-type-2": 3}


@dataclass
class Iface:
    """An interface OSPF runs on (covered by a `/routing ospf network`)."""

    name: str
    address: ipaddress.IPv4Interface
    area: str
    settings: Item  # the static entry, or a synthetic dynamic one
    dynamic: bool
    running: bool

    def get(self, name: str) -> str:
        return value(self.settings, INTERFACE, name)

    @property
    def cost(self) -> int:
        return number(self.get("cost"), 10)

    @property
    def network_type(self) -> str:
        kind = self.get("network-type")
        return "broadcast" if kind == "default" else kind

    @property
    def passive(self) -> bool:
        return self.get("passive") == "yes"


@dataclass
class Neighbor:
    iface: Iface
    router: Router  # the neighbour
    router_id: str
    address: str
    priority: str
    state: str
    dr: str = "0.0.0.0"
    bdr: str = "0.0.0.0"
    bfd: str = ""  # "" no BFD session, "up" / "down" / "inactive" (v7: forbidden by its configuration)


@dataclass
class Speaker:
    """One router's OSPF process."""

    router: Router
    router_id: str
    ifaces: dict[str, Iface] = field(default_factory=dict)
    neighbors: list[Neighbor] = field(default_factory=list)
    stubs: list[tuple[ipaddress.IPv4Network, int]] = field(default_factory=list)
    externals: list[tuple[ipaddress.IPv4Network, int, str]] = field(default_factory=list)

    @cached_property
    def advertised(self) -> list[tuple[tuple[int, int], ipaddress.IPv4Network, int, str]]:
        """(key, prefix, cost or metric, kind) of every prefix this router originates, read once per SPF
        of every other router: `key` hashes and sorts like the prefix, at a fraction of its cost."""
        out = [(prefix_key(p), p, cost, "intra-area") for p, cost in self.stubs]
        return out + [(prefix_key(p), p, metric, kind) for p, metric, kind in self.externals]


def prefix_key(prefix: ipaddress.IPv4Network) -> tuple[int, int]:
    """Orders like IPv4Network (address, then mask length) and hashes in C."""
    return int(prefix.network_address), prefix.prefixlen


@dataclass
class Domain:
    speakers: dict[str, Speaker] = field(default_factory=dict)

    @cached_property
    def full(self) -> set[tuple[str, str]]:
        """(router, neighbour) pairs in state Full as seen from the first router."""
        return {
            (name, nb.router.name)
            for name, sp in self.speakers.items()
            for nb in sp.neighbors
            if nb.state == "Full"
        }


def instance(view: Config) -> Item | None:
    """The OSPF instance in a router's v6 view (`v6_view`, worked out once by the caller)."""
    items = enabled(view.items(INSTANCE))
    return next((i for i in items if i.get("name") in ("default", "")), items[0] if items else None)


def area_id(view: Config, name: str) -> str:
    """The id of the area of that name in a router's v6 view (`v6_view`, worked out once by the caller)."""
    for item in enabled(view.items(AREA)):
        if item.get("name") == name:
            return value(item, AREA, "area-id")
    return "0.0.0.0" if name == "backbone" else name


# --- routing filters --------------------------------------------------------------------------------


def _in_range(lengths: str, prefix: ipaddress.IPv4Network) -> bool:
    """`prefix-length=30` or `16-32`."""
    low, _, high = lengths.partition("-")
    return number(low, -1) <= prefix.prefixlen <= number(high or low, -1)


def _rule_matches(rule: Item, prefix: ipaddress.IPv4Network) -> bool:
    if rule.get("prefix"):
        base = network(rule.get("prefix"))
        if base is None or not prefix.subnet_of(base):
            return False
        lengths = rule.get("prefix-length")
        if lengths:
            return _in_range(lengths, prefix)
        return prefix.prefixlen == base.prefixlen  # without prefix-length: that exact prefix only
    if rule.get("prefix-length"):
        return _in_range(rule.get("prefix-length"), prefix)
    return True


def filter_accepts(
    router: Router, chain: str, prefix: ipaddress.IPv4Network, depth: int = 0, rules: list[Item] | None = None
) -> bool | None:
    """Run `chain` like RouterOS v6: first matching accept/discard/reject wins, jump/return, fall through.

    Returns True (accept), False (discard or reject) or None (chain ended without a verdict). `rules`: the
    router's enabled `/routing filter` rules, when the caller runs many prefixes through them.
    """
    if depth > 16:
        return None
    if rules is None:
        rules = enabled(v6_view(router).items(FILTER))
    for rule in rules:
        if rule.get("chain") != chain or not _rule_matches(rule, prefix):
            continue
        action = value(rule, FILTER, "action")
        if action == "accept":
            return True
        if action in ("discard", "reject"):
            return False
        if action == "return":
            return None
        if action == "jump":
            verdict = filter_accepts(router, rule.get("jump-target"), prefix, depth + 1, rules)
            if verdict is not None:
                return verdict
    return None


def accepted(
    router: Router, chain: str, prefix: ipaddress.IPv4Network, rules: list[Item] | None = None
) -> bool:
    return filter_accepts(router, chain, prefix, rules=rules) is not False


# --- interfaces and adjacencies ----------------------------------------------------------------------


Addresses = dict[str, list[tuple[str, ipaddress.IPv4Interface]]]  # router -> [(interface, address)]


def speaker(
    router: Router, addresses: Addresses, running: dict[str, bool], redistribute: bool = True
) -> Speaker | None:
    """The router's OSPF process as far as its own configuration decides (no neighbours yet)."""
    view = v6_view(router)  # (on v7 worked out from the whole configuration: once here, not per network)
    inst = instance(view)
    if inst is None:
        return None
    networks = [
        (net, area_id(view, value(n, NETWORK, "area")))
        for n in enabled(view.items(NETWORK))
        if (net := network(n.get("network"))) is not None
    ]
    static = {i.get("interface"): i for i in enabled(view.items(INTERFACE)) if not i.dynamic}
    own = addresses.get(router.name, [])
    rid = value(inst, INSTANCE, "router-id")
    if rid in ("", "0.0.0.0"):
        rid = str(min((a.ip for _, a in own), default=ipaddress.IPv4Address("0.0.0.0")))
    sp = Speaker(router, rid)
    for name, addr in own:
        area = next((a for net, a in networks if addr.ip in net), None)
        if area is None or name in sp.ifaces:
            continue
        settings = static.get(name)
        dynamic = settings is None
        if settings is None:
            settings = Item(0, {"interface": name, "network-type": "broadcast"}, dynamic=True)
        sp.ifaces[name] = Iface(name, addr, area, settings, dynamic, running.get(name, True))
    for iface in sp.ifaces.values():
        if iface.running:
            sp.stubs.append((iface.address.network, iface.cost))
    mode = value(inst, INSTANCE, "redistribute-connected")
    if redistribute and mode != "no":
        kind = "external-type-1" if mode == "as-type-1" else "external-type-2"
        metric = number(value(inst, INSTANCE, "metric-connected"), 20)
        out = value(inst, INSTANCE, "out-filter")
        seen: set[ipaddress.IPv4Network] = set()
        for name, addr in own:
            net = addr.network
            if running.get(name, True) and net not in seen and accepted(router, out, net):
                seen.add(net)
                sp.externals.append((net, metric, kind))
    return sp


def _adjacency(a: Speaker, ia: Iface, b: Speaker, ib: Iface, mtu_a: int, mtu_b: int) -> str | None:
    """The state `a` shows for neighbour `b` over this link; None when `a` does not see `b` at all."""
    if ia.passive or ib.passive or not (ia.running and ib.running):
        return None
    if ia.area != ib.area:
        return None
    for name in ("hello-interval", "dead-interval"):
        if parse_duration(ia.get(name)) != parse_duration(ib.get(name)):
            return None
    if (ia.get("authentication"), ia.get("authentication-key")) != (
        ib.get("authentication"),
        ib.get("authentication-key"),
    ):
        return None
    if ia.network_type != ib.network_type:
        return "Init"  # simplification: hellos are heard but the link types never agree on adjacency
    if ia.network_type == "broadcast" and ia.address.network != ib.address.network:
        return None
    if mtu_a != mtu_b:
        # The side with the smaller MTU rejects the other's DBD packets and stays in ExStart.
        return "ExStart" if mtu_a < mtu_b else "Exchange"
    return "Full"


def _rid(text: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return 0


def build(
    routers: list[Router], addresses: Addresses, running: dict[str, dict[str, bool]], ends: list[End]
) -> Domain:
    domain = Domain()
    for router in routers:
        found = speaker(router, addresses, running.get(router.name, {}))
        if found is not None:
            domain.speakers[router.name] = found
    for end in ends:
        peer = end.peer
        if peer is None or not end.works or not peer.works:
            continue
        a, b = domain.speakers.get(end.router.name), domain.speakers.get(peer.router.name)
        if a is None or b is None:
            continue
        ia, ib = a.ifaces.get(end.name), b.ifaces.get(peer.name)
        if ia is None or ib is None:
            continue
        state = _adjacency(a, ia, b, ib, end.actual_mtu, peer.actual_mtu)
        if state is None:
            continue
        nb = Neighbor(ia, b.router, b.router_id, str(ib.address.ip), ib.get("priority"), state)
        if ia.network_type == "broadcast":
            ranked = sorted(
                [
                    (number(ia.get("priority"), 1), _rid(a.router_id), str(ia.address.ip)),
                    (number(ib.get("priority"), 1), _rid(b.router_id), str(ib.address.ip)),
                ],
                reverse=True,
            )
            nb.dr, nb.bdr = ranked[0][2], ranked[1][2]
        if ia.get("use-bfd") == "yes":
            both = ib.get("use-bfd") == "yes" and not bfd_forbidden(b.router, ib.name)
            lost = a.router.faults.bfd_drop or b.router.faults.bfd_drop  # BFD control packets dropped
            nb.bfd = "up" if both and state == "Full" and not lost else "down"
            if bfd_forbidden(a.router, ia.name):
                nb.bfd = "inactive"
        a.neighbors.append(nb)
    return domain


# --- SPF ---------------------------------------------------------------------------------------------


@dataclass
class OspfRoute:
    prefix: ipaddress.IPv4Network
    metric: int
    kind: str
    hops: list[tuple[str, str]]  # (gateway address, interface)


def routes_for(domain: Domain, name: str) -> list[OspfRoute]:
    """Routes router `name` installs from OSPF: Dijkstra, best type then metric, ECMP, in-filter."""
    source = domain.speakers.get(name)
    if source is None:
        return []
    dist: dict[str, int] = {name: 0}
    hops: dict[str, set[tuple[str, str]]] = {name: set()}
    heap: list[tuple[int, str]] = [(0, name)]
    done: set[str] = set()
    while heap:
        d, current = heapq.heappop(heap)
        if current in done:
            continue
        done.add(current)
        for nb in domain.speakers[current].neighbors:
            if nb.state != "Full" or nb.router.name not in domain.speakers:
                continue
            if (nb.router.name, current) not in domain.full:
                continue
            cost = d + nb.iface.cost
            first = {(nb.address, nb.iface.name)} if current == name else hops[current]
            other = nb.router.name
            if cost < dist.get(other, 1 << 30):
                dist[other], hops[other] = cost, set(first)
                heapq.heappush(heap, (cost, other))
            elif cost == dist.get(other) and other not in done:
                hops[other] |= first
    # Best per prefix: the lowest (type, metric); equal ones add their next hops (ECMP). Every router's
    # table holds every branch's LANs, so this loop runs fleet-squared times over a lab: keep it lean.
    own = {prefix_key(net) for net, _ in source.stubs}
    best: dict[tuple[int, int], tuple[tuple[int, int], ipaddress.IPv4Network, str, set[tuple[str, str]]]] = {}
    for other, d in dist.items():
        if other == name:
            continue
        via = hops[other]
        for key, prefix, cost, kind in domain.speakers[other].advertised:
            if key in own:
                continue
            rank = (TYPE_ORDER[kind], cost if kind == "external-type-2" else d + cost)
            current = best.get(key)
            if current is None or rank < current[0]:
                best[key] = (rank, prefix, kind, via)
            elif rank == current[0]:
                best[key] = (rank, prefix, kind, current[3] | via)
    view = v6_view(source.router)
    inst = instance(view)
    chain = value(inst, INSTANCE, "in-filter") if inst else "ospf-in"
    rules = enabled(view.items(FILTER))
    return [
        OspfRoute(prefix, rank[1], kind, sorted(via))
        for _, (rank, prefix, kind, via) in sorted(best.items())
        if accepted(source.router, chain, prefix, rules)
    ]
