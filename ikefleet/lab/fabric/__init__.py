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

import ipaddress
from datetime import datetime, timedelta
from functools import cache

from ikefleet.routeros.config import Item

from ..router import Router
from . import eoip, ike, ospf
from .common import (
    Memory,
    clock,
    data,
    enabled,
    format_date,
    format_duration,
    generate_mac,
    host,
    interface_address,
    memory,
    number,
    token,
)

__all__ = ["generate_mac", "recompute", "refresh"]

ACTIVE_PEERS, INSTALLED_SA = "/ip ipsec active-peers", "/ip ipsec installed-sa"
POLICY, ADDRESS, ROUTE = "/ip ipsec policy", "/ip address", "/ip route"
OSPF_NEIGHBOR, OSPF_INTERFACE = "/routing ospf neighbor", "/routing ospf interface"
BFD = "/routing bfd neighbor"
INTERFACE_MENUS = ("/interface", "/interface ethernet", "/interface bridge", "/interface eoip")
EAGER_ROUTES_LIMIT = 200  # larger labs build /ip route on refresh (first print) instead of on recompute
DYNAMIC_IDS = 1 << 24  # ids of computed items start above any configuration's ids
SA_SOFT = 0.8  # RouterOS rekeys an SA at 80% of its lifetime (add-lifetime=soft/hard)
SA_BYTES_PER_S = 96  # EoIP keepalives + OSPF hellos + BFD over an idle tunnel, per direction


def wan_interface(router: Router) -> str:
    """The interface holding the router's WAN address (`ether1` when the address is not configured)."""
    wan = host(router.spec.wan_address)
    for item in enabled(router.config.items(ADDRESS)):
        if host(item.get("address")) == wan:
            return item.get("interface")
    return "ether1"


# Print-legend letters -> the flag's field name in the menu schema (the engine shows a flag whose field is
# "yes"); `status["flags"]` keeps the letters too.
FLAG_FIELDS = {
    ACTIVE_PEERS: {"R": "responder", "N": "natt-peer"},
    INSTALLED_SA: {"H": "hw-aead", "A": "AH", "E": "ESP"},
    POLICY: {"A": "active", "I": "invalid"},
    ROUTE: {"A": "active", "C": "connect", "S": "static", "o": "ospf"},
    OSPF_INTERFACE: {"I": "inactive", "P": "passive"},
    BFD: {"U": "up"},
}


def set_flags(item: Item, path: str, flags: str) -> None:
    """Record print flags on `item.status`: the letters and one yes/no field per flag of the menu."""
    item.status["flags"] = flags
    for letter, name in FLAG_FIELDS.get(path, {}).items():
        if name == "passive" and not item.dynamic:
            continue  # a configured field, not status
        item.status[name] = "yes" if letter in flags else "no"


def _add(router: Router, path: str, values: dict[str, str], flags: str, session: str = "") -> Item:
    """Append a dynamic item. Its id comes from the fabric's own range, so computed state never moves the
    configuration's `next_id` (which is persisted)."""
    mem = memory(router)
    mem.next_id += 1
    item = Item(id=DYNAMIC_IDS + mem.next_id, values=values, dynamic=True)
    router.config.items(path).append(item)
    set_flags(item, path, flags)
    if session:
        item.private["session"] = session
    return item


def _log_failure(router: Router, mem: Memory, key: str, message: str | None) -> None:
    """Log a failure once, when it starts or changes (RouterOS logs each attempt; one line is enough)."""
    last = mem.__dict__.setdefault("failures", {})
    if message and last.get(key) != message:
        router.log("ipsec,error", message)
    if message:
        last[key] = message
    else:
        last.pop(key, None)


