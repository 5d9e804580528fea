"""verify's verdict on what a run read: the expected state in the dialect each router reports, with the
client certificate names the hub holds, checked by the engine. One function for the verify runbook, the
history processor and a user's own flow, so they cannot judge the same reads differently."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ikefleet import gc_policy
from ikefleet.fleet import Fleet, with_versions
from ikefleet.plan import Plan, resolve_clients

from .engine import CheckResult, Report, evaluate, layer_order
from .expected import Expected, expected_state, intended_config
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


class Foresight:
    """The expected state of `hosts` as the inventory and the plan have it, made in a thread while the
    routers are read (the run's main thread only waits then), a router at a time with the reading threads
    let in between (`time.sleep(0)`: run flat out it held the interpreter for whole switch intervals and
    slowed the reads). After the reads it is used only if they left its inputs as they were (every router
    runs the inventory's version, the hub holds the planned client certificate names), else the judge
    makes it again from what was read. Its first-use costs (templates compiled, checks.yaml) are paid
    there too. (Each router's config.drift worked out there as it was read cost more CPU than it saved.)"""

    def __init__(self, fleet: Fleet, plan: Plan, hosts: Iterable[str]) -> None:
        self.inputs = (fleet, plan, tuple(hosts))
        self.expected: Expected | None = None
        self.thread = threading.Thread(target=self._make, name="ikefleet-foresight", daemon=True)
        self.thread.start()

    def _make(self) -> None:
        fleet, plan, hosts = self.inputs
        try:
            made = expected_state(fleet, plan, [])
            for name in hosts:
                made.intended[name] = intended_config(fleet, plan, name)
                time.sleep(0)
            layer_order()
            self.expected = made
        except Exception:  # the judge makes it again in its own thread, and raises there
            self.expected = None

    def take(self, fleet: Fleet, plan: Plan, hosts: Iterable[str]) -> Expected | None:
        """The expected state made ahead if these are its inputs (once: a second judge makes its own)."""
        self.thread.join()
        expected, self.expected = self.expected, None
        if expected is None or self.inputs[0] is not fleet or set(self.inputs[2]) != set(hosts):
            return None
        return expected if self.inputs[1] == plan else None


def judge(fleet: Fleet, plan: Plan, states: Mapping[str, HostState],
          foresight: Foresight | None = None) -> Report:
    """Every check on every host read (or not) in `states`, in the dialect each router really runs (its
    reported version, not the inventory's), with a warning where the inventory's version is wrong.
    `foresight`: the expected state made while the routers were read, used if the reads match it."""
    running = with_versions(fleet, {h: s.ros_version for h, s in states.items() if s.ros_version})
    current = resolved(fleet, plan, states)
    expected = foresight.take(running, current, states) if foresight is not None else None
    with gc_policy.paused():
        if expected is None:
            expected = expected_state(running, current, list(states))
        report = evaluate(expected, dict(states))
    report.results.extend(
        CheckResult("host.ros_version", "RouterOS version as in the inventory", h, "warn", "minor",
                    observed=s.ros_version or "unknown", hint=w, layer="settings")
        for h, s in states.items() for w in s.warnings
    )
    return report
