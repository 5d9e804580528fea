"""verify's verdict on what a run read: the expected state in the dialect each router reports, with the
client certificate names the hub holds, checked by the engine. One function for the verify runbook, the
history processor and a user's own flow, so they cannot judge the same reads differently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ikefleet.fleet import Fleet, with_versions
from ikefleet.plan import Plan, resolve_clients

from .collector import settled
from .engine import CheckResult, Report, evaluate
from .expected import Expected, expected_state
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


@dataclass(frozen=True)
class Anticipated:
    """An expected state worked out while the run was still reading, with what it was worked out from (the
    fleet at the versions known then, the plan with the hub's client certificate names, the hosts): `judge`
    takes it only when the reads give the very same inputs, so it never judges other reads than its own."""

    fleet: Fleet
    plan: Plan
    hosts: tuple[str, ...]
    expected: Expected


def _inputs(fleet: Fleet, plan: Plan, states: Mapping[str, HostState]) -> tuple[Fleet, Plan]:
    """What the expected state is worked out from: the fleet at the versions the routers reported, the
    plan with the client certificate names the hub holds."""
    running = with_versions(fleet, {h: s.ros_version for h, s in states.items() if s.ros_version})
    return running, resolved(fleet, plan, states)


def anticipate(fleet: Fleet, plan: Plan, hosts: Sequence[str], hub: HostState) -> Anticipated:
    """The expected state of `hosts` from the hub's state alone (its certificates name the branches'
    client certificates; the branches at the inventory's versions until they are read)."""
    running, names = _inputs(fleet, plan, {hub.host: hub})
    return Anticipated(running, names, tuple(hosts), expected_state(running, names, list(hosts)))


def judge(fleet: Fleet, plan: Plan, states: Mapping[str, HostState], anticipated: Anticipated | None = None
          ) -> Report:
    """Every check on every host read (or not) in `states`, in the dialect each router really runs (its
    reported version, not the inventory's), with a warning where the inventory's version is wrong.
    `anticipated`: the expected state worked out during the run, used if its inputs are these reads'."""
    running, names = _inputs(fleet, plan, states)
    with settled():  # the verdict lives to the run's end: no young-generation pass over it afterwards
        if anticipated is not None and (anticipated.fleet, anticipated.plan, anticipated.hosts) == (
                running, names, tuple(states)):
            expected = anticipated.expected
        else:
            expected = expected_state(running, names, list(states))
        report = evaluate(expected, dict(states))
    report.results.extend(
        CheckResult("host.ros_version", "RouterOS version as in the inventory", h, "warn", "minor",
                    observed=s.ros_version or "unknown", hint=w, layer="settings")
        for h, s in states.items() for w in s.warnings
    )
    return report