def _ipsec_state(t: ike.Tunnel, now: datetime, seen: dict[str, set[str]]) -> dict[str, list[tuple[str, str]]]:
    """Active peers, generated policies and SA pairs of one tunnel; returns the protected inner paths."""
    paths: dict[str, list[tuple[str, str]]] = {}
    i, r = t.initiator, t.responder
    ph2_ok = [p for p in t.phase2 if p.algorithms is not None]
    sides = ((i, "initiator", t.i_addr, t.r_addr, t.r_id), (r, "responder", t.r_addr, t.i_addr, t.i_id))
    for router, side, local, remote, rid in sides:
        mem = memory(router)
        session = f"{t.key}:peer"
        mem.up(session, now, seen[router.name])
        values = {"id": rid, "local-address": local, "remote-address": remote}
        values |= {"state": "established", "side": side}
        if side == "responder" and t.mode_address:
            values["dynamic-address"] = host(t.mode_address)
        values |= {"uptime": "0s", "ph2-total": str(len(ph2_ok))}
        _add(router, ACTIVE_PEERS, values, "R" if side == "responder" else "", session)
        peer_name = (t.i_peer if side == "initiator" else t.r_peer).get("name")  # type: ignore[union-attr]
        for p in t.phase2:
            src, dst = (p.src, p.dst) if side == "initiator" else (p.dst, p.src)
            _add(
                router,
                POLICY,
                {
                    "peer": peer_name,
                    "tunnel": "yes",
                    "src-address": src,
                    "src-port": "any",
                    "dst-address": dst,
                    "dst-port": "any",
                    "protocol": p.protocol,
                    "action": "encrypt",
                    "level": p.level,
                    "ipsec-protocols": "esp",
                    "sa-src-address": local,
                    "sa-dst-address": remote,
                    "proposal": p.i_proposal if side == "initiator" else p.r_proposal,
                    "ph2-count": "1" if p.algorithms else "0",
                    "ph2-state": "established" if p.algorithms else "no-phase2",
                },
                "DA" if p.algorithms else "D",
            )
            if p.algorithms is None:
                continue
            paths.setdefault(router.name, []).append((src, dst))
            for sa_src, sa_dst in ((remote, local), (local, remote)):
                _add_sa(router, t, p, sa_src, sa_dst, now, seen)
    return paths


def _add_sa(
    router: Router, t: ike.Tunnel, p: ike.Phase2, src: str, dst: str, now: datetime, seen: dict[str, set[str]]
) -> None:
    algorithms = dict(p.algorithms or {})
    lifetime = int(algorithms.pop("lifetime"))
    algorithms.pop("pfs-group", None)
    session = f"{t.key}:sa:{p.src}>{p.dst}:{src}>{dst}"
    memory(router).up(session, now, seen[router.name])
    enc = algorithms["enc-algorithm"]
    table = _accelerated(router.spec.model)
    hw = algorithms.get("auth-algorithm", "") in table.get(enc, ())
    values = {"spi": "0x0", "src-address": src, "dst-address": dst, "state": "mature", **algorithms}
    values |= {"addtime": "", "expires-in": "", "add-lifetime": ""}
    values |= {"current-bytes": "0", "current-packets": "0", "replay": "128"}
    item = _add(router, INSTALLED_SA, values, ("H" if hw else "") + "E", session)
    item.private["lifetime"] = str(lifetime)
    item.private["seed"] = f"{t.key}:{src}>{dst}"


@cache
def _accelerated(model: str) -> dict[str, tuple[str, ...]]:
    """encryption -> hash algorithms the model's IPsec hardware handles (`hardware.yaml`)."""
    table = data("hardware.yaml")
    prefix = max((k for k in table if model.startswith(k)), key=len, default=None)
    return {k: tuple(str(x) for x in v) for k, v in (table[prefix] or {}).items()} if prefix else {}


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


def _ospf_interfaces(router: Router, speaker: ospf.Speaker) -> None:
    """Status of the configured `/routing ospf interface` entries and the dynamic (D) ones."""
    items = router.config.items(OSPF_INTERFACE)
    items[:] = [i for i in items if not i.dynamic]
    for item in items:
        iface = speaker.ifaces.get(item.get("interface"))
        active = iface is not None and iface.running and not item.disabled
        flags = ("" if active else "I") + ("P" if item.get("passive") == "yes" else "")
        set_flags(item, OSPF_INTERFACE, flags)
        if iface is not None:
            item.status["area"] = iface.area
    for iface in speaker.ifaces.values():
        if iface.dynamic:
            values = {name: ospf.value(iface.settings, ospf.INTERFACE, name) for name in ospf.DYNAMIC_FIELDS}
            item = _add(router, OSPF_INTERFACE, values, "D" + ("" if iface.running else "I"))
            item.status["area"] = iface.area


def local_update(router: Router) -> None:
    """Router-local state RouterOS shows at once, before the (debounced) lab-wide recompute runs: the
    dynamic `/routing ospf interface` entries, so a pasted `add copy-from=[find where interface=X]` finds
    the entry the line before created. The fabric registers it as a listener of every router it sees."""
    mem = memory(router)
    running = mem.ospf[2] if mem.ospf else {}
    own = [
        (item.get("interface"), addr)
        for item in enabled(router.config.items(ADDRESS))
        if (addr := interface_address(item.get("address"))) is not None
    ]
    speaker = ospf.speaker(router, {router.name: own}, running)
    if speaker is None:
        router.config.items(OSPF_INTERFACE)[:] = [
            i for i in router.config.items(OSPF_INTERFACE) if not i.dynamic
        ]
    else:
        _ospf_interfaces(router, speaker)


