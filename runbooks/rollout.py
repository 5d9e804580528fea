"""`ikefleet rollout`: hub first, then branches in waves, each wave gated on its tunnels coming up.

The order of a run: validate the inventory (nothing contacted on error), take the lock, write the plan to a
new run directory, reach every branch of the run (login, version, configuration: an unreachable one is
failed before the hub is changed for it; the ones this run changes, new ones first, make the canary),
converge the hub (PKI, then configuration), then for each wave: issue the wave's certificates on the hub,
install them and converge the branches in parallel, wait until the wave's branches pass verify's checks
(the gate); a branch that does not is put back to its configuration before this run (unless
--keep-failed), and later waves stop once failures exceed --max-fail (none allowed when it is not given).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.filter import F
from nornir.core.inventory import Host
from nornir.core.processor import Processor
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from ikefleet import gc_policy, interrupt, revoked
from ikefleet.config_repo import RepoError
from ikefleet.connection.plugin import RouterOS
from ikefleet.device import describe, safe_mode
from ikefleet.diff import is_marked
from ikefleet.fleet import Fleet
from ikefleet.intent import OWNER, render_host
from ikefleet.inventory import load_inventory, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import NAMES, Plan, build_plan, client_base, client_versions, resolve_clients
from ikefleet.processors import Progress, RunRecord
from ikefleet.processors.events import (
    BranchState,
    GateChanged,
    GateStarted,
    GateTimedOut,
    HostDone,
    Note,
    RunStarted,
    Sink,
    WaveStarted,
    ignore,
)
from ikefleet.redact import scrub
from ikefleet.routeros.clock import clock_utc
from ikefleet.routeros.config import Config
from ikefleet.routeros.script import parse_script
from ikefleet.runbooks.backup import AFTER, commit_run
from ikefleet.runbooks.branch_keys import make_keys
from ikefleet.rundir import RunDir, exclusive, keep_runs
from ikefleet.secrets import load_secrets
from ikefleet.selection import select
from ikefleet.tasks import pki, pki_plan
from ikefleet.tasks.converge import PUT_BACK, READ_CONFIG, Outcome, converge, plan_changes, put_back
from ikefleet.tasks.device import CONNECTION, close, device
from ikefleet.tasks.gather import host_state, read_raw
from ikefleet.tasks.state import blocking, branch_state, gate_view
from ikefleet.tasks.state import describe as findings
from ikefleet.tasks.version import detect_version, detected, read_with_version, with_versions
from ikefleet.verify.engine import evaluate
from ikefleet.verify.expected import expected_state, route_reads
from ikefleet.verify.gather import HostState
from ikefleet.waves import Amount, over_budget, plan_waves

# hand-over files a killed run left on a branch (removed at this run's certificate step): counted by the
# reach on verify's batch line
FILES_READ = f"/file print count-only where {pki.LEFTOVER_FILES}"
# the logins open now, this run's included: another one may be a killed run's session whose safe-mode
# changes RouterOS has not undone yet (it is still running its last command), so what is read is not settled
LOGINS_READ = "/user active print count-only"


@dataclass(frozen=True)
class Reached:
    """A branch as the reach before the hub found it. `kind`: "new" (nothing of ikefleet's on it),
    "changes" (this run changes its configuration or certificates, or removes leftovers) or "unchanged";
    `fingerprint`: its client certificate's; `state`: verify's view of an unchanged branch (the gate's first
    poll, when the hub does not change either: such a branch needs no second session); `files`: the
    hand-over files a killed run left on it (None: not counted); `others`: another login was open (or the
    logins could not be counted), so the wave takes safe mode before it reads (tasks.converge `settle`);
    `version`: the RouterOS it runs (its login read it), the dialect of its gate's expected state."""

    kind: str
    fingerprint: str | None = None
    state: HostState | None = None
    warning: str = ""
    files: int | None = None
    others: bool = False
    version: str = ""  # the RouterOS it runs (decides who makes its key: pki.branch_made)
    server: str | None = None  # the fingerprint of its copy of the hub's certificate (None: none)


def release(nr: Nornir, hosts: list[str]) -> None:
    """A wave's branches are done for this run: close their sessions, so the sessions a run holds are
    bounded by its wave, not by the fleet."""
    for name in hosts:
        close(nr.inventory.hosts[name])


@dataclass(frozen=True)
class RolloutOptions:
    config: Path
    dry_run: bool = False
    limit: tuple[str, ...] = ()  # host or group names, or comma lists of them (ikefleet.selection)
    canary: int = 1
    wave_size: Amount = field(default_factory=lambda: Amount(25, True))
    max_fail: Amount | None = None
    gate_timeout_s: float = 120.0
    secrets_file: Path | None = None
    accept_new_hostkeys: bool = False  # --accept-new-hostkeys: pin a router's changed key (ikefleet.hostkeys)
    keep_failed: bool = False  # a branch that fails its gate keeps this run's change (for debugging)


@dataclass
class Summary:
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


def _selected(fleet: Fleet, limit: tuple[str, ...]) -> tuple[bool, list[str]]:
    """(hub selected, branches selected) for --limit (ikefleet.selection: hosts, groups, comma lists;
    SelectionError for a name that matches nothing)."""
    chosen = set(select(fleet, limit))
    return fleet.hub.name in chosen, [b.name for b in fleet.branches if b.name in chosen]


def _outcome(result: AggregatedResult, host: str) -> Outcome:
    return _outcome_of(result[host], host)


def _outcome_of(multi: MultiResult, host: str) -> Outcome:
    for r in multi:
        if isinstance(r.result, Outcome):
            return _final(r.result)
    return Outcome(host, "failed", error=_failure_of(multi))


def _final(outcome: Outcome) -> Outcome:
    """The outcome as recorded: one stopped by Ctrl-C (undone by safe mode or never started) is
    "interrupted"."""
    if interrupt.MESSAGE in outcome.error:
        outcome.status = "interrupted"
    return outcome


def _finished(host: Host, multi: MultiResult) -> Outcome | None:
    """A wave task's outcome on `host` once it is final (None: the branch only said which certificate it
    lacks, WantsCertificate: it converges in the wave's second pass)."""
    if not multi.failed and any(isinstance(r.result, WantsCertificate) for r in multi):
        return None
    return _outcome_of(multi, host.name)


def _done(outcome: Outcome) -> HostDone:
    return HostDone(outcome.host, outcome.status, outcome.error)


class Rollout:
    def __init__(self, options: RolloutOptions, progress: Sink = ignore) -> None:
        """`progress`: where the run's progress events go (ikefleet.processors.events; the CLI renders
        them)."""
        self.options = options
        self.progress = progress
        self.fleet_config = read_config(options.config)
        self.data_dir = self.fleet_config.path.parent / ".ikefleet"
        self.keep_runs = keep_runs((self.fleet_config.nornir.get("ikefleet") or {}).get("runs"),
                                   str(self.fleet_config.path))
        self.inventory = load_inventory(options.config)
        _selected(self.inventory, options.limit)  # a --limit that matches nothing: exit 2 before the lock
        self.revoked = revoked.load(self.data_dir)
        self.fleet = revoked.active(self.inventory, self.revoked)
        self.plan: Plan = build_plan(self.fleet)
        self.secrets = load_secrets(options.secrets_file or self.fleet_config.secrets_file)
        self.policy = pki.CertPolicy(**vars(self.fleet.defaults.certificates))
        self.fingerprints: dict[str, str] = {}  # current client certificate name -> its fingerprint
        self.server_fingerprint: str | None = None  # the hub's certificate's, once read (None: not read)
        self.hub_in_use: dict[str, str] = {}  # branch -> the older certificate a hub identity still names
        self.routes = route_reads(self.fleet, self.plan)  # host -> its route read's `where`, as verify's
        self.warned: dict[str, list[str]] = {}  # warning text -> the hosts that had it, in order
        self.reached: dict[str, Reached] = {}  # branch -> what the reach before the hub found
        self.reach_attempts: dict[str, int] = {}  # branch -> connection attempts of the reach before the hub
        # branch -> its state from the converge task's first read, when that task changed nothing on it (the
        # gate's first poll, in the same session: a re-run's branch needs no other read); written by the task
        self.first_states: dict[str, HostState] = {}
        self.to_issue: dict[str, str] = {}  # dry run: base name -> the client certificate the hub would issue
        # host -> certificate work its caller did under this run's lock (`ikefleet certs revoke`): on the
        # record with the host's outcome
        self.done_before: dict[str, list[str]] = {}
        self.hub_unread = ""  # dry run without the hub: why its certificates could not be read
        self.branch_work: dict[str, list[str]] = {}  # branch -> its branch-made certificate work (runbooks/
        # branch_keys.py), reported with its outcome in its wave
        self.key_failed: dict[str, str] = {}  # branch -> why making its certificate failed (before the hub)
        self.hub_version = ""  # the RouterOS the hub runs, once read (who makes a branch's key)

    def _resolve(self, clients: dict[str, pki.Client]) -> None:
        """The branches' client certificates as the hub has them now (renewals have new names): the names
        every identity is rendered with, and the fingerprints the branches must hold."""
        self.plan = resolve_clients(self.plan, [c.name for c in clients.values()])
        self.fingerprints = {c.name: c.fingerprint for c in clients.values()}

    def run(self) -> Summary:
        with exclusive(self.data_dir):
            return self.run_locked()

    def run_locked(self) -> Summary:
        """`run` for a caller that already holds the rollout lock (`ikefleet certs revoke`)."""
        with gc_policy.fleet_run():
            pki.sweep_temporary()  # key material a killed run left on this jump host
            run = RunDir(self.data_dir, "rollout", keep=self.keep_runs)
            run.write_json("plan.json", self.plan.to_json())
            nr = init_nornir(self.options.config, self.options.secrets_file,
                             self.options.accept_new_hostkeys)
            summary = Summary(run.path, self.options.dry_run)
            try:
                with interrupt.sigint_stops():
                    try:
                        self._run(nr, run, summary)
                    except KeyboardInterrupt:  # the second Ctrl-C: cut every host now, record each
                        self._cut(nr, run, summary)
            finally:
                nr.close_connections(on_failed=True)
            attempts = RouterOS.connector(nr.config).attempts
            summary.attempts = {  # the most one opening of its sessions took (the reach's, the wave's)
                h: max(attempts.get(h, 0), self.reach_attempts.get(h, 0))
                for h in summary.hosts if h in nr.inventory.hosts
            }
            for name, count in summary.attempts.items():
                if count > 1 and summary.hosts[name].status != "failed":  # failures say it in their error
                    self.progress(Note(f"{name}: reached after {count} connection attempts"))
            for warning, hosts in self.warned.items():
                if len(hosts) > 1:
                    self.progress(Note(f"warning on {len(hosts)} hosts ({', '.join(hosts)}): {warning}"))
            run.write_json("summary.json", summary.to_json())
            if not self.options.dry_run:
                self._commit_backups(run)
            return summary

    def _commit_backups(self, run: RunDir) -> None:
        """The run's exports (changed routers as found, then as left) into the backups repository; a
        failure there is a warning: the routers are as the summary says whatever git does."""
        try:
            for commit in commit_run(self.options.config, run.path):
                self.progress(Note(f"backups: committed {commit.rev[:12]} ({', '.join(commit.changed)})"))
        except (RepoError, OSError) as exc:
            self.progress(Note(f"warning: this run's exports are not in the backups repository: {exc}"))

    def _record(self, summary: Summary, run: RunDir, outcome: Outcome) -> None:
        """An outcome no wave task recorded (see _wave): into results.jsonl and the progress, then the
        summary; certificate work its caller did under this run's lock (done_before) goes with it."""
        _certificate_work(outcome, self.done_before.pop(outcome.host, []), run, self.options.dry_run)
        self._rerecord(run, _final(outcome))
        self._note(summary, outcome)

    def _rerecord(self, run: RunDir, outcome: Outcome) -> None:
        """A host's outcome (again, when the gate or the hub's identity move changed it)."""
        run.append_result(outcome.to_json())
        self.progress(_done(outcome))

    def _note(self, summary: Summary, outcome: Outcome) -> None:
        """The outcome into the summary; its warnings are said once (the hosts that share one are named
        at the end)."""
        summary.hosts[outcome.host] = _final(outcome)
        for warning in outcome.warnings:
            hosts = self.warned.setdefault(warning, [])
            hosts.append(outcome.host)
            if len(hosts) == 1:
                self.progress(Note(f"warning: {warning}"))

    def _wave(self, nr: Nornir, hosts: list[str], run: RunDir) -> Nornir:
        """The wave's branches with the processors that record each branch's outcome in the run directory
        and report it as its task completes."""
        def record(host: Host, multi: MultiResult) -> dict[str, Any] | None:
            outcome = _finished(host, multi)
            return outcome.to_json() if outcome is not None else None

        def done(host: Host, multi: MultiResult) -> HostDone | None:
            outcome = _finished(host, multi)
            return _done(outcome) if outcome is not None else None

        processors: list[Processor] = [RunRecord(run, record),
                                       Progress(self.progress, done, doing="converging")]
        return nr.filter(F(name__in=hosts)).with_processors(processors)

    def _run(self, nr: Nornir, run: RunDir, summary: Summary) -> Summary:
        opts = self.options
        hub_selected, branches = _selected(self.inventory, opts.limit)
        revoked_now = [b for b in branches if b in self.revoked]
        hub_name = self.fleet.hub.name
        self.progress(RunStarted("rollout", tuple(([hub_name] if hub_selected else []) + branches)))
        for name in revoked_now:
            branches.remove(name)
            self._record(
                summary,
                run,
                Outcome(
                    name,
                    "skipped",
                    error=f"certificate revoked: `ikefleet certs renew {name}` brings it back",
                ),
            )
        hub = nr.filter(name=hub_name)
        total = len(branches) + int(hub_selected)  # what --max-fail is a share of
        if interrupt.STOP.is_set():
            return self._interrupted(summary, run, ([hub_name] if hub_selected else []) + branches)
        first: list[str] = []  # branches this run changes, new ones first: the canary's
        reached: dict[str, Reached] = {}
        if not opts.dry_run:
            reached, unreachable = self._reach(nr, branches, hub_name)
            for name, why in unreachable.items():
                why = f"unreachable before the hub was changed, nothing changed on it: {why}"
                self._record(summary, run, Outcome(name, "failed", error=why))
            branches = [b for b in branches if b not in unreachable]
            first = [b for b in branches if reached[b].kind == "new"]
            first += [b for b in branches if reached[b].kind == "changes"]
        if interrupt.STOP.is_set():
            return self._interrupted(summary, run, ([hub_name] if hub_selected else []) + branches)
        if over_budget(len(summary.failed), total, opts.max_fail):
            summary.stopped = (f"{len(summary.failed)} branch(es) unreachable, {_budget(opts.max_fail)}: "
                               "stopped before the hub was changed")
            for name in ([hub_name] if hub_selected else []) + branches:
                self._record(summary, run, Outcome(name, "skipped", error="branches unreachable"))
            return summary
        if hub_selected:
            outcome = self._converge_hub(hub, run, nr, branches)
            for name, why in self.key_failed.items():  # the certificate each had stays in use
                self._record(summary, run, Outcome(name, "failed", error=why))
            branches = [b for b in branches if b not in self.key_failed]
            self._record(summary, run, outcome)
            if outcome.status == "failed":
                summary.stopped = f"hub {hub_name} failed: branches not touched"
                for name in branches:
                    self._record(summary, run, Outcome(name, "skipped", error="hub failed"))
                return summary
        elif branches:  # read only: a dry run compares the branches' certificates with the hub's too
            res = hub.run(task=_hub_clients, on_failed=True, plan=self.plan)
            if res[hub_name].failed and opts.dry_run:  # the configuration's diffs are still worth showing
                self.hub_unread = _failure(res, hub_name)
            elif res[hub_name].failed:
                summary.stopped = (
                    f"hub {hub_name}: its certificates could not be read: {_failure(res, hub_name)}"
                )
                for name in branches:
                    self._record(summary, run, Outcome(name, "skipped", error="hub certificates unreadable"))
                return summary
            else:
                self._resolve(res[hub_name][0].result)
        hub_untouched = not hub_selected or summary.hosts[hub_name].status == "unchanged"
        settled = {b for b, r in reached.items() if hub_untouched and r.state is not None
                   and r.fingerprint == self.fingerprints.get(self.plan.branch(b).client_certificate)
                   and self.server_fingerprint in (None, r.server)}
        waves = plan_waves(branches, canary=opts.canary, wave_size=opts.wave_size, first=first)
        summary.waves = waves
        for number, wave in enumerate(waves, start=1):
            if interrupt.STOP.is_set():
                return self._interrupted(summary, run, [h for w in waves[number - 1:] for h in w])
            self.progress(WaveStarted(number, len(waves), tuple(wave)))
            for name in [b for b in wave if b in settled]:  # nothing changes on it: read once, before the hub
                if (state := reached[name].state) is not None:  # (settled: the reach read it)
                    self.first_states[name] = state
                run.write_text(f"diffs/{name}.diff", "")
                warnings = [reached[name].warning] if reached[name].warning else []
                self._record(summary, run, Outcome(name, "unchanged", warnings=warnings))
            self._converge_wave(nr, hub, [b for b in wave if b not in settled], run, summary)
            if not opts.dry_run and not interrupt.STOP.is_set():  # interrupted: tunnels not waited for
                self._gate(nr, [h for h in wave if summary.hosts[h].status != "failed"], summary, run)
                # a renewed branch's old certificate goes (its hub identity, then the certificate) only once
                # its tunnel is up on the new one: a branch that failed its gate is put back to a
                # configuration naming the old certificate, which must still be there on both ends
                self._retire_old(nr, self._move_hub_identities(hub, wave, summary, run), summary, run)
            release(nr, wave)
            if over_budget(len(summary.failed), total, opts.max_fail):
                rest = [h for w in waves[number:] for h in w]
                summary.stopped = (
                    f"{len(summary.failed)} host(s) failed, {_budget(opts.max_fail)}: "
                    f"{len(rest)} host(s) in later waves not touched"
                )
                for name in rest:
                    why = "stopped by --max-fail" if opts.max_fail else "stopped: an earlier wave failed"
                    self._record(summary, run, Outcome(name, "skipped", error=why))
                break
        if interrupt.STOP.is_set():  # during the last wave
            return self._interrupted(summary, run, [])
        return summary

    def _interrupted(self, summary: Summary, run: RunDir, untouched: list[str]) -> Summary:
        """SIGINT: hosts not started are recorded as such; those in flight were finished or undone."""
        summary.interrupted = True
        for name in untouched:
            outcome = Outcome(name, "interrupted", error=f"{interrupt.MESSAGE}: not started")
            self._record(summary, run, outcome)
        stopped = sorted(h for h, o in summary.hosts.items() if o.status == "interrupted")
        summary.stopped = f"{interrupt.MESSAGE}: not finished: {', '.join(stopped) or 'none'}; run again"
        return summary

    def _cut(self, nr: Nornir, run: RunDir, summary: Summary) -> None:
        """The second SIGINT: no command goes to any router any more (interrupt.STOP is aborted), every
        session still open is closed now, one in safe mode by Ctrl-D and the drop so that RouterOS undoes
        its window (ikefleet.device), and every host of the run without a record gets one saying how it
        was left. Tasks still running in Nornir's threads end at their next command; their results are
        not waited for."""
        summary.interrupted = True
        hub_selected, branches = _selected(self.inventory, self.options.limit)
        hosts = ([self.fleet.hub.name] if hub_selected else []) + branches
        for name in [h for h in hosts if h not in summary.hosts and h in nr.inventory.hosts]:
            host = nr.inventory.hosts[name]
            plugin = host.connections.get(CONNECTION)
            state = safe_mode(plugin.connection) if plugin is not None else None
            held, released = (state.held, state.released) if state is not None else (False, 0)
            close(host)
            if held:
                why = "safe-mode changes undone by dropping the session (Ctrl-D, not quit)"
            elif plugin is not None:
                why = "session closed outside safe mode (nothing open to undo)"
            elif RouterOS.connector(nr.config).attempts.get(name):
                why = "no session open at the cut"
            else:
                why = "not started"
            if released:
                why += f"; {released} safe-mode window(s) released before stay: run again to converge"
            elif why != "not started":
                why += "; run again to converge"
            outcome = Outcome(name, "interrupted", error=f"{interrupt.MESSAGE} twice: {why}")
            self._record(summary, run, outcome)
        done = sorted(h for h, o in summary.hosts.items() if o.status == "interrupted")
        summary.stopped = f"{interrupt.MESSAGE} twice: cut at once: {', '.join(done) or 'none'}; run again"

    def _converge_hub(self, hub: Nornir, run: RunDir, nr: Nornir | None = None,
                      branches: list[str] | None = None) -> Outcome:
        """PKI first (the CA, the hub's certificate and every branch's, which the hub's identities name),
        then the hub's configuration. The run's `branches` that can (7.9+ on both ends, pki.branch_made)
        make their own keys, all at once (runbooks/branch_keys.py); the hub issues the others'."""
        h = self.plan.hub
        work: list[str] = []  # certificate work: a change, reported with the configuration's
        if self.options.dry_run:  # the names the identities use, and the certificate step, read only
            res = hub.run(task=_hub_dry_run, on_failed=True, rollout=self)
            if res[h.name].failed:
                return Outcome(h.name, "failed", error=_failure(res, h.name))
            clients, planned = res[h.name][0].result
            self._resolve(clients)
            self.to_issue = planned.issued
            work += planned.work
        else:
            found = hub.run(task=detect_version, on_failed=True)
            if found[h.name].failed:
                return Outcome(h.name, "failed", error=_failure(found, h.name))
            hub_version = found[h.name][0].result.version
            made = {b: NAMES["branch_certificate"].format(branch=b) for b in branches or []
                    if b in self.reached and pki.branch_made(hub_version, self.reached[b].version)}
            steps: tuple[tuple[Callable[..., Result], dict[str, Any]], ...] = (
                (
                    pki.ensure_authority,
                    {
                        "ca": h.ca_certificate,
                        "server": h.server_certificate,
                        "hub_wan": str(h.wan_address),
                        "policy": self.policy,
                    },
                ),
                (
                    pki.ensure_clients,
                    {
                        "clients": [b.client_certificate for b in self.plan.branches],
                        "ca": h.ca_certificate,
                        "policy": self.policy,
                        "retire": True,  # deleted branches' certificates are revoked
                        "branch_made": tuple(made.values()),
                    },
                ),
            )
            for step, params in steps:
                res = hub.run(task=step, on_failed=True, **params)
                if res[h.name].failed:
                    failed = Outcome(h.name, "failed", error=_failure(res, h.name))
                    return _certificate_work(failed, work, run)
                work += [line for line in (res[h.name][0].diff or "").split("\n") if line]
                if step is pki.ensure_clients:
                    self._resolve(res[h.name][0].result)
            if made and nr is not None:
                failed_hub = self._branch_keys(nr, hub, made, work)
                if failed_hub is not None:
                    return _certificate_work(failed_hub, work, run)
        found = hub.run(task=detect_version, on_failed=True)  # the dialect the hub really speaks
        if found[h.name].failed:
            return Outcome(h.name, "failed", error=_failure(found, h.name))
        version = found[h.name][0].result.version
        self.hub_version = version
        read = hub.run(task=_hub_reads, on_failed=True)
        if read[h.name].failed:
            return _certificate_work(Outcome(h.name, "failed", error=_failure(read, h.name)), work, run)
        config_text, certs, others = read[h.name][0].result
        self.server_fingerprint = certs.get(h.server_certificate, {}).get("fingerprint")
        # a renewed branch has two hub identities, the certificate it still uses and the new one, until it
        # has moved to the new one (then `_move_hub_identities`): the tunnel stays up if the hand-over stops
        self.hub_in_use = _in_use(parse_script(config_text), certs, self.plan)
        hub_plan = _named(self.plan, self.hub_in_use)
        script = render_host(with_versions(self.fleet, {h.name: version}), hub_plan, h.name)
        res = hub.run(
            task=converge,
            on_failed=True,
            intended_script=script,
            run=run,
            dry_run=self.options.dry_run,
            backup_password=self.secrets.backup_password,
            known={"/ip ipsec mode-config": [NAMES["mode_config"].format(branch=b) for b in self.revoked]},
            config_text=None if others else config_text,
            settle=others and not self.options.dry_run,
        )
        outcome = _outcome(res, h.name)
        if outcome.status == "changed" or (outcome.status == "unchanged" and not self.options.dry_run):
            # the hub's identities now name the current certificates: the ones renewals replaced can go
            clients = {NAMES["branch_certificate"].format(branch=b.name): b.client_certificate
                       for b in self.plan.branches if b.name not in self.hub_in_use}
            gone = hub.run(task=pki.remove_superseded, on_failed=True, clients=clients)
            if gone[h.name].failed:
                why = _failure(gone, h.name)
                outcome.warnings.append(f"superseded client certificates not removed (next run): {why}")
            else:
                work += gone[h.name][0].result
        return _certificate_work(outcome, work, run, self.options.dry_run)

    def _branch_keys(self, nr: Nornir, hub: Nornir, made: dict[str, str], work: list[str]) -> Outcome | None:
        """The branch-made certificates of `made` (branch -> base name); the hub's work joins `work`, each
        branch's waits for its wave (`branch_work`), failed branches go to `key_failed`. A failed branch
        that has no certificate on the hub at all gets one the hub makes, so the hub's identity for it names
        a certificate that exists (never sent to it: the next run has it make its own). Returns the hub's
        failed Outcome when its certificates cannot be read back."""
        h = self.plan.hub
        held = {b: self.reached[b].fingerprint for b in made}
        servers = {b: self.reached[b].server for b in made}
        done = make_keys(nr, h.name, made, ca=h.ca_certificate, server=h.server_certificate,
                         policy=self.policy, held=held, servers=servers)
        work += done.hub
        self.branch_work.update(done.branches)
        self.key_failed.update(done.failed)
        self.plan = build_plan(self.fleet)  # base names again: resolve_clients looks them up by base
        res = hub.run(task=_hub_clients, on_failed=True, plan=self.plan)
        if res[h.name].failed:
            return Outcome(h.name, "failed", error=_failure(res, h.name))
        clients: dict[str, pki.Client] = res[h.name][0].result
        bare = [made[b] for b in done.failed if made[b] not in clients]
        if bare:
            res = hub.run(task=pki.ensure_clients, on_failed=True, clients=bare, ca=h.ca_certificate,
                          policy=self.policy)
            if res[h.name].failed:
                return Outcome(h.name, "failed", error=_failure(res, h.name))
            work += [line for line in (res[h.name][0].diff or "").split("\n") if line]
            clients = {**clients, **res[h.name][0].result}
        self._resolve(clients)
        return None

    def _converge_wave(self, nr: Nornir, hub: Nornir, wave: list[str], run: RunDir, summary: Summary) -> None:
        """Every branch of the wave in parallel: one that has its certificate converges at once (a re-run is
        one pass); the certificates the others lack are then exported on the hub in one task (one hub
        session, one SFTP channel), and those branches install them and converge. Each branch's outcome is
        recorded as its task completes (_wave's processors)."""
        if not wave:  # every branch of the wave was settled by the reach
            return
        if self.options.dry_run:
            result = self._wave(nr, wave, run).run(task=_converge_branch, rollout=self, bundles={}, run=run)
            for name in wave:
                self._note(summary, _outcome(result, name))
            return
        first = self._wave(nr, wave, run).run(task=_certified_then_converge, rollout=self, run=run)
        wanting: dict[str, str] = {}  # branch -> client certificate to hand over
        for name in wave:
            wants = first[name][0].result
            if isinstance(wants, WantsCertificate):
                wanting[name] = wants.client
            else:
                self._note(summary, _outcome(first, name))
        if not wanting:
            return
        h = self.plan.hub
        res = hub.run(task=pki.export_bundles, on_failed=True, clients=wanting, ca=h.ca_certificate,
                      server=h.server_certificate)
        exported = {} if res[h.name].failed else res[h.name][0].result
        bundles: dict[str, pki.Bundle] = {}
        for name in wanting:
            got = exported.get(name) or _failure(res, h.name)
            if isinstance(got, pki.Bundle):
                bundles[name] = got
            else:
                why = f"exporting its certificate on the hub failed: {got}"
                self._record(summary, run, Outcome(name, "failed", error=why))
        try:
            result = self._wave(nr, list(bundles), run).run(
                task=_converge_branch, rollout=self, bundles=bundles, run=run
            )
        finally:
            for bundle in bundles.values():
                bundle.discard()
        for name in bundles:
            self._note(summary, _outcome(result, name))

    def _move_hub_identities(self, hub: Nornir, wave: list[str], summary: Summary, run: RunDir) -> list[str]:
        """The wave's renewed branches now use their new certificate: remove their hub identities for the
        old one (safe mode, read back; the one for the new certificate stays) and the replaced certificate
        on the hub, once the gate saw their tunnels up. A branch whose removal fails is failed (its tunnel
        stays up on the new identity; the next run removes the old one). Returns the branches it tried."""
        moves = {n: (self.hub_in_use[n], self.plan.branch(n).client_certificate) for n in wave
                 if n in self.hub_in_use and summary.hosts[n].status in ("changed", "unchanged")}
        if not moves:
            return []
        h = self.plan.hub
        res = hub.run(task=_hub_moves, on_failed=True, moves=moves)
        done: dict[str, list[str]] = res[h.name][0].result if not res[h.name].failed else {}
        for name, (old, new) in moves.items():
            outcome = summary.hosts[name]
            if name in done:
                self.hub_in_use.pop(name)
                _certificate_work(outcome, done[name], run)
            else:
                outcome.status = "failed"
                outcome.error = (f"the hub's identity for {old} could not be removed (the one for {new} "
                                 "stays): ") + (
                    _failure(res, h.name) if res[h.name].failed else "not done")
            self._rerecord(run, outcome)
        return list(moves)

    def _retire_old(self, nr: Nornir, moved: list[str], summary: Summary, run: RunDir) -> None:
        """The branches whose hub identity for the old certificate is gone: their old client certificate is
        removed on the branch too. A failure is a warning: the old certificate authenticates nowhere now,
        and the next run removes it."""
        moved = [n for n in moved if summary.hosts[n].status != "failed"]
        if not moved:
            return
        res = nr.filter(F(name__in=moved)).run(task=_retire_branch, on_failed=True, rollout=self)
        for name in moved:
            outcome = summary.hosts[name]
            if res[name].failed:
                why = _failure(res, name)
                outcome.warnings.append(f"superseded certificates not removed (next run): {why}")
            else:
                _certificate_work(outcome, res[name][0].result, run)
            self._rerecord(run, outcome)

    def _reach(self, nr: Nornir, branches: list[str], hub: str) -> tuple[dict[str, Reached], dict[str, str]]:
        """Every branch of the run, in parallel, before the hub is changed: log in (the version read), read
        what verify reads (certificates and configuration with it), close the session. The hub logs in
        meanwhile (read-only, see `_reach_or_log_in`): its phase then starts with its session open. Returns
        (branch -> Reached; branch -> why it was not reached)."""
        if not branches:
            return {}, {}
        res = nr.filter(F(name__in=[*branches, hub])).run(task=_reach_or_log_in, on_failed=True, rollout=self)
        attempts = RouterOS.connector(nr.config).attempts
        if hub in res and res[hub].failed:  # the hub's phase logs in again, and says why if it fails
            attempts.pop(hub, None)
        reached: dict[str, Reached] = {}
        unreachable: dict[str, str] = {}
        for name in branches:
            self.reach_attempts[name] = attempts.pop(name, 0)  # the wave's login is a fresh start
            if res[name].failed:
                unreachable[name] = _failure(res, name)
            else:
                reached[name] = res[name][0].result
        self.reached = reached
        return reached, unreachable

    def _gate(self, nr: Nornir, wave: list[str], summary: Summary, run: RunDir) -> None:
        """Wait until every branch of the wave passes verify's checks on it (verify's reads, its checks:
        IKE, SAs, EoIP, OSPF Full, BFD up, routes, certificate, clock, configuration), or time out. A
        branch that does not is failed and put back to its configuration before this run."""
        if not wave:
            return
        deadline = time.monotonic() + self.options.gate_timeout_s
        versions = {h: v for h in wave if h in self.reached and (v := self.reached[h].version)}
        expected = expected_state(with_versions(self.fleet, versions), self.plan, list(wave))
        # branches the converge task left untouched were read in its session: the gate's first poll
        got: dict[str, HostState] = {h: s for h in wave if (s := self.first_states.pop(h, None))}
        pending, last, polled = list(wave), dict(got), False
        self.progress(GateStarted(tuple(wave), self.options.gate_timeout_s, deadline))
        shown: dict[str, BranchState] = {}  # host -> last shown: a line per change, not per poll
        while True:
            if got:
                report = evaluate(expected, got)
                for name in got:
                    view = gate_view(report, name)
                    if shown.get(name) != view:
                        shown[name] = view
                        self.progress(GateChanged(name, view, max(0.0, deadline - time.monotonic())))
                pending = [h for h in pending if h not in got or blocking(report, h)]
            if not pending or time.monotonic() > deadline or interrupt.STOP.is_set():
                break
            if polled:
                time.sleep(0.5)
            # on_failed: a poll that failed (a read timing out on a busy router) is polled again
            res = nr.filter(F(name__in=pending)).run(task=branch_state, on_failed=True, routes=self.routes)
            got = {n: res[n][0].result for n in pending if n in res and not res[n].failed}
            last.update(got)
            polled = True
        if interrupt.STOP.is_set() or not pending:
            return
        self.progress(GateTimedOut(tuple(pending), self.options.gate_timeout_s))
        report = evaluate(expected, {n: last[n] for n in pending if n in last})
        why = {n: findings(blocking(report, n)) if n in last else "its state could not be read"
               for n in pending}
        clocks = _clock_skew({n: last[n] for n in pending if n in last})
        backs = self._put_back(nr, pending, summary, run)
        for name in pending:
            outcome = summary.hosts[name]
            outcome.status = "failed"
            outcome.put_back = backs[name]
            outcome.error = (f"gate failed: not as verify checks after {self.options.gate_timeout_s:.0f}s: "
                             f"{why[name]}{clocks.get(name, '')}; {backs[name]}")
            self._rerecord(run, outcome)

    def _put_back(self, nr: Nornir, hosts: list[str], summary: Summary, run: RunDir) -> dict[str, str]:
        """Branches that failed their gate: the ones this run changed are put back to the configuration
        read before the change (`backups/<host>.rsc`), unless --keep-failed. host -> what became of it."""
        words: dict[str, str] = {}
        snapshots: dict[str, str] = {}
        for name in hosts:
            snapshot = run.path / "backups" / f"{name}.rsc"
            if summary.hosts[name].status != "changed" or not snapshot.is_file():
                # converge writes the export before it pushes: none means only certificate work was done
                words[name] = "this run did not change its configuration"
            elif self.options.keep_failed:
                words[name] = "this run's change is kept (--keep-failed)"
            else:
                snapshots[name] = snapshot.read_text()
        if not snapshots:
            return words
        res = nr.filter(F(name__in=list(snapshots))).run(task=_put_back, on_failed=True, rollout=self,
                                                         snapshots=snapshots)
        for name in snapshots:
            outcome = _outcome(res, name)
            words[name] = PUT_BACK if outcome.status != "failed" else (
                f"putting the configuration back failed: {outcome.error}")
            if outcome.status != "failed":  # as found again: the backups repository gets no "as left"
                (run.path / "backups" / f"{name}{AFTER}").unlink(missing_ok=True)
        return words


def _budget(max_fail: Amount | None) -> str:
    return f"more than --max-fail {max_fail}" if max_fail is not None else "and no --max-fail allows any"


def _failure(result: AggregatedResult, host: str) -> str:
    return _failure_of(result[host])


def _failure_of(multi: MultiResult) -> str:
    # the innermost failure: the parent task's exception is only NornirSubTaskError
    failed = next((r for r in reversed(multi) if r.failed and r.exception), None)
    failed = failed or next((r for r in multi if r.failed), multi[0])
    return scrub(describe(failed.exception) if failed.exception else str(failed.result))


CLOCK_TOLERANCE_S = 60  # as verify's clock.sync (ikefleet/verify/checks.yaml)


def _clock_skew(states: dict[str, HostState]) -> dict[str, str]:
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


def _hub_dry_run(task: Task, *, rollout: Rollout) -> Result:
    """The hub on a dry run, read only: (`_hub_clients`, what its certificate step would do: pki_plan)."""
    h = rollout.plan.hub
    certs = pki.read_certificates(device(task))
    clients = [b.client_certificate for b in rollout.plan.branches]  # base names, as the step is given
    planned = pki_plan.hub_work(certs, ca=h.ca_certificate, server=h.server_certificate,
                                hub_wan=str(h.wan_address), clients=clients, policy=rollout.policy,
                                now=datetime.now(UTC), retire=True)
    return Result(host=task.host, result=(_clients(certs, rollout.plan), planned))


def _hub_clients(task: Task, plan: Plan) -> Result:
    """The branches' current client certificates on the hub, read only (when the hub is not converged in
    this run, or on a dry run): base name -> pki.Client."""
    return Result(host=task.host, result=_clients(pki.read_certificates(device(task)), plan))


def _clients(certs: dict[str, Any], plan: Plan) -> dict[str, pki.Client]:
    out = {}
    for b in resolve_clients(plan, certs).branches:
        cert = certs.get(b.client_certificate)
        if cert is not None:
            base = NAMES["branch_certificate"].format(branch=b.name)
            out[base] = pki.Client(b.client_certificate, cert.get("fingerprint", ""),
                                   cert.get("serial_number", ""))
    return out


def _certificate_work(outcome: Outcome, work: list[str], run: RunDir, dry_run: bool = False) -> Outcome:
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


@dataclass(frozen=True)
class WantsCertificate:
    """A branch's answer before converging: the hub's client certificate it lacks (to be exported)."""

    client: str


def _certified_then_converge(task: Task, *, rollout: Rollout, run: RunDir) -> Result:
    """Converge the branch if it holds its client certificate as the hub issued it; else say which it
    wants (WantsCertificate), in the same session, without touching anything. One round trip (after the
    login's version read) reads what verify reads: the certificates, the configuration and the state the
    gate checks."""
    name = task.host.name
    client = rollout.plan.branch(name).client_certificate
    wanted = rollout.fingerprints.get(client)
    if wanted is None:
        why = f"the hub has no certificate {client} for it yet: roll out the hub first (--limit responder)"
        return Result(host=task.host, failed=True, result=Outcome(name, "failed", error=why))
    raw, _ = read_raw(task, rollout.routes[name])
    reached = rollout.reached.get(name)
    files = reached.files if reached is not None else None
    first = {**raw, "files": "" if files is None else str(files)}  # the reach's count, still current
    if pki.client_fingerprint(first["certificate"], client) != wanted or rollout.server_fingerprint not in (
            None, pki.fingerprint_of(first["certificate"], rollout.plan.hub.server_certificate)):
        # its copy of the hub's certificate is not the hub's (a run stopped after the hub renewed it): the
        # hand-over brings the current one with its own
        return Result(host=task.host, result=WantsCertificate(client))
    return _converge_branch(task, rollout=rollout, bundles={}, run=run, first=first)


def _converge_branch(task: Task, *, rollout: Rollout, bundles: dict[str, pki.Bundle], run: RunDir,
                     first: dict[str, str] | None = None) -> Result:
    """`first`: the replies to read_raw (verify's reads), read in this session with nothing sent since.
    When the reach saw another login, `first` may show a killed run's changes that RouterOS is about to
    undo: the converge task takes safe mode first and reads afresh (`settle`)."""
    name = task.host.name
    reached = rollout.reached.get(name)
    settle = reached is not None and reached.others
    if settle:
        first = None
    h = rollout.plan.hub
    client = rollout.plan.branch(name).client_certificate
    bundle = bundles.get(name)
    made = rollout.branch_work.get(name, [])  # its key made on it before the hub (runbooks/branch_keys.py)
    work: list[str] = list(made)
    if bundle is not None:
        res = task.run(
            task=pki.install_branch,
            bundle=bundle,
            client=client,
            ca=h.ca_certificate,
            server=h.server_certificate,
        )
        if res.failed:
            error = scrub(str(res[0].exception or res[0].result))
            failed = _certificate_work(Outcome(name, "failed", error=error), made, run)
            return Result(host=task.host, failed=True, result=failed)
        work += res[0].result
    version = detected(task).version  # the RouterOS the branch runs decides its templates
    script = render_host(with_versions(rollout.fleet, {name: version}), rollout.plan, name)
    result = task.run(
        task=converge,
        intended_script=script,
        run=run,
        dry_run=rollout.options.dry_run,
        backup_password=rollout.secrets.backup_password,
        config_text=first["config"] if first else None,
        settle=settle,
    )[0]
    if rollout.options.dry_run and isinstance(result.result, Outcome) and result.result.status != "failed":
        if rollout.hub_unread:  # not a change, and not green either: said as a warning
            result.result.warnings.append("certificate step not checked: the hub's certificates could not be "
                                          f"read ({rollout.hub_unread})")
        else:
            _certificate_work(result.result, _transfer_planned(task, rollout, client), run, dry_run=True)
    untouched = isinstance(result.result, Outcome) and result.result.status == "unchanged"
    done = isinstance(result.result, Outcome) and result.result.status in ("changed", "unchanged")
    if not done and made and isinstance(result.result, Outcome):  # what was done stays reported
        _certificate_work(result.result, made, run)
    if done and not rollout.options.dry_run:
        try:
            # a renewal's old certificate stays until the gate has seen the tunnel up on the new one
            work += _tidy_branch(task, client, first if bundle is None else None,
                                 supersede=name not in rollout.hub_in_use)
        except Exception as exc:  # the configuration is done: what is left over goes at the next run
            why = scrub(describe(exc))
            result.result.warnings.append(f"superseded certificates or hand-over files not removed: {why}")
        _certificate_work(result.result, work, run)
        result.changed = result.changed or bool(work)
    if untouched and not work and first and not rollout.options.dry_run:
        # the gate's first poll: this read was verify's, and nothing was sent since. An untouched branch
        # usually passes at once, and a re-run then waits for no extra Nornir run per wave.
        rollout.first_states[name] = host_state(name, first, detected(task))
    return result


def _transfer_planned(task: Task, rollout: Rollout, client: str) -> list[str]:
    """Dry run: the branch's certificate hand-over, if the rollout would make one: the hub issues it a new
    certificate in this run, or the one the hub holds is not the one the branch has. Where hub and branch
    run 7.9+ (pki.branch_made) the branch would make its key and the hub sign its request instead."""
    name = task.host.name
    new = rollout.to_issue.get(client_base(client))
    wanted = rollout.fingerprints.get(client)
    if new is not None:
        certificate, why = new, "issued by this run"
    elif wanted is None:
        return [f"the hub has no certificate {client} for it: roll out the hub first (--limit responder)"]
    elif pki.installed_fingerprint(task, client) != wanted:
        certificate, why = client, "the branch lacks it"
    else:
        return []
    if rollout.hub_version and pki.branch_made(rollout.hub_version, detected(task).version):
        return [f"would make a key on {name} and have the hub sign it ({why}): {certificate}"]
    return [f"would transfer certificate {certificate} from the hub to {name} ({why})"]


def _tidy_branch(task: Task, client: str, first: dict[str, str] | None, supersede: bool = True) -> list[str]:
    """Once the branch's identity names `client`: remove the client certificates it replaced (unless
    `supersede` is false: a renewal's, removed after the gate by `_retire_branch`), and the hand-over files
    a killed run left (`first`: this run's first read, still current, with the reach's count of those
    files; None: read here)."""
    dev = device(task)
    done: list[str] = []
    if supersede:
        certs = pki.certificates_by_name(first["certificate"]) if first else pki.read_certificates(dev)
        done = pki.supersede(dev, certs, {client_base(client): client})
    files = first.get("files", "").strip() if first else ""
    if not files.isdigit() or int(files) > 0:  # not counted: removed anyway (nothing there is harmless)
        pki.remove_leftover_files(dev)
        if files.isdigit():
            done.append(f"{files} hand-over file(s) a stopped run left removed")
    return done


def _retire_branch(task: Task, *, rollout: Rollout) -> Result:
    """After the gate: the client certificates a renewal replaced on the branch, removed."""
    client = rollout.plan.branch(task.host.name).client_certificate
    dev = device(task)
    done = pki.supersede(dev, pki.read_certificates(dev), {client_base(client): client})
    return Result(host=task.host, changed=bool(done), result=done)


def _hub_reads(task: Task) -> Result:
    """The hub's configuration (its identities name the certificates in use) and certificates, one round
    trip: (export text, certificates by name, whether another login is open: see LOGINS_READ)."""
    got = read_with_version(task, {"config": READ_CONFIG, "certificate": pki.CERTIFICATE_READ,
                                   "logins": LOGINS_READ})
    logins = got["logins"].strip()
    others = not logins.isdigit() or int(logins) > 1
    certs = pki.certificates_by_name(got["certificate"])
    return Result(host=task.host, result=(got["config"], certs, others))


def _in_use(config: Config, certs: dict[str, Any], plan: Plan) -> dict[str, str]:
    """branch -> the older client certificate a hub identity names while a newer one exists on the hub,
    when that older one still authenticates (not revoked, not expired): the branch may not have the new
    one yet. The hub may also have the identity for the new one already (a hand-over that stopped)."""
    named: dict[str, list[str]] = {}
    for item in config.items("/ip ipsec identity"):
        remote = str(item.get("remote-certificate") or "")
        if item.comment == OWNER and remote:
            named.setdefault(client_base(remote), []).append(remote)
    out = {}
    for b in plan.branches:
        for old in reversed(named.get(client_base(b.client_certificate), [])):
            cert = certs.get(old)
            if old != b.client_certificate and cert and not cert.get("revoked") and not cert.get("expired"):
                out[b.name] = old
                break
    return out


def _named(plan: Plan, names: dict[str, str]) -> Plan:
    """The plan with each branch in `names` (branch -> certificate) also accepting that older certificate on
    the hub (a second identity, `previous_certificate`)."""
    return replace(plan, branches=tuple(replace(b, previous_certificate=names.get(b.name, ""))
                                        for b in plan.branches))


def _hub_moves(task: Task, moves: dict[str, tuple[str, str]]) -> Result:
    """On the hub: each branch's identity for its old certificate removed, the one for its new certificate
    kept (`pki.remove_identities`), then the old certificate removed. branch -> what was done, for the
    branches whose removal succeeded."""
    done: dict[str, list[str]] = {}
    for branch, (old, new) in moves.items():
        try:
            pki.remove_identities(task, field="remote-certificate", gone=old, kept=new)
        except Exception:  # undone by safe mode; the others still move
            continue
        work = [f"hub identity moved from certificate {old} to {new}"]
        with contextlib.suppress(Exception):  # left for the next run's removal
            work += pki.remove_superseded(task, clients={client_base(new): new}).result
        done[branch] = work
    return Result(host=task.host, result=done)


def _reach_or_log_in(task: Task, *, rollout: Rollout) -> Result:
    """The reach's task. A branch is reached (`_reach`). The hub only logs in (the login's version read:
    nothing is changed, nothing else is read, no safe mode): the round trips of its login overlap the
    branches' instead of following them, and its session stays open for the hub's phase (a converged
    re-run's sequential phases: the reach, then the hub's reads)."""
    if task.host.name != rollout.fleet.hub.name:
        return _reach(task, rollout=rollout)
    device(task)
    return Result(host=task.host, result=None)


def _reach(task: Task, *, rollout: Rollout) -> Result:
    """Before the hub is changed: log in (the version read), read what verify reads and count the hand-over
    files a killed run left (in the same round trip), and say whether this run changes the branch
    (Reached). The session is closed: the wave opens its own if the branch changes, so a run holds sessions
    for one wave, not for the fleet.
    The branch is rendered with the newest of its own client certificates (the hub's are read later; the
    gate's `settled` compares the fingerprints)."""
    name = task.host.name
    try:
        raw, found = read_raw(task, rollout.routes[name], extra={"files": FILES_READ, "logins": LOGINS_READ})
        files = raw.pop("files").strip()
        logins = raw.pop("logins").strip()
    finally:
        close(task.host)
    count = int(files) if files.isdigit() else None
    others = not logins.isdigit() or int(logins) > 1
    current = parse_script(raw["config"])
    if not any(is_marked(path, item) for path, items in current.menus.items() for item in items):
        new = Reached("new", files=count, others=others, version=found.version)
        return Result(host=task.host, result=new)
    certs = pki.certificates_by_name(raw["certificate"])
    plan = resolve_clients(rollout.plan, certs)
    client = plan.branch(name).client_certificate
    script = render_host(with_versions(rollout.fleet, {name: found.version}), plan, name)
    fingerprint = pki.client_fingerprint(raw["certificate"], client)
    server = certs.get(rollout.plan.hub.server_certificate, {}).get("fingerprint")
    versions = client_versions(certs, client_base(client))
    superseded = [n for n in versions[: versions.index(client)] if not certs[n].get("revoked")] \
        if client in versions else []
    if (fingerprint is None or count != 0 or superseded or others
            or plan_changes(current, script, found.major).commands):
        return Result(host=task.host, result=Reached("changes", fingerprint, files=count, others=others,
                                                     version=found.version, server=server))
    state = host_state(name, raw, found)
    return Result(host=task.host, result=Reached("unchanged", fingerprint, state, found.warning, count,
                                                 version=found.version, server=server))


def _put_back(task: Task, *, rollout: Rollout, snapshots: dict[str, str]) -> Result:
    """tasks.converge.put_back with the branch's intended script (the items the intent sets)."""
    name = task.host.name
    script = render_host(with_versions(rollout.fleet, {name: detected(task).version}), rollout.plan, name)
    return task.run(task=put_back, snapshot_text=snapshots[name], intended_script=script)[0]
