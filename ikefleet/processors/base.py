"""Nornir's processor protocol with every hook a no-op: a processor overrides the hooks it needs."""

from __future__ import annotations

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task


class Processor:
    def task_started(self, task: Task) -> None:
        """The task starts on all its hosts."""

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        """The task has finished on all its hosts."""

    def task_instance_started(self, task: Task, host: Host) -> None:
        """The task starts on one host (in that host's worker thread)."""

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """The task has finished on one host (in that host's worker thread)."""

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        """A subtask starts on one host."""

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A subtask has finished on one host."""
