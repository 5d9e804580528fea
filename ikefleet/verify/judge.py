"""verify's verdict on what a run read: the expected state in the dialect each router reports, with the
client certificate names the hub holds, checked by the engine. One function for the verify runbook, the
history processor and a user's own flow, so they cannot judge the same reads differently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ikefleet.fleet import Fleet, with_versions
from ikefleet.plan import Plan, resolve_clients

from .collector import settled
from .engine import CheckResult, Report, evaluate
from .expected import expected_state
from .gather import HostState


def states_of(result: Mapping[str, Sequence[Any]], hosts: Iterable[str]) -> dict[str, HostState]:
    """Each host's HostState from a gather run (Nornir's AggregatedResult); a host whose task gave none (it
    raised, or never ran) is one that could not be read, so its checks are errors, never passes."""
    states: dict[str, HostState] = {}
    for name in hosts:
        multi = result.get(name)
        value = multi[0].result if multi is not None and len(multi) else None
        states[name] = value if isinstance(value, HostState) else HostState(name, error="no result")
    return states


def resolved(fleet: Fleet, plan: Plan, states: Mapping[str, HostState]) -> Plan:
    """The plan with the client certificate names the hub holds now (a renewal gives a new name); the
    branches' own lists when the hub was not read."""
    hub = states.get(fleet.hub.name)
    sources = [hub] if hub is not None and not hub.error else list(states.values())
    names = [c.get("name", "") for s in sources if not s.error for c in s.get("certificate")]
    return resolve_clients(plan, names)


def judge(fleet: Fleet, plan: Plan, states: Mapping[str, HostState]) -> Report:
    """Every check on every host read (or not) in `states`, in the dialect each router really runs (its
    reported version, not the inventory's), with a warning where the inventory's version is wrong."""
    running = with_versions(fleet, {h: s.ros_version for h, s in states.items() if s.ros_version})
    with settled():  # the verdict lives to the run's end: no young-generation pass over it afterwards
        report = evaluate(expected_state(running, resolved(fleet, plan, states), list(states)), dict(states))
    report.results.extend(
        CheckResult("host.ros_version", "RouterOS version as in the inventory", h, "warn", "minor",
                    observed=s.ros_version or "unknown", hint=w, layer="settings")
        for h, s in states.items() for w in s.warnings
    )
    return report
