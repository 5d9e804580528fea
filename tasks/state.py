"""Is a branch's tunnel up? The rollout's convergence gate asks this after each wave."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nornir.core.task import Result, Task

from ikefleet.parsers.ipsec import parse_active_peers
from ikefleet.parsers.ospf import parse_ospf_neighbor

from .device import drop
from .version import read_with_version

# The gate polls every branch of a wave until it is up: both reads go on one console line (one round trip;
# a console that refuses it: each on its own, see read_with_version).
READS = {
    "active_peers": "/ip ipsec active-peers print detail without-paging",
    "ospf_neighbor": "/routing ospf neighbor print detail without-paging",
}


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
    try:
        raw = read_with_version(task, READS)
    except Exception:  # a read that timed out leaves the session out of step: the next poll reconnects
        drop(task)
        raise
    return Result(host=task.host, result=read_state(raw, hub_wan=hub_wan, hub_router_id=hub_router_id))


def read_state(raw: Mapping[str, str], *, hub_wan: str, hub_router_id: str) -> TunnelState:
    """TunnelState from the replies to READS (section -> text)."""
    peers = parse_active_peers(raw["active_peers"])
    ike = any(
        p.get("state") == "established" and str(p.get("remote_address", "")).split(":")[0] == hub_wan
        for p in peers
    )
    neighbours = parse_ospf_neighbor(raw["ospf_neighbor"])
    full = any(n.get("router_id") == hub_router_id and n.get("state") == "Full" for n in neighbours)
    return TunnelState(ike, full)
