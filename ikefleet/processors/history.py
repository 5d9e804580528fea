"""The history processor: when a gather run completes, verify's checks on what it read are stored in the
history database (ikefleet.verify.history), so a run of the user's own (`nr.with_processors([...])`) keeps
history exactly as `ikefleet verify` does. A host not read is recorded as an error, never as passing; a run
stopped by Ctrl-C (some hosts never read) records nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nornir.core.task import AggregatedResult, Task

from ikefleet import interrupt
from ikefleet.fleet import Fleet
from ikefleet.plan import Plan
from ikefleet.verify.engine import Report
from ikefleet.verify.judge import judge, states_of

from .base import Processor

if TYPE_CHECKING:  # (the caller hands the database in: importing this package loads neither it nor sqlite3)
    from ikefleet.verify.history import History


class RecordHistory(Processor):
    """Judges the run's hosts against `fleet` and `plan` (ikefleet.verify.judge) and records the report
    in `history`; `report` is the last one recorded (None until a run completed)."""

    def __init__(self, history: History, fleet: Fleet, plan: Plan) -> None:
        self.history = history
        self.fleet = fleet
        self.plan = plan
        self.report: Report | None = None

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        if interrupt.STOP.is_set():  # hosts were left unread: no report, nothing recorded
            return
        # every host of the run, also one Nornir skipped (failed earlier, on_failed=False): not read
        report = judge(self.fleet, self.plan, states_of(result, task.nornir.inventory.hosts))
        self.history.record(report)
        self.report = report