def _ospf_state(router: Router, speaker: ospf.Speaker, now: datetime, seen: set[str]) -> None:
    mem = memory(router)
    inst = ospf.instance(router)
    _ospf_interfaces(router, speaker)
    for nb in speaker.neighbors:
        session = f"ospf:{nb.iface.name}:{nb.router_id}:{nb.state}"
        mem.up(session, now, seen)
        values = {
            "instance": inst.get("name") or "default" if inst else "default",
            "router-id": nb.router_id,
            "address": nb.address,
            "interface": nb.iface.name,
            "priority": nb.priority or "1",
            "dr-address": nb.dr,
            "backup-dr-address": nb.bdr,
            "state": nb.state,
            "state-changes": str(mem.state_changes.get(session, 1) + (4 if nb.state == "Full" else 1)),
            "ls-retransmits": "0",
            "ls-requests": "0",
            "db-summaries": "0",
            "adjacency": "0s",
        }
        _add(router, OSPF_NEIGHBOR, values, "", session)
        if nb.bfd:
            bfd_session = f"bfd:{nb.iface.name}:{nb.address}:{nb.bfd}"
            mem.up(bfd_session, now, seen)
            values = {
                "state": nb.bfd,
                "address": nb.address,
                "interface": nb.iface.name,
                "protocols": "ospf",
                "multihop": "no",
                "state-changes": "1" if nb.bfd == "up" else "0",
                "uptime": "0s",
                "desired-tx-interval": "0.2sec",
                "actual-tx-interval": "0.2sec",
                "required-min-rx": "0.2sec",
                "remote-min-rx": "0.2sec" if nb.bfd == "up" else "0sec",
                "multiplier": "5",
                "hold-time": "1sec",
                "packets-rx": "0",
                "packets-tx": "0",
            }
            _add(router, BFD, values, "U" if nb.bfd == "up" else "", bfd_session)


OSPF_LOG = "OSPFv2 neighbor {rid}: state change from {old} to {new}"


def _log_ospf_changes(router: Router, speaker: ospf.Speaker | None) -> None:
    """`route,ospf,info` lines when a neighbour reaches Full or is lost, as v6 logs them."""
    mem = memory(router)
    before: dict[str, str] = mem.__dict__.setdefault("ospf_states", {})
    after = {nb.router_id: nb.state for nb in speaker.neighbors} if speaker else {}
    for rid, state in after.items():
        if state == "Full" and before.get(rid) != "Full":
            router.log("route,ospf,info", OSPF_LOG.format(rid=rid, old="Loading", new="Full"))
    for rid, state in before.items():
        if state == "Full" and after.get(rid) != "Full":
            router.log("route,ospf,info", OSPF_LOG.format(rid=rid, old="Full", new=after.get(rid, "Down")))
    mem.__dict__["ospf_states"] = after


def _clear_dynamic(router: Router) -> None:
    for path, items in router.config.menus.items():
        if any(i.dynamic for i in items):
            router.config.menus[path] = [i for i in items if not i.dynamic]


def recompute(routers: list[Router], now: datetime) -> None:
    """Recompute every router's dynamic state from all configurations and faults (lab time `now`)."""
    wans = {r.name: wan_interface(r) for r in routers}
    tunnels = ike.negotiate(routers, now, wans)
    seen: dict[str, set[str]] = {r.name: set() for r in routers}
    for router in routers:
        _clear_dynamic(router)
    failures: dict[str, dict[str, str]] = {r.name: {} for r in routers}
    for t in tunnels:
        if t.error and t.error[1]:
            failures[t.error[0]][t.key] = t.error[1]
        elif t.phase2 and any(p.algorithms is None for p in t.phase2):
            failures[t.responder.name][t.key] = ike.LOG["no-proposal"]
    for router in routers:
        mem = memory(router)
        for key in set(mem.__dict__.get("failures", {})) | set(failures[router.name]):
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
            wan = wan_interface(t.initiator)
            values = {"address": str(addr), "network": str(addr.network.network_address), "interface": wan}
            values["actual-interface"] = wan
            _add(t.initiator, ADDRESS, values, "D")
            addresses[t.initiator.name].append((wan, addr))
        for name, paths in _ipsec_state(t, now, seen).items():
            protected.setdefault(name, []).extend(paths)
    for router in routers:
        for _, addr in addresses[router.name]:
            owners.setdefault(str(addr.ip), router)
    ends = eoip.pair(routers, owners, protected)
    running: dict[str, dict[str, bool]] = {}
    by_router: dict[str, dict[str, eoip.End]] = {}
    for router in routers:
        running[router.name] = {wan_interface(router): not router.faults.wan_down}
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
            _ospf_state(router, speaker, now, seen[router.name])
        _log_ospf_changes(router, speaker)
        mem = memory(router)
        if local_update not in router.listeners:
            router.listeners.insert(0, local_update)
        mem.forget_except(seen[router.name])
        mem.ospf = (domain, addresses[router.name], running[router.name])
        mem.routes_stale = True
        if len(routers) <= EAGER_ROUTES_LIMIT:
            _materialize_routes(router)
        _age(router, now)


