"""OSPF state items: interface entries (configured and dynamic), neighbours, BFD sessions, log lines."""

from __future__ import annotations

from datetime import datetime

from ikefleet.routeros.config import Config, Item

from ..router import Router
from . import ospf
from .common import format_duration, memory, parse_duration
from .items import BFD, BFD_V7, OSPF_INTERFACE, OSPF_NEIGHBOR, add, set_flags
from .v7 import V6_TYPE, v6_view


def interfaces(router: Router, speaker: ospf.Speaker) -> None:
    """Status of the configured `/routing ospf interface` entries and the dynamic (D) ones."""
    if router.major_version >= 7:
        v7_interfaces(router, speaker)
        return
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
            item = add(router, OSPF_INTERFACE, values, "D" + ("" if iface.running else "I"))
            item.status["area"] = iface.area


V7_TYPE = {v6: v7 for v7, v6 in V6_TYPE.items()}


def v7_interfaces(router: Router, speaker: ospf.Speaker) -> None:
    """v7 `/routing ospf interface`: only dynamic rows, one per interface an interface-template matched
    (itmo-lab chr1 and harness-A1M captures): `address=IP%iface area=<name> state=... network-type=...`,
    `dr`/`bdr` (the other router's, as A1M shows) and `priority` only on links that elect a DR; `state` is
    `ptp`, `passive`, `dr`, `bdr`, `other` or `down`."""
    items = router.config.items(OSPF_INTERFACE)
    items.clear()
    view = v6_view(router)  # (worked out from the whole configuration: once here, not per interface)
    for iface in speaker.ifaces.values():
        kind = V7_TYPE.get(iface.network_type, iface.network_type)
        elected = kind in ("broadcast", "nbma")
        values = {"address": f"{iface.address.ip}%{iface.name}", "area": area_name(view, iface.area),
                  "state": _v7_state(speaker, iface, kind), "network-type": kind}
        if elected and values["state"] in ("dr", "bdr", "other"):
            own = str(iface.address.ip)
            nb = next((n for n in speaker.neighbors if n.iface is iface), None)
            if nb is not None and nb.dr != own and nb.dr != "0.0.0.0":
                values["dr"] = nb.dr
            if nb is not None and nb.bdr != own and nb.bdr != "0.0.0.0":
                values["bdr"] = nb.bdr
        values["cost"] = iface.get("cost")
        if elected:
            values["priority"] = iface.get("priority")
        values |= {name: iface.get(name) for name in ("use-bfd", "retransmit-interval", "transmit-delay",
                                                      "hello-interval", "dead-interval")}
        add(router, OSPF_INTERFACE, values, "D")


def _v7_state(speaker: ospf.Speaker, iface: ospf.Iface, kind: str) -> str:
    if not iface.running:
        return "down"
    if iface.passive:
        return "passive"
    if kind not in ("broadcast", "nbma"):
        return kind
    own = str(iface.address.ip)
    nb = next((n for n in speaker.neighbors if n.iface is iface), None)
    if nb is None or nb.dr == own:
        return "dr"  # alone on the segment it elects itself
    return "bdr" if nb.bdr == own else "other"


def v6_neighbor(view: Config, nb: ospf.Neighbor, instance: str) -> dict[str, str]:
    """v6 `/routing ospf neighbor`: the neighbour's interface, DR fields named `dr-address` and
    `backup-dr-address` (0.0.0.0 on point-to-point links)."""
    return {
        "instance": instance,
        "router-id": nb.router_id,
        "address": nb.address,
        "interface": nb.iface.name,
        "priority": nb.priority or "1",
        "dr-address": nb.dr,
        "backup-dr-address": nb.bdr,
        "state": nb.state,
        "state-changes": "",
        "ls-retransmits": "0",
        "ls-requests": "0",
        "db-summaries": "0",
        "adjacency": "",
    }


def v7_neighbor(view: Config, nb: ospf.Neighbor, instance: str) -> dict[str, str]:
    """v7 `/routing ospf neighbor` (v7__routing_ospf_neighbor_print captures): no interface; the area by
    name; `priority`, `dr`, `bdr` only where a DR is elected (broadcast: pt-lab-mtk2, mt-docs-vrf), absent on
    point-to-point links (itmo-lab captures); `timeout` counts down from the dead interval."""
    values = {"instance": instance, "area": area_name(view, nb.iface.area), "address": nb.address}
    elected = nb.iface.network_type == "broadcast"
    if elected:
        values["priority"] = nb.priority or "128"
    values["router-id"] = nb.router_id
    if elected:
        values |= {"dr": nb.dr, "bdr": nb.bdr}
    return values | {"state": nb.state, "state-changes": "", "adjacency": "", "timeout": ""}


