"""Does a branch pass what verify checks? The rollout's gate asks this after each wave: verify's own reads
(tasks/gather.py) and its own checks (ikefleet/verify/checks.yaml), so a rollout that passes its gate is
followed by a clean verify of those branches (a BFD session that comes up after OSPF Full is waited for)."""

from __future__ import annotations

from collections.abc import Mapping

from nornir.core.task import Result, Task

from ikefleet.verify.engine import Report
from ikefleet.verify.engine import Result as Check

from .device import drop
from .gather import host_state, read_raw

BLOCKING = ("fail", "error")  # verify's statuses that make a run non-compliant (warn and skip do not)


def branch_state(task: Task, *, routes: Mapping[str, str]) -> Result:
    """The branch's HostState, read as verify reads it (`routes`: host -> the route read's `where`)."""
    try:
        raw, known = read_raw(task, routes.get(task.host.name, "ospf"))
    except Exception:  # a read that timed out leaves the session out of step: the next poll reconnects
        drop(task)
        raise
    return Result(host=task.host, result=host_state(task.host.name, raw, known))


def blocking(report: Report, host: str) -> list[Check]:
    """The results on `host` that would make verify fail (none: the host passes the gate)."""
    return [r for r in report.results if r.host == host and r.status in BLOCKING]


def describe(checks: list[Check]) -> str:
    """`bfd.neighbor init; routes.learned ...`: what verify would report, in a line."""
    return "; ".join(f"{c.check} {c.observed}" for c in checks) or "passes"
