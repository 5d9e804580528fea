"""verify's expected state worked out while the run still reads: once the hub's state is in (it names the
branches' client certificates), a thread of its own renders the intended configurations and the tunnels
while the workers wait on the other routers, so the judge after the run only checks. The judge takes the
result only if the reads give the same inputs (ikefleet.verify.judge.Anticipated)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from ikefleet.fleet import Fleet
from ikefleet.plan import Plan
from ikefleet.verify.gather import HostState
from ikefleet.verify.judge import Anticipated, anticipate

from .base import Processor


class AnticipateExpected(Processor):
    """Starts the work when the hub's read completes (a hub that could not be read: nothing to start);
    `anticipated()` waits for it. A failure there is the judge's to meet again: it works the state out
    itself."""

    def __init__(self, fleet: Fleet, plan: Plan, hosts: Sequence[str]) -> None:
        self.fleet, self.plan, self.hosts = fleet, plan, tuple(hosts)
        self._result: Anticipated | None = None
        self._thread: threading.Thread | None = None

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        if host.name != self.fleet.hub.name or self._thread is not None or not len(result):
            return
        state = result[0].result
        if isinstance(state, HostState) and not state.error:
            self._thread = threading.Thread(target=self._work, args=(state,), name="anticipate-expected",
                                            daemon=True)
            self._thread.start()

    def _work(self, hub: HostState) -> None:
        try:
            self._result = anticipate(self.fleet, self.plan, self.hosts, hub)
        except Exception:  # the judge works it out again, and meets the error there
            self._result = None

    def anticipated(self) -> Anticipated | None:
        if self._thread is not None:
            self._thread.join()
        return self._result
