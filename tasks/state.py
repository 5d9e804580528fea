"""Is a branch's tunnel up? The rollout's convergence gate asks this after each wave."""

from __future__ import annotations

from dataclasses import dataclass

from nornir.core.task import Result, Task

from ikefleet.parsers.ipsec import parse_active_peers
from ikefleet.parsers.ospf import parse_ospf_neighbor

from .device import device


@dataclass(frozen=True)
class TunnelState:
    ike_established: bool
    ospf_full: bool

    @property
    def up(self) -> bool:
        return self.ike_established and self.ospf_full

    def describe(self) -> str:
        if self.up:
            return "IKE established, OSPF Full"
        missing = [
            w
            for w, ok in (("IKE not established", self.ike_established), ("OSPF not Full", self.ospf_full))
            if not ok
        ]
        return ", ".join(missing)


def tunnel_state(task: Task, *, hub_wan: str, hub_router_id: str) -> Result:
    """The branch's view: an established IKE peer at the hub's WAN address and a Full neighbour."""
    dev = device(task)
    peers = parse_active_peers(dev.send("/ip ipsec active-peers print detail without-paging"))
    ike = any(
        p.get("state") == "established" and str(p.get("remote_address", "")).split(":")[0] == hub_wan
        for p in peers
    )
    neighbours = parse_ospf_neighbor(dev.send("/routing ospf neighbor print detail without-paging"))
    full = any(n.get("router_id") == hub_router_id and n.get("state") == "Full" for n in neighbours)
    state = TunnelState(ike, full)
    return Result(host=task.host, result=state, failed=False)
