"""The progress processor: a HostDone event as each host's task completes, and a Slow event for a host
still running a few seconds after it started (from a timer thread: Nornir calls a processor only when a
host starts or finishes, and a slow router does neither)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task

from .base import Processor
from .events import HostDone, Sink, Slow

SLOW_AFTER_S = 3.0  # a host still running after this is named (a lab router answers in well under 1 s)
TICK_S = 0.25

Done = Callable[[Host, MultiResult], HostDone | None]  # None: no event for this result


def read_or_not(host: Host, result: MultiResult) -> HostDone:
    """verify's view of a finished read: the task failed, or returned a state with an error, is "not read"."""
    value = result[0].result if len(result) else None
    error = getattr(value, "error", "")
    return HostDone(host.name, "not read" if result.failed or error or value is None else "read")


class Progress(Processor):
    """Events to `sink` (called from Nornir's worker threads and the timer thread, one at a time)."""

    def __init__(self, sink: Sink, done: Done = read_or_not, *, slow_after_s: float = SLOW_AFTER_S,
                 doing: str = "reading") -> None:
        self.sink = sink
        self.done = done
        self.slow_after_s = slow_after_s
        self.doing = doing
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}  # host -> time.monotonic() its task started
        self.named: set[str] = set()  # hosts already reported slow in this task
        self.stop = threading.Event()
        self.timer: threading.Thread | None = None

    def emit(self, event: HostDone | Slow) -> None:
        with self.lock:
            self.sink(event)

    def task_started(self, task: Task) -> None:
        self.stop.clear()
        self.named.clear()
        self.timer = threading.Thread(target=self._watch, name="ikefleet-progress", daemon=True)
        self.timer.start()

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        self.stop.set()
        if self.timer is not None:
            self.timer.join()
        self.started.clear()

    def task_instance_started(self, task: Task, host: Host) -> None:
        with self.lock:
            self.started[host.name] = time.monotonic()

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        with self.lock:
            self.started.pop(host.name, None)
        event = self.done(host, result)
        if event is not None:
            self.emit(event)

    def _watch(self) -> None:
        while not self.stop.wait(TICK_S):
            now = time.monotonic()
            with self.lock:
                slow = [(h, now - t) for h, t in self.started.items()
                        if now - t >= self.slow_after_s and h not in self.named]
                self.named.update(h for h, _ in slow)
            for host, seconds in slow:
                self.emit(Slow(host, seconds, self.doing))
