"""Is a branch up? The rollout's gate asks whether it passes what verify checks, after each wave: verify's
own reads (tasks/gather.py) and its own checks (ikefleet/verify/checks.yaml), so a rollout that passes its
gate is followed by a clean verify of those branches (a BFD session that comes up after OSPF Full is waited
for). `ikefleet certs` asks the narrower question of a certificate hand-over: is its tunnel up (IKE
established with the hub, OSPF Full)?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nornir.core.task import Result, Task

from ikefleet.parsers.ipsec import parse_active_peers
from ikefleet.parsers.ospf import parse_ospf_neighbor
from ikefleet.processors.events import BranchState
from ikefleet.verify.engine import CheckResult, Report

from .device import drop
from .gather import host_state, read_raw
from .version import read_with_version

BLOCKING = ("fail", "error")  # verify's statuses that make a run non-compliant (warn and skip do not)

# The tunnel check's two reads go on one console line (one round trip; a console that refuses it: each on
# its own, see read_with_version).
READS = {
    "active_peers": "/ip ipsec active-peers print detail without-paging",
    "ospf_neighbor": "/routing ospf neighbor print detail without-paging",
}


def branch_state(task: Task, *, routes: Mapping[str, str]) -> Result:
    """The branch's HostState, read as verify reads it (`routes`: host -> the route read's `where`)."""
    try:
        raw, known = read_raw(task, routes.get(task.host.name, "ospf"))
    except Exception:  # a read that timed out leaves the session out of step: the next poll reconnects
        drop(task)
        raise
    return Result(host=task.host, result=host_state(task.host.name, raw, known))


def blocking(report: Report, host: str) -> list[CheckResult]:
    """The results on `host` that would make verify fail (none: the host passes the gate)."""
    return [r for r in report.results if r.host == host and r.status in BLOCKING]


# what the gate shows of a waiting branch: verify's layers (checks.yaml) under the operator's names
GATE_LAYERS = (("IKE", "ike"), ("SAs", "sa"), ("OSPF", "ospf"), ("BFD", "bfd"))


def gate_view(report: Report, host: str) -> BranchState:
    """`host` as the gate sees it, per layer: "ok" (its checks pass), "fail"/"error" (the worst of them),
    "-" (no check of that layer ran on it); `passes`: nothing blocking on the host."""
    layers = []
    for label, layer in GATE_LAYERS:
        statuses = {r.status for r in report.results if r.host == host and r.layer == layer}
        word = next((s for s in ("error", "fail") if s in statuses), "ok" if statuses else "-")
        layers.append((label, word))
    return BranchState(tuple(layers), passes=not blocking(report, host))


def describe(checks: list[CheckResult]) -> str:
    """`bfd.neighbor init; routes.learned ...`: what verify would report, in a line."""
    return "; ".join(f"{c.check} {c.observed}" for c in checks) or "passes"


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