BFD_FORBIDDEN = "BFD forbidden for destination address"  # help.mikrotik.com "BFD" capture's reason


def v7_bfd_session(nb: ospf.Neighbor, state_changes: str) -> dict[str, str]:
    """v7 `/routing bfd session` (help.mikrotik.com "BFD" capture): no `interface=`, the interface is part
    of the address (`remote-address=172.16.0.2%eoip-hub`, `@vrf` only outside main), the fields in the
    capture's order. `uptime`, `actual-tx-interval` and `hold-time` of an up session are placed by guess
    (the capture's sessions are down or inactive, which print none of them)."""
    remote = f"{nb.address}%{nb.iface.name}"
    if nb.bfd == "inactive":  # the capture's forbidden session: no state, zero timers
        return {"multihop": "no", "remote-address": remote, "local-address": "", "desired-tx-interval": "0ms",
                "required-min-rx": "0ms", "multiplier": "0"}
    up = nb.bfd == "up"
    values = {"multihop": "no", "remote-address": remote, "local-address": str(nb.iface.address.ip),
              "state": nb.bfd, "state-changes": state_changes}
    if up:
        values["uptime"] = "0s"
    values |= {"desired-tx-interval": "200ms"}
    if up:
        values["actual-tx-interval"] = "200ms"
    values |= {"required-min-rx": "200ms", "remote-min-rx": "200ms" if up else "1us", "multiplier": "5"}
    if up:
        values["hold-time"] = "1s"
    return values | {"packets-rx": "0", "packets-tx": "0"}


def area_name(view: Config, area_id: str) -> str:
    """The name of the area with this id in a router's v6 view (`v6_view`, worked out once by the caller;
    v7 prints neighbours' areas by name)."""
    for item in view.items(ospf.AREA):
        if not item.disabled and ospf.value(item, ospf.AREA, "area-id") == area_id:
            return item.get("name")
    return "backbone" if area_id == "0.0.0.0" else area_id


def timeout(item: Item, elapsed: float) -> None:
    """v7 `timeout`: the dead interval less the time since the last hello (hellos every hello-interval)."""
    hello, dead = int(item.private["hello"]), int(item.private["dead"])
    item.values["timeout"] = format_duration(dead - int(max(elapsed, 0)) % hello)


def write(router: Router, speaker: ospf.Speaker, now: datetime, seen: set[str]) -> None:
    mem = memory(router)
    view = v6_view(router)  # (once for the instance and every neighbour)
    inst = ospf.instance(view)
    instance = (inst.get("name") or "default") if inst else "default"
    interfaces(router, speaker)
    for nb in speaker.neighbors:
        session = f"ospf:{nb.iface.name}:{nb.router_id}:{nb.state}"
        mem.up(session, now, seen)
        since = mem.since.get(session, now)
        values = (v7_neighbor if router.major_version >= 7 else v6_neighbor)(view, nb, instance)
        values["state-changes"] = str(mem.state_changes.get(session, 1) + (4 if nb.state == "Full" else 1))
        values["adjacency"] = "0s"
        item = add(router, OSPF_NEIGHBOR, values, "", session)
        if router.major_version >= 7:
            item.private |= {name: str(max(int(parse_duration(nb.iface.get(f"{name}-interval"))), 1))
                             for name in ("hello", "dead")}
            timeout(item, (now - since).total_seconds())
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
            if router.major_version >= 7:
                session_values = v7_bfd_session(nb, values["state-changes"])
                flags = {"up": "U", "inactive": "I"}.get(nb.bfd, "")
                item = add(router, BFD_V7, session_values, flags, bfd_session)
                if nb.bfd == "inactive":
                    item.comment = BFD_FORBIDDEN
                continue
            add(router, BFD, values, "U" if nb.bfd == "up" else "", bfd_session)


OSPF_LOG = "OSPFv2 neighbor {rid}: state change from {old} to {new}"


def log_changes(router: Router, speaker: ospf.Speaker | None) -> None:
    """`route,ospf,info` lines when a neighbour reaches Full or is lost, as v6 logs them."""
    mem = memory(router)
    before = mem.ospf_states
    after = {nb.router_id: nb.state for nb in speaker.neighbors} if speaker else {}
    for rid, state in after.items():
        if state == "Full" and before.get(rid) != "Full":
            router.log("route,ospf,info", OSPF_LOG.format(rid=rid, old="Loading", new="Full"))
    for rid, state in before.items():
        if state == "Full" and after.get(rid) != "Full":
            router.log("route,ospf,info", OSPF_LOG.format(rid=rid, old="Full", new=after.get(rid, "Down")))
    mem.ospf_states = after