# --- routes -----------------------------------------------------------------------------------------


def _gateway_reachable(gateway: str, connected: list[tuple[str, ipaddress.IPv4Interface, bool]]) -> str:
    """The interface through which `gateway` (an address or an interface name) is reachable, or ""."""
    address = ospf.network(host(gateway)) if gateway[:1].isdigit() else None
    for iface, addr, up in connected:
        if up and (gateway == iface or (address is not None and address.subnet_of(addr.network))):
            return iface
    return ""


def _materialize_routes(router: Router) -> None:
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
    for iface, addr, up in connected:
        if addr.network in seen:
            continue
        seen.add(addr.network)
        values = {
            "dst-address": str(addr.network),
            "pref-src": str(addr.ip),
            "gateway": iface,
            "gateway-status": f"{iface} {'reachable' if up else 'unreachable'}",
            "distance": "0",
            "scope": "10",
        }
        candidates.append((addr.network, 0, up, values, "C"))
    for route in ospf.routes_for(domain, router.name):
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
        if gateway:
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
        _add(router, ROUTE, values, flags)


# --- time-driven fields -----------------------------------------------------------------------------


def refresh(router: Router, now: datetime) -> None:
    """Bring uptimes, SA lifetimes/counters, adjacency and BFD uptime to lab time `now`."""
    _materialize_routes(router)
    _age(router, now)


def _age(router: Router, now: datetime) -> None:
    mem = memory(router)
    for item in router.config.items(ACTIVE_PEERS):
        since = mem.since.get(item.private.get("session", ""))
        if since is not None:
            item.values["uptime"] = format_duration((now - since).total_seconds())
    for item in router.config.items(INSTALLED_SA):
        since = mem.since.get(item.private.get("session", ""))
        if since is None:
            continue
        lifetime = int(item.private["lifetime"])
        soft = max(1, int(lifetime * SA_SOFT))
        elapsed = max(0, int((now - since).total_seconds()))
        generation, age = divmod(elapsed, soft)
        seed = item.private["seed"]
        spi = token(seed, generation)
        added = clock(router, since) + timedelta(seconds=generation * soft)
        packets = age * SA_BYTES_PER_S // 96
        item.values |= {
            "spi": f"0x{spi:X}",
            "addtime": format_date(added),
            "expires-in": format_duration(lifetime - age),
            "add-lifetime": f"{format_duration(soft)}/{format_duration(lifetime)}",
            "current-bytes": str(age * SA_BYTES_PER_S),
            "current-packets": str(packets),
        }
        key_size = number(item.values.get("enc-key-size", "0"), 0)
        item.private["enc-key"] = f"{token(seed, generation, 'enc', size=32):064x}"[: max(key_size // 4, 0)]
        if "auth-algorithm" in item.values:
            item.private["auth-key"] = f"{token(seed, generation, 'auth', size=32):064x}"
    for item in router.config.items(OSPF_NEIGHBOR):
        since = mem.since.get(item.private.get("session", ""))
        if since is not None:
            item.values["adjacency"] = format_duration((now - since).total_seconds())
    for item in router.config.items(BFD):
        since = mem.since.get(item.private.get("session", ""))
        if since is not None and item.values.get("state") == "up":
            up = (now - since).total_seconds()
            item.values["uptime"] = format_duration(up)
            item.values["packets-rx"] = str(int(up / 0.2))
            item.values["packets-tx"] = str(int(up / 0.2) + 1)
