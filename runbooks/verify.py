"""`ikefleet verify` / `compliance`: gather every router's state in parallel, check it, keep history.

One Nornir run of the `gather` task (one SSH session per host, one round trip), the expected state from
inventory + plan, one engine pass over checks.yaml (ikefleet.verify.judge); the results go into the history
database by the `RecordHistory` processor attached to that run, as a user's own run would attach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nornir.core.filter import F
from nornir.core.task import Result as TaskResult
from nornir.core.task import Task

from ikefleet import gc_policy, interrupt, revoked
from ikefleet.inventory import load_fleet_and_files, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import build_plan
from ikefleet.processors import Progress, RecordHistory
from ikefleet.processors.base import Processor
from ikefleet.processors.events import RunStarted, Sink, ignore
from ikefleet.selection import SelectionError, select
from ikefleet.tasks.device import close
from ikefleet.tasks.gather import gather
from ikefleet.verify.engine import Report
from ikefleet.verify.expected import route_reads
from ikefleet.verify.gather import HostState
from ikefleet.verify.judge import judge, states_of


def read_once(task: Task, routes: dict[str, str]) -> TaskResult:
    """gather, then close the host's session: verify reads each router once, so a session kept to the end
    of the run would only add up (1,000 branches held 973 paramiko threads and 1.45 GB)."""
    try:
        return gather(task, routes=routes)
    finally:
        close(task.host)


@dataclass(frozen=True)
class VerifyOptions:
    config: Path
    secrets_file: Path | None = None
    limit: tuple[str, ...] = ()  # hosts, groups, comma lists (ikefleet.selection; empty: the whole fleet)
    record: bool = True  # keep the results in the history database
    accept_new_hostkeys: bool = False  # --accept-new-hostkeys: pin a changed router key (connection.hostkeys)


class Verify:
    def __init__(self, options: VerifyOptions, progress: Sink = ignore) -> None:
        """`progress`: where the reads' progress events go (routers read out of N, the slow ones)."""
        self.options = options
        self.progress = progress
        # Revoked branches (`ikefleet certs revoke`) are meant to be down: they are not expected anywhere.
        data_dir = read_config(options.config).path.parent / ".ikefleet"
        inventory, self.files = load_fleet_and_files(options.config)  # the files parsed once: see gather
        gone = revoked.load(data_dir)
        self.fleet = revoked.active(inventory, gone)
        self.plan = build_plan(self.fleet)
        chosen = select(inventory, options.limit)
        self.selected = [n for n in chosen if n not in gone]
        if not self.selected:  # before any connection: a report over no router would read as compliant
            raise SelectionError(f"--limit {','.join(options.limit)} selects only revoked branches "
                                 f"({', '.join(chosen)}): nothing to verify; fix: `ikefleet certs "
                                 "renew BRANCH` brings one back, or select other hosts")

    def hosts(self) -> list[str]:
        return list(self.selected)

    def gather(self, *processors: Processor) -> dict[str, HostState]:
        """Every selected router's state, read in one Nornir run with `processors` attached after the
        progress display."""
        hosts = self.hosts()
        nr = init_nornir(self.options.config, self.options.secrets_file, self.options.accept_new_hostkeys,
                         inventory=self.files)
        self.progress(RunStarted("verify", tuple(hosts)))
        try:
            chosen = nr.filter(F(name__in=frozenset(hosts)))  # (Nornir asks `in` per host: not of a list)
            result = chosen.with_processors([Progress(self.progress), *processors]).run(
                task=read_once, routes=route_reads(self.fleet, self.plan), on_failed=True
            )
        finally:
            nr.close_connections(on_failed=True)
        return states_of(result, hosts)

    def run(self) -> Report:
        with gc_policy.fleet_run():
            return self._run()

    def _run(self) -> Report:
        recorder = self._recorder()
        with interrupt.sigint_stops() as stop:
            states = self.gather(*([recorder] if recorder is not None else []))
        # Stopped during the reads: some hosts were never read, so no report and, RecordHistory having seen
        # the stop, nothing recorded. (A Ctrl-C after every host was read and the report recorded stops
        # nothing: the report stands.)
        if stop.is_set() and (recorder is None or recorder.report is None):
            raise interrupt.Interrupted("verify stopped; no report written, nothing recorded in the history")
        if recorder is None:
            return judge(self.fleet, self.plan, states)
        if recorder.report is None:  # the run completed, so the processor judged and recorded it
            raise RuntimeError("verify: the history processor recorded no report")
        return recorder.report

    def _recorder(self) -> RecordHistory | None:
        """The history processor of a recorded run; None with --no-history."""
        if not self.options.record:
            return None
        from ikefleet.verify.history import History, history_path  # (sqlite3: only a recorded run needs it)

        return RecordHistory(History(history_path(self.options.config)), self.fleet, self.plan)
