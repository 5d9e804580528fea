"""The lab fabric: operational state of all routers computed from their configurations and faults.

`recompute(routers, now)` replaces every dynamic item (active peers, installed SAs, generated policies,
mode-config addresses, OSPF neighbours and dynamic interfaces, BFD sessions, connected and OSPF routes) and
the `status` of configuration items (interface `running`, EoIP `actual-mtu`/`mac-address`, route flags).
`refresh(router, now)` advances the time-driven fields (uptime, SA lifetimes and counters, adjacency).

Flags: every computed item carries `status[<flag field>] = "yes"|"no"` for the flags of its menu's legend
(`running`, `responder`, `hw-aead`, `ESP`, `active`, `connect`, `ospf`, `inactive`, `up`, ...; the D flag is
the item's `dynamic` attribute) and the letters as `status["flags"]` (`R`, `HE`, `DA`, `ADC`, `ADo`, `U`). The
session an item belongs to is kept in `private["session"]` (never printed), so `refresh` can age it; SA
keys (`enc-key`, `auth-key`) live in `private` as well and never reach output.
"""

from __future__ import annotations

from datetime import datetime

from ..router import Router
from . import eoip, ike, ipsec_state, ospf, ospf_state, routes, timers
from .common import Memory, enabled, generate_mac, host, interface_address, memory
from .items import ADDRESS, INTERFACE_MENUS, OSPF_INTERFACE, ROUTE, add, clear_dynamic

__all__ = ["generate_mac", "local_update", "recompute", "refresh"]

# Routers. Larger labs (every bench size) build /ip route on its first print after a recompute, not in it.
EAGER_ROUTES_LIMIT = 25


def wan_up(router: Router, interface: str) -> bool:
    """Does the WAN carry traffic: no `wan_down` fault, the WAN address configured and enabled on an
    interface that is not disabled?"""
    if router.faults.wan_down:
        return False
    wan = host(router.spec.wan_address)
    if not any(host(i.get("address")) == wan for i in enabled(router.config.items(ADDRESS))):
        return False
    for path in INTERFACE_MENUS:
        for item in router.config.items(path):
            if item.get("name") == interface and item.disabled:
                return False
    return True


def wan_interface(router: Router) -> str:
    """The interface holding the router's WAN address (`ether1` when the address is not configured)."""
    wan = host(router.spec.wan_address)
    for item in enabled(router.config.items(ADDRESS)):
        if host(item.get("address")) == wan:
            return item.get("interface")
    return "ether1"


def _log_failure(router: Router, mem: Memory, key: str, message: str | None) -> None:
    """Log a failure once, when it starts or changes (RouterOS logs each attempt; one line is enough)."""
    last = mem.failures
    if message and last.get(key) != message:
        router.log("ipsec,error", message)
    if message:
        last[key] = message
    else:
        last.pop(key, None)


def _set_peer_status(router: Router) -> None:
    """`/ip ipsec peer` shows R on the peers that only answer (passive=yes)."""
    for item in router.config.items(ike.PEER):
        if not item.dynamic:
            item.status["responder"] = "yes" if ike.value(item, ike.PEER, "passive") == "yes" else "no"


def _set_interface_status(router: Router, running: dict[str, bool], ends: dict[str, eoip.End]) -> None:
    for path in INTERFACE_MENUS:
        for item in router.config.items(path):
            if item.dynamic:
                continue
            name = item.get("name")
            up = not item.disabled and running.get(name, True)
            item.status["running"] = "yes" if up else "no"
            end = ends.get(name)
            if path == eoip.PATH:
                item.status["actual-mtu"] = str(end.actual_mtu if end else eoip.actual_mtu(router, item))
                item.status["mac-address"] = end.mac if end else eoip.mac_of(router, item)
                # v6 ru-notes and v7 mt-docs-eoip-AP captures: "l2mtu=65535", "loop-protect-status=off"
                item.status["l2mtu"] = "65535"
                item.status["loop-protect-status"] = "on" if item.get("loop-protect") == "on" else "off"


def local_update(router: Router) -> None:
    """Router-local state RouterOS shows at once, before the (debounced) lab-wide recompute runs: the
    dynamic `/routing ospf interface` entries, so a pasted `add copy-from=[find where interface=X]` finds
    the entry the line before created. The fabric registers it as a listener of every router it sees."""
    mem = memory(router)
    if not router.config.items(OSPF_INTERFACE) and not ospf.v6_view(router).items(ospf.NETWORK):
        return
    running = mem.ospf[2] if mem.ospf else {}
    own = [
        (item.get("interface"), addr)
        for item in enabled(router.config.items(ADDRESS))
        if (addr := interface_address(item.get("address"))) is not None
    ]
    speaker = ospf.speaker(router, {router.name: own}, running, redistribute=False)
    if speaker is None:
        router.config.items(OSPF_INTERFACE)[:] = [
            i for i in router.config.items(OSPF_INTERFACE) if not i.dynamic
        ]
    else:
        ospf_state.interfaces(router, speaker)


