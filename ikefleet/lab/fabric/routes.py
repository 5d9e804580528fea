"""`/ip route`: connected, static and OSPF routes of one router with RouterOS's best-route choice.

Built from the last recompute's snapshot (`Memory.ospf`): in the recompute for small labs, on the first
`/ip route` print after it for larger ones (`EAGER_ROUTES_LIMIT`).
"""

from __future__ import annotations

import ipaddress

from ikefleet.routeros.config import Item

from ..router import Router
from . import ospf
from .common import enabled, host, memory, number
from .items import ROUTE, add, set_flags


def _gateway_reachable(gateway: str, connected: list[tuple[str, ipaddress.IPv4Interface, bool]]) -> str:
    """The interface through which `gateway` (an address or an interface name) is reachable, or ""."""
    address = ospf.network(host(gateway)) if gateway[:1].isdigit() else None
    for iface, addr, up in connected:
        if up and (gateway == iface or (address is not None and address.subnet_of(addr.network))):
            return iface
    return ""


def _v7_connected(iface: str, addr: ipaddress.IPv4Interface) -> dict[str, str]:
    """A v7 connected route (helpmt-policyrouting "DAc"): no pref-src, no target-scope (the layout leaves
    it out of `c` rows), the router's own address as `local-address=IP%iface`."""
    return {"dst-address": str(addr.network), "gateway": iface, "immediate-gw": iface, "distance": "0",
            "scope": "10", "local-address": f"{addr.ip}%{iface}"}


def materialize(router: Router) -> None:
    mem = memory(router)
    if not mem.routes_stale or mem.ospf is None:
        return
    mem.routes_stale = False
    domain, addresses, running = mem.ospf
    items = router.config.items(ROUTE)
    items[:] = [i for i in items if not i.dynamic]
    connected = [(iface, addr, running.get(iface, True)) for iface, addr in addresses]
    candidates: list[tuple[ipaddress.IPv4Network, int, bool, Item | dict[str, str], str]] = []
    seen: set[ipaddress.IPv4Network] = set()
    v7 = router.major_version >= 7
    for iface, addr, up in connected:
        if addr.network in seen:
            continue
        seen.add(addr.network)
        values = _v7_connected(iface, addr) if v7 else {
            "dst-address": str(addr.network),
            "pref-src": str(addr.ip),
            "gateway": iface,
            "gateway-status": f"{iface} {'reachable' if up else 'unreachable'}",
            "distance": "0",
            "scope": "10",
        }
        candidates.append((addr.network, 0, up, values, "C"))
    for route in ospf.routes_for(domain, router.name):
        if v7:  # v7 names the interface an OSPF next hop is on: 172.16.1.103%ether3 (pt-lab-mtk1)
            hops = ",".join(f"{gw}%{iface}" for gw, iface in route.hops)
            values = {"dst-address": str(route.prefix), "gateway": hops, "immediate-gw": hops,
                      "distance": "110", "scope": "20", "target-scope": "10"}
        else:
            values = {
                "dst-address": str(route.prefix),
                "gateway": ",".join(gw for gw, _ in route.hops),
                "gateway-status": ",".join(f"{gw} reachable via  {iface}" for gw, iface in route.hops),
                "distance": "110",
                "scope": "20",
                "target-scope": "10",
                "ospf-metric": str(route.metric),
                "ospf-type": route.kind,
            }
        candidates.append((route.prefix, 110, True, values, "o"))
    for item in enabled(items):
        net = ospf.network(item.get("dst-address") or "0.0.0.0/0")
        gateway = item.get("gateway")
        via = _gateway_reachable(gateway, connected) if gateway else ""
        if gateway and v7:  # v7: the next hop and its interface (helpmt-policyrouting "172.16.1.1%ether8")
            item.status["immediate-gw"] = (gateway if gateway == via else f"{gateway}%{via}") if via else ""
        elif gateway:
            status = f"{gateway} reachable via  {via}" if via else f"{gateway} unreachable"
            item.status["gateway-status"] = status
        if net is not None:
            distance = number(ospf.value(item, ROUTE, "distance"), 1)
            candidates.append((net, distance, bool(via) or item.get("type") == "blackhole", item, "S"))
    best: dict[ipaddress.IPv4Network, int] = {}
    for index, (net, distance, usable, _, _) in enumerate(candidates):
        if usable and (net not in best or distance < candidates[best[net]][1]):
            best[net] = index
    dynamic: list[tuple[ipaddress.IPv4Network, int, str, dict[str, str]]] = []
    for index, (net, _, _, entry, kind) in enumerate(candidates):
        active = best.get(net) == index
        if isinstance(entry, Item):
            set_flags(entry, ROUTE, ("A" if active else "") + kind)
        else:
            dynamic.append((net, index, ("A" if active else "") + "D" + kind, entry))
    dynamic.sort(key=lambda d: (int(d[0].network_address), d[0].prefixlen, d[1]))
    for _, _, flags, values in dynamic:
        add(router, ROUTE, values, flags)
