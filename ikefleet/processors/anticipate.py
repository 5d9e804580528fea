"""verify's expected state worked out while the run reads: rendering every router's intended configuration
does not depend on the reads, only on the routers' versions and the client certificate names the hub holds.
A thread of its own works it out when the run starts (the inventory's versions, the plan's names), while
the first logins wait on the routers, and again once the hub's read completes if the hub names other
certificates; the judge after the run then only checks. The judge takes a result only if the reads give
its very inputs (ikefleet.verify.judge.Anticipated), so a guess that turned out wrong costs time, never a
verdict."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from ikefleet.fleet import Fleet
from ikefleet.plan import Plan
from ikefleet.verify.gather import HostState
from ikefleet.verify.judge import Anticipated, anticipate, inputs

from .base import Processor


class AnticipateExpected(Processor):
    """`anticipated()` waits for the work started and gives what it found. A failure there is the judge's to
    meet again: it works the state out itself."""

    def __init__(self, fleet: Fleet, plan: Plan, hosts: Sequence[str]) -> None:
        self.fleet, self.plan, self.hosts = fleet, plan, tuple(hosts)
        self._results: list[Anticipated] = []
        self._threads: list[threading.Thread] = []

    def task_started(self, task: Task) -> None:
        self._start({})

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        if host.name != self.fleet.hub.name or not len(result):
            return
        state = result[0].result
        if not isinstance(state, HostState) or state.error:
            return
        known = {state.host: state}
        if inputs(self.fleet, self.plan, known) != inputs(self.fleet, self.plan, {}):  # (a few ms)
            self._start(known)

    def _start(self, known: Mapping[str, HostState]) -> None:
        thread = threading.Thread(target=self._work, args=(known,), name="anticipate-expected", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self, known: Mapping[str, HostState]) -> None:
        with contextlib.suppress(Exception):  # the judge works it out itself, and meets the error there
            self._results.append(anticipate(self.fleet, self.plan, self.hosts, known))

    def anticipated(self) -> list[Anticipated]:
        for thread in self._threads:
            thread.join()
        return list(self._results)
