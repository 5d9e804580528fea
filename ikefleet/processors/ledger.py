"""A rollout's book of outcomes: each host's outcome goes to the run directory's results.jsonl and to the
progress the moment it is known, whether a task returned it (the processors a wave's Nornir run carries) or
the runbook decided it (skipped, unreachable, a failed gate, an identity move); a warning is said once;
summary.json is written at the end. A later record for the same host replaces the earlier one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core.inventory import Host
from nornir.core.processor import Processor
from nornir.core.task import AggregatedResult, MultiResult

from ikefleet import interrupt
from ikefleet.rundir import RunDir
from ikefleet.tasks.converge import Outcome
from ikefleet.tasks.results import failure_of

from .events import HostDone, Note, Sink
from .progress import Progress
from .record import RunRecord


@dataclass
class Summary:
    """A rollout as summary.json records it."""

    run_dir: Path
    dry_run: bool
    hosts: dict[str, Outcome] = field(default_factory=dict)
    waves: list[list[str]] = field(default_factory=list)
    stopped: str = ""
    interrupted: bool = False  # SIGINT: the CLI exits 130
    attempts: dict[str, int] = field(default_factory=dict)  # SSH connection attempts per host

    @property
    def failed(self) -> list[str]:
        return [h for h, o in self.hosts.items() if o.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "dry_run": self.dry_run,
            "stopped": self.stopped,
            "interrupted": self.interrupted,
            "waves": self.waves,
            "hosts": {
                h: {"status": o.status, "commands": o.commands, "error": o.error, "changes": o.changes,
                    "warnings": o.warnings, "connect_attempts": self.attempts.get(h, 0),
                    "failed_command": o.failed_command, "put_back": o.put_back,
                    "certificates": o.certificates}
                for h, o in self.hosts.items()
            },
        }


def final(outcome: Outcome) -> Outcome:
    """The outcome as recorded: one stopped by Ctrl-C (undone by safe mode or never started) is
    "interrupted"."""
    if interrupt.MESSAGE in outcome.error:
        outcome.status = "interrupted"
    return outcome


def outcome_of(multi: MultiResult, host: str) -> Outcome:
    """The Outcome a task returned on `host` (final), or a failed one saying why the task failed."""
    for r in multi:
        if isinstance(r.result, Outcome):
            return final(r.result)
    return Outcome(host, "failed", error=failure_of(multi))


def host_outcome(result: AggregatedResult, host: str) -> Outcome:
    return outcome_of(result[host], host)


def certificate_work(outcome: Outcome, work: list[str], run: RunDir, dry_run: bool = False) -> Outcome:
    """Certificate work is a change: listed before the configuration's changes, in the outcome (results.jsonl,
    summary.json: also on its own as `certificates`) and in the host's diff file. On a dry run, what the
    certificate step would do."""
    if not work:
        return outcome
    outcome.changes = [*work, *outcome.changes]
    outcome.certificates = [*outcome.certificates, *work]
    if outcome.status == "unchanged":
        outcome.status = "would-change" if dry_run else "changed"
    run.write_text(f"diffs/{outcome.host}.diff", "\n".join(outcome.changes) + "\n")
    return outcome


def done(outcome: Outcome) -> HostDone:
    return HostDone(outcome.host, outcome.status, outcome.error)


Finished = Callable[[Host, MultiResult], Outcome | None]  # a task's outcome once final (None: not yet)


class Ledger:
    """`before`: host -> certificate work its caller did under this run's lock (`ikefleet certs revoke`),
    recorded with the host's outcome."""

    def __init__(self, run: RunDir, summary: Summary, progress: Sink,
                 before: dict[str, list[str]] | None = None) -> None:
        self.run = run
        self.summary = summary
        self.progress = progress
        self.before = before if before is not None else {}
        self.warned: dict[str, list[str]] = {}  # warning text -> the hosts that had it, in order

    def record(self, outcome: Outcome) -> None:
        """An outcome no task's processors recorded: into results.jsonl and the progress, then the
        summary."""
        self.record_all([outcome])

    def record_all(self, outcomes: list[Outcome]) -> None:
        """`record` of outcomes known at once (the branches a run leaves as they were), in one write."""
        finals = [final(certificate_work(o, self.before.pop(o.host, []), self.run, self.summary.dry_run))
                  for o in outcomes]
        self.run.append_results([o.to_json() for o in finals])
        for outcome in finals:
            self.progress(done(outcome))
            self.note(outcome)

    def rerecord(self, outcome: Outcome) -> None:
        """A host's outcome (again, when the gate or the hub's identity move changed it)."""
        self.run.append_result(outcome.to_json())
        self.progress(done(outcome))

    def note(self, outcome: Outcome) -> None:
        """The outcome into the summary (the processors recorded it already); its warnings are said once
        (the hosts that share one are named at the end)."""
        self.summary.hosts[outcome.host] = final(outcome)
        for warning in outcome.warnings:
            hosts = self.warned.setdefault(warning, [])
            hosts.append(outcome.host)
            if len(hosts) == 1:
                self.progress(Note(f"warning: {warning}"))

    def processors(self, finished: Finished, doing: str) -> list[Processor]:
        """For a Nornir run whose task returns outcomes: each host's record and progress event as its task
        completes (`finished`: its outcome once final)."""
        def record(host: Host, multi: MultiResult) -> dict[str, Any] | None:
            outcome = finished(host, multi)
            return outcome.to_json() if outcome is not None else None

        def event(host: Host, multi: MultiResult) -> HostDone | None:
            outcome = finished(host, multi)
            return done(outcome) if outcome is not None else None

        return [RunRecord(self.run, record), Progress(self.progress, event, doing=doing)]

    def close(self, attempts: dict[str, int]) -> None:
        """The run is over: the hosts reached only after retries and the warnings several hosts shared
        said, summary.json written. `attempts`: host -> SSH connection attempts."""
        summary = self.summary
        summary.attempts = attempts
        for name, count in attempts.items():
            if count > 1 and summary.hosts[name].status != "failed":  # failures say it in their error
                self.progress(Note(f"{name}: reached after {count} connection attempts"))
        for warning, hosts in self.warned.items():
            if len(hosts) > 1:
                self.progress(Note(f"warning on {len(hosts)} hosts ({', '.join(hosts)}): {warning}"))
        self.run.write_json("summary.json", summary.to_json())
