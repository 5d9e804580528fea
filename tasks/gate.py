"""The convergence wait (a rollout wave's gate): poll the branches with verify's own reads and checks until
each passes them or the time is up, so a wave that passes is followed by a clean verify of its branches.

A plain function over Nornir runs, not a task run per host: each poll is one parallel Nornir run of the
poll task (`tasks.state.branch_state`) over the branches still waiting, so a poll costs one round of
parallel reads whatever the wave's size, the progress shows the wave as one table, and a worker thread is
never held by a branch that sleeps between polls."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nornir.core import Nornir
from nornir.core.filter import F

from ikefleet import interrupt
from ikefleet.processors.events import BranchState, GateChanged, GateStarted, GateTimedOut, Sink, ignore
from ikefleet.routeros.clock import clock_utc
from ikefleet.verify.engine import evaluate
from ikefleet.verify.expected import Expected
from ikefleet.verify.gather import HostState

from .state import blocking, branch_state, gate_view
from .state import describe as findings

POLL_S = 0.5  # between polls of the branches still waiting
CLOCK_TOLERANCE_S = 60  # as verify's clock.sync (ikefleet/verify/checks.yaml)


@dataclass
class Gate:
    """How the wait ended: `failed` (branch -> why it does not pass: verify's blocking checks, a clock far
    off), `states` (each branch's last state read), `stopped` (SIGINT: the wait ended early, nobody
    failed)."""

    failed: dict[str, str] = field(default_factory=dict)
    states: dict[str, HostState] = field(default_factory=dict)
    stopped: bool = False

    def __str__(self) -> str:
        if self.stopped:
            return "gate: stopped by SIGINT"
        return f"gate failed: {', '.join(self.failed)}" if self.failed else "gate passed"


def wait_until_converged(nr: Nornir, hosts: list[str], *, expected: Expected, timeout_s: float,
                         routes: Mapping[str, str], first: Mapping[str, HostState] | None = None,
                         progress: Sink = ignore) -> Gate:
    """Poll `hosts` (names in `nr`) until each passes verify's checks against `expected`, or `timeout_s`
    passes, or SIGINT (ikefleet.interrupt.STOP). `first`: states already read in this run with nothing
    sent since (the first poll); `routes`: host -> its route read's `where`, as verify's. A poll that fails
    (a read timing out on a busy router) is polled again. `progress` gets the gate's events."""
    gate = Gate()
    if not hosts:
        return gate
    deadline = time.monotonic() + timeout_s
    got: dict[str, HostState] = {h: s for h in hosts if first and (s := first.get(h)) is not None}
    pending, polled = list(hosts), False
    gate.states.update(got)
    progress(GateStarted(tuple(hosts), timeout_s, deadline))
    shown: dict[str, BranchState] = {}  # host -> last shown: a line per change, not per poll
    while True:
        if got:
            report = evaluate(expected, got)
            for name in got:
                view = gate_view(report, name)
                if shown.get(name) != view:
                    shown[name] = view
                    progress(GateChanged(name, view, max(0.0, deadline - time.monotonic())))
            pending = [h for h in pending if h not in got or blocking(report, h)]
        if not pending or time.monotonic() > deadline or interrupt.STOP.is_set():
            break
        if polled:
            time.sleep(POLL_S)
        res = nr.filter(F(name__in=pending)).run(task=branch_state, on_failed=True, routes=routes)
        got = {n: res[n][0].result for n in pending if n in res and not res[n].failed}
        gate.states.update(got)
        polled = True
    if not pending:
        return gate
    if interrupt.STOP.is_set():  # not waited for: nobody failed
        gate.stopped = True
        return gate
    progress(GateTimedOut(tuple(pending), timeout_s))
    last = gate.states
    report = evaluate(expected, {n: last[n] for n in pending if n in last})
    clocks = clock_skew({n: last[n] for n in pending if n in last})
    for name in pending:
        why = findings(blocking(report, name)) if name in last else "its state could not be read"
        gate.failed[name] = why + clocks.get(name, "")
    return gate


def clock_skew(states: Mapping[str, HostState]) -> dict[str, str]:
    """Why a tunnel may stay down although the push went well: a router clock far off makes the
    certificates not yet valid (or expired) from its point of view, and RouterOS refuses IKE_AUTH."""
    words: dict[str, str] = {}
    for name, state in states.items():
        at = clock_utc(next(iter(state.get("clock")), None)) if state.reachable else None
        if at is None:
            continue
        skew = (at - (state.read_at or datetime.now(UTC))).total_seconds()
        if abs(skew) > CLOCK_TOLERANCE_S:
            amount = f"{abs(skew) / 86400:.0f} days" if abs(skew) >= 86400 else f"{abs(skew):.0f}s"
            side, cert = ("behind", "not yet valid") if skew < 0 else ("ahead", "expired")  # past the end
            words[name] = (f"; its clock is {amount} {side} (certificates may be {cert} from its point of"
                           " view): fix /system clock or NTP (/system ntp client), then run again")
    return words