def recompute(routers: list[Router], now: datetime) -> None:
    """Recompute every router's dynamic state from all configurations and faults (lab time `now`)."""
    wans = {r.name: wan_interface(r) for r in routers}
    up = {r.name: wan_up(r, wans[r.name]) for r in routers}
    tunnels = ike.negotiate(routers, now, wans, up)
    seen: dict[str, set[str]] = {r.name: set() for r in routers}
    for router in routers:
        clear_dynamic(router)
        ipsec_state.reset_configured(router)
    failures: dict[str, dict[str, str]] = {r.name: {} for r in routers}
    for t in tunnels:
        if t.error and t.error[1]:
            failures[t.error[0]][t.key] = t.error[1]
        elif t.phase2 and any(p.algorithms is None for p in t.phase2):
            failures[t.responder.name][t.key] = ike.LOG["no-proposal"]
            t.notice = ike.LOG["notify-no-proposal"].format(remote=t.r_addr)
        if t.notice:
            failures[t.initiator.name][f"{t.key}:notify"] = t.notice
    for router in routers:
        mem = memory(router)
        for key in set(mem.failures) | set(failures[router.name]):
            _log_failure(router, mem, key, failures[router.name].get(key))
    # Addresses: configured ones plus the mode-config address each initiator receives.
    addresses: ospf.Addresses = {}
    owners: dict[str, Router] = {}
    for router in routers:
        own = addresses.setdefault(router.name, [])
        for item in enabled(router.config.items(ADDRESS)):
            addr = interface_address(item.get("address"))
            if addr is not None:
                own.append((item.get("interface"), addr))
    protected: eoip.Protected = {}
    for t in tunnels:
        if not t.established:
            continue
        addr = interface_address(t.mode_address) if t.mode_address else None
        if addr is not None:
            wan = wans[t.initiator.name]
            values = {"address": str(addr), "network": str(addr.network.network_address), "interface": wan}
            values["actual-interface"] = wan
            add(t.initiator, ADDRESS, values, "D")
            addresses[t.initiator.name].append((wan, addr))
        for name, paths in ipsec_state.write(t, now, seen).items():
            protected.setdefault(name, []).extend(paths)
    for router in routers:
        for _, addr in addresses[router.name]:
            owners.setdefault(str(addr.ip), router)
    ends = eoip.pair(routers, owners, protected, up)
    running: dict[str, dict[str, bool]] = {}
    by_router: dict[str, dict[str, eoip.End]] = {}
    for router in routers:
        running[router.name] = {wans[router.name]: up[router.name]}
        for item in router.config.items(eoip.PATH):
            running[router.name][item.get("name")] = False
    for end in ends:
        running[end.router.name][end.name] = end.running
        by_router.setdefault(end.router.name, {})[end.name] = end
    domain = ospf.build(routers, addresses, running, ends)
    for router in routers:
        _set_interface_status(router, running[router.name], by_router.get(router.name, {}))
        _set_peer_status(router)
        speaker = domain.speakers.get(router.name)
        if speaker is not None:
            ospf_state.write(router, speaker, now, seen[router.name])
        ospf_state.log_changes(router, speaker)
        mem = memory(router)
        if local_update not in router.listeners:
            router.listeners.insert(0, local_update)
        mem.forget_except(seen[router.name])
        mem.ospf = (domain, addresses[router.name], running[router.name])
        mem.routes_stale = True
        if len(routers) <= EAGER_ROUTES_LIMIT:
            routes.materialize(router)
        timers.age(router, now)


# --- time-driven fields -----------------------------------------------------------------------------


def refresh(router: Router, now: datetime, path: str | None = None) -> None:
    """Bring `path` (the menu about to be read; None: all of them) up to date: uptimes, SA lifetimes and
    counters, adjacency and BFD uptime to lab time `now`, the routing table to the last recompute. Only a
    route read pays for SPF (a branch's table holds every other branch's LAN), and only a read of the
    timed menus ages the hub's thousands of sessions."""
    if path is None or path == ROUTE:
        routes.materialize(router)
    if path is None or path in timers.AGED:
        timers.age(router, now, path)
