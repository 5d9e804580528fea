"""OSPF state items: interface entries (configured and dynamic), neighbours, BFD sessions, log lines."""

from __future__ import annotations

from datetime import datetime

from ..router import Router
from . import ospf
from .common import memory
from .items import BFD, BFD_V7, OSPF_INTERFACE, OSPF_NEIGHBOR, add, set_flags


def interfaces(router: Router, speaker: ospf.Speaker) -> None:
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
            item = add(router, OSPF_INTERFACE, values, "D" + ("" if iface.running else "I"))
            item.status["area"] = iface.area


def write(router: Router, speaker: ospf.Speaker, now: datetime, seen: set[str]) -> None:
    mem = memory(router)
    inst = ospf.instance(router)
    interfaces(router, speaker)
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
        add(router, OSPF_NEIGHBOR, values, "", session)
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
            if router.major_version >= 7:  # v7: /routing bfd session, the far end as remote-address
                values = {"remote-address": nb.address, "interface": nb.iface.name, "vrf": "main",
                          "state": nb.bfd, "state-changes": values["state-changes"], "uptime": "0s",
                          "multihop": "no", "desired-tx-interval": "200ms", "required-min-rx": "200ms",
                          "multiplier": "5", "hold-time": "1s", "packets-rx": "0", "packets-tx": "0"}
                add(router, BFD_V7, values, "U" if nb.bfd == "up" else "", bfd_session)
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
