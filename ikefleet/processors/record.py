"""The run-record processor: each host's record goes to the run directory's results.jsonl the moment the
host's task completes (not when the whole wave or run is over), so a killed run keeps what it did."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from ikefleet.rundir import RunDir

from .base import Processor

Recorder = Callable[[Host, MultiResult], dict[str, Any] | None]  # None: this result is no record


class RunRecord(Processor):
    """`record` turns a host's finished result into its JSON record (None: not one to keep, e.g. a first
    pass that only found the branch lacks its certificate)."""

    def __init__(self, run: RunDir, record: Recorder) -> None:
        self.run = run
        self.record = record
        self.lock = threading.Lock()  # hosts finish in Nornir's worker threads

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        data = self.record(host, result)
        if data is not None:
            with self.lock:
                self.run.append_result(data)
