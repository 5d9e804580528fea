"""`ikefleet verify` / `compliance`: gather every router's state in parallel, check it, keep history.

One Nornir run of the `gather` task (one SSH session per host, one round trip), the expected state from
inventory + plan, one engine pass over checks.yaml, then the results go into the history database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nornir.core.filter import F
from nornir.core.task import Result as TaskResult
from nornir.core.task import Task

from ikefleet import gc_policy, interrupt, revoked
from ikefleet.fleet import with_versions
from ikefleet.inventory import load_inventory, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import Plan, build_plan, resolve_clients
from ikefleet.processors import Progress
from ikefleet.processors.events import RunStarted, Sink, ignore
from ikefleet.selection import SelectionError, select
from ikefleet.tasks.device import close
from ikefleet.tasks.gather import gather
from ikefleet.verify.engine import CheckResult, Report, evaluate
from ikefleet.verify.expected import expected_state, route_reads
from ikefleet.verify.gather import HostState
from ikefleet.verify.history import History, history_path


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
        inventory = load_inventory(options.config)
        gone = revoked.load(data_dir)
        self.fleet = revoked.active(inventory, gone)
        self.plan = build_plan(self.fleet)
        self.history = History(history_path(options.config))
        chosen = select(inventory, options.limit)
        self.selected = [n for n in chosen if n not in gone]
        if not self.selected:  # before any connection: a report over no router would read as compliant
            raise SelectionError(f"--limit {','.join(options.limit)} selects only revoked branches "
                                 f"({', '.join(chosen)}): nothing to verify; fix: `ikefleet certs "
                                 "renew BRANCH` brings one back, or select other hosts")

    def hosts(self) -> list[str]:
        return list(self.selected)

    def gather(self) -> dict[str, HostState]:
        hosts = self.hosts()
        nr = init_nornir(self.options.config, self.options.secrets_file, self.options.accept_new_hostkeys)
        self.progress(RunStarted("verify", tuple(hosts)))
        try:
            result = nr.filter(F(name__in=hosts)).with_processors([Progress(self.progress)]).run(
                task=read_once, routes=route_reads(self.fleet, self.plan), on_failed=True
            )
        finally:
            nr.close_connections(on_failed=True)
        states: dict[str, HostState] = {}
        for name in hosts:
            multi = result[name]
            value = multi[0].result if len(multi) else None
            states[name] = value if isinstance(value, HostState) else HostState(name, error="no result")
        return states

    def _resolved(self, states: dict[str, HostState]) -> Plan:
        """The plan with the client certificate names the hub holds now (a renewal gives a new name); the
        branches' own lists when the hub was not read."""
        hub = states.get(self.fleet.hub.name)
        sources = [hub] if hub is not None and not hub.error else list(states.values())
        names = [c.get("name", "") for s in sources if not s.error for c in s.get("certificate")]
        return resolve_clients(self.plan, names)

    def run(self) -> Report:
        with gc_policy.fleet_run():
            return self._run()

    def _run(self) -> Report:
        with interrupt.sigint_stops() as stop:
            states = self.gather()
        if stop.is_set():  # some hosts were never read: no report, nothing recorded
            raise interrupt.Interrupted("verify stopped; no report written, nothing recorded in the history")
        # Expected state in the dialect each router really runs (its reported version, not the inventory's).
        fleet = with_versions(self.fleet, {h: s.ros_version for h, s in states.items() if s.ros_version})
        report = evaluate(expected_state(fleet, self._resolved(states), list(states)), states)
        report.results.extend(
            CheckResult("host.ros_version", "RouterOS version as in the inventory", h, "warn", "minor",
                   observed=s.ros_version or "unknown", hint=w, layer="settings")
            for h, s in states.items() for w in s.warnings
        )
        if self.options.record:
            self.history.record(report)
        return report
