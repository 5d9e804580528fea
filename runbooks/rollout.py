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
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.filter import F
from nornir.core.inventory import Host
from nornir.core.task import MultiResult

from ikefleet import gc_policy, interrupt, revoked
from ikefleet.config_repo import RepoError
from ikefleet.connection.plugin import RouterOS
from ikefleet.fleet import Fleet, with_versions
from ikefleet.inventory import load_fleet_and_files, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import Plan, build_plan
from ikefleet.processors.events import Note, RunStarted, Sink, WaveStarted, ignore
from ikefleet.processors.ledger import Ledger, Summary, certificate_work, host_outcome, outcome_of
from ikefleet.runbooks.background import Background, join
from ikefleet.runbooks.backup import AFTER, commit_run
from ikefleet.runbooks.hub_step import converge_hub, resolved
from ikefleet.rundir import RunDir, exclusive, keep_runs
from ikefleet.secrets import load_secrets
from ikefleet.selection import select
from ikefleet.tasks import pki
from ikefleet.tasks.branch import HubFacts, WantsCertificate, certified_then_converge, converge_branch
from ikefleet.tasks.converge import PUT_BACK, Outcome
from ikefleet.tasks.device import close, cut
from ikefleet.tasks.gate import wait_until_converged
from ikefleet.tasks.handover import move_hub_identities, retire_old_certificates
from ikefleet.tasks.hub import HubState, clients_held, held, hub_held, hub_reads
from ikefleet.tasks.hub_config import converge_hub_config
from ikefleet.tasks.put_back import put_back_branches
from ikefleet.tasks.reach import Reached, reach_branches
from ikefleet.tasks.results import failure
from ikefleet.verify.expected import Expected, expected_state, route_reads
from ikefleet.verify.gather import HostState
from ikefleet.waves import Amount, over_budget, plan_waves


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
    accept_new_hostkeys: bool = False  # --accept-new-hostkeys: pin a changed router key (connection.hostkeys)
    keep_failed: bool = False  # a branch that fails its gate keeps this run's change (for debugging)


def _selected(fleet: Fleet, limit: tuple[str, ...]) -> tuple[bool, list[str]]:
    """(hub selected, branches selected) for --limit (ikefleet.selection: hosts, groups, comma lists;
    SelectionError for a name that matches nothing)."""
    chosen = set(select(fleet, limit))
    return fleet.hub.name in chosen, [b.name for b in fleet.branches if b.name in chosen]


def _finished(host: Host, multi: MultiResult) -> Outcome | None:
    """A wave task's outcome on `host` once it is final (None: the branch only said which certificate it
    lacks, WantsCertificate: it converges in the wave's second pass)."""
    if not multi.failed and any(isinstance(r.result, WantsCertificate) for r in multi):
        return None
    return outcome_of(multi, host.name)


class Rollout:
    ledger: Ledger  # the run's book of outcomes (results.jsonl, progress, summary.json), from run_locked

    def __init__(self, options: RolloutOptions, progress: Sink = ignore) -> None:
        """`progress`: where the run's progress events go (ikefleet.processors.events; the CLI renders
        them)."""
        self.options = options
        self.progress = progress
        self.fleet_config = read_config(options.config)
        self.data_dir = self.fleet_config.path.parent / ".ikefleet"
        self.keep_runs = keep_runs((self.fleet_config.nornir.get("ikefleet") or {}).get("runs"),
                                   str(self.fleet_config.path))
        self.inventory, self.files = load_fleet_and_files(options.config)  # the YAML parsed once a run
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
        self.reached: dict[str, Reached] = {}  # branch -> what the reach before the hub found
        self.reach_attempts: dict[str, int] = {}  # branch -> connection attempts of the reach before the hub
        # branch -> its state from the converge task's first read, when that task changed nothing on it (the
        # gate's first poll, in the same session: a re-run's branch needs no other read); written by the task
        self.first_states: dict[str, HostState] = {}
        self.to_issue: dict[str, str] = {}  # dry run: base name -> the client certificate the hub would issue
        self.hub_renewing = ""  # dry run: why the hub would issue its own certificate anew ('': it would not)
        self.hub_held = ""  # the hub's certificate due for renewal but kept for the branches not in the run
        # host -> certificate work its caller did under this run's lock (`ikefleet certs revoke`): on the
        # record with the host's outcome
        self.done_before: dict[str, list[str]] = {}
        self.hub_unread = ""  # dry run without the hub: why its certificates could not be read
        self.branch_work: dict[str, list[str]] = {}  # branch -> its branch-made certificate work (runbooks/
        # branch_keys.py), reported with its outcome in its wave
        self.key_failed: dict[str, str] = {}  # branch -> why making its certificate failed (before the hub)
        self.hub_version = ""  # the RouterOS the hub runs, once read (who makes a branch's key)
        self.background: Background | None = None  # the hub making later waves' keys in the background
        self.hub_read: HubState | None = None  # the hub's reads by the reach (its phase starts from them)

    def _resolve(self, clients: dict[str, pki.Client]) -> None:
        """The branches' client certificates as the hub has them now (renewals have new names): the names
        every identity is rendered with, and the fingerprints the branches must hold."""
        self.plan = resolved(self.plan, clients)
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
                             self.options.accept_new_hostkeys, inventory=self.files)
            summary = Summary(run.path, self.options.dry_run)
            self.ledger = Ledger(run, summary, self.progress, before=self.done_before)
            try:
                with interrupt.sigint_stops():
                    try:
                        self._run(nr, run, summary)
                    except KeyboardInterrupt:  # the second Ctrl-C: cut every host now, record each
                        self._cut(nr, run, summary)
            finally:
                nr.close_connections(on_failed=True)
            attempts = RouterOS.connector(nr.config).attempts
            self.ledger.close({  # the most one opening of its sessions took (the reach's, the wave's)
                h: max(attempts.get(h, 0), self.reach_attempts.get(h, 0))
                for h in summary.hosts if h in nr.inventory.hosts
            })
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

    def _wave(self, nr: Nornir, hosts: list[str], run: RunDir) -> Nornir:
        """The wave's branches with the processors that record each branch's outcome in the run directory
        and report it as its task completes."""
        return nr.filter(F(name__in=hosts)).with_processors(self.ledger.processors(_finished, "converging"))

    def _run(self, nr: Nornir, run: RunDir, summary: Summary) -> Summary:
        opts = self.options
        hub_selected, branches = _selected(self.inventory, opts.limit)
        revoked_now = [b for b in branches if b in self.revoked]
        hub_name = self.fleet.hub.name
        self.progress(RunStarted("rollout", tuple(([hub_name] if hub_selected else []) + branches)))
        for name in revoked_now:
            branches.remove(name)
            why = f"certificate revoked: `ikefleet certs renew {name}` brings it back"
            self.ledger.record(Outcome(name, "skipped", error=why))
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
                self.ledger.record(Outcome(name, "failed", error=why))
            branches = [b for b in branches if b not in unreachable]
            first = [b for b in branches if reached[b].kind == "new"]
            first += [b for b in branches if reached[b].kind == "changes"]
        if interrupt.STOP.is_set():
            return self._interrupted(summary, run, ([hub_name] if hub_selected else []) + branches)
        if over_budget(len(summary.failed), total, opts.max_fail):
            summary.stopped = (f"{len(summary.failed)} branch(es) unreachable, {_budget(opts.max_fail)}: "
                               "stopped before the hub was changed")
            for name in ([hub_name] if hub_selected else []) + branches:
                self.ledger.record(Outcome(name, "skipped", error="branches unreachable"))
            return summary
        if hub_selected:
            # the hub makes the first wave's keys now and the later waves' in the background (tasks/signer)
            tentative = plan_waves(branches, canary=opts.canary, wave_size=opts.wave_size, first=first)
            # the fleet's branches this run does not hand the hub's certificate to (left out, unreachable)
            outside = [b.name for b in self.fleet.branches if b.name not in set(branches)]
            later = [b for w in tentative[1:] for b in w]
            outcome = self._converge_hub(hub, run, nr, branches, later, outside)
            if self.hub_held and (opts.dry_run or outcome.status == "failed"):
                outcome.warnings.append(self.hub_held)  # else the hub fails with it once the waves are done
            for name, why in self.key_failed.items():  # the certificate each had stays in use
                self.ledger.record(Outcome(name, "failed", error=why))
            branches = [b for b in branches if b not in self.key_failed]
            self.ledger.record(outcome)
            if outcome.status == "failed":
                summary.stopped = f"hub {hub_name} failed: branches not touched"
                for name in branches:
                    self.ledger.record(Outcome(name, "skipped", error="hub failed"))
                return summary
        elif branches and self.hub_read is not None:  # the reach read the hub's certificates
            # and the hub's own: a branch whose copy is stale (a run stopped after the hub renewed it) is
            # handed it over, as in a run with the hub
            clients, self.server_fingerprint = held(self.hub_read.certificates, self.plan)
            self._resolve(clients)
        elif branches:  # read only: a dry run compares the branches' certificates with the hub's too
            res = hub.run(task=hub_held, on_failed=True, plan=self.plan)
            if res[hub_name].failed and opts.dry_run:  # the configuration's diffs are still worth showing
                self.hub_unread = failure(res, hub_name)
            elif res[hub_name].failed:
                summary.stopped = (
                    f"hub {hub_name}: its certificates could not be read: {failure(res, hub_name)}"
                )
                for name in branches:
                    self.ledger.record(Outcome(name, "skipped", error="hub certificates unreadable"))
                return summary
            else:
                clients, self.server_fingerprint = res[hub_name][0].result
                self._resolve(clients)
        hub_untouched = not hub_selected or summary.hosts[hub_name].status == "unchanged"
        background = self.background.branches if self.background is not None else set()
        settled = {b for b, r in reached.items()
                   if hub_untouched and r.state is not None and b not in background
                   and r.fingerprint == self.fingerprints.get(self.plan.branch(b).client_certificate)
                   and self.server_fingerprint in (None, r.server)}
        # settled and passing verify's checks as the reach read it: nothing to do, and nothing to wait for
        # (the reach read, diffed and checked it): the waves, the canary and the gate are the others'
        passing = [b for b in branches if b in settled and reached[b].passes]
        self._unchanged(run, passing, reached)
        branches = [b for b in branches if b not in set(passing)]
        waves = plan_waves(branches, canary=opts.canary, wave_size=opts.wave_size, first=first)
        summary.waves = waves
        try:
            return self._waves(nr, hub, run, summary, waves, settled, reached, total)
        finally:
            self._signer_done(run, summary)
            self._held_back(summary)

    def _held_back(self, summary: Summary) -> None:
        """The hub's certificate was due for renewal but kept, as branches not in the run hold a copy: the
        hub is failed with the line saying which, why, and the fix, once the run's waves are done (the
        branches of the run go on with the certificate that stays; a failed hub would stop them, and its
        failure would count against --max-fail). Work held back is never green, as a CA held back is not."""
        outcome = summary.hosts.get(self.fleet.hub.name)
        if not self.hub_held or self.options.dry_run or outcome is None or outcome.status == "failed":
            return
        outcome.status, outcome.error = "failed", self.hub_held
        self.ledger.rerecord(outcome)

    def _waves(self, nr: Nornir, hub: Nornir, run: RunDir, summary: Summary, waves: list[list[str]],
               settled: set[str], reached: dict[str, Reached], total: int) -> Summary:
        """The run's waves, one after another: each waits for the keys the hub makes for it in the
        background (`_catch_up`), converges, is gated; later waves stop once failures exceed --max-fail."""
        opts = self.options
        passed: dict[str, int] = {}  # branch -> the wave whose gate it passed
        for number, wave in enumerate(waves, start=1):
            if interrupt.STOP.is_set():
                return self._interrupted(summary, run, [h for w in waves[number - 1:] for h in w])
            self.progress(WaveStarted(number, len(waves), tuple(wave)))
            left = self._catch_up(hub, run, wave, summary)
            if left is None:  # the hub could not take the wave's branches: nothing after it is touched
                rest = [h for w in waves[number - 1:] for h in w if h not in summary.hosts]
                summary.stopped = f"hub {self.fleet.hub.name} failed: {len(rest)} branch(es) not touched"
                for name in rest:
                    self.ledger.record(Outcome(name, "skipped", error="hub failed"))
                break
            wave = left
            # nothing changes on them (read once, before the hub), but verify's checks failed on them then:
            # the gate polls them, starting from what the reach read
            self.first_states.update({b: s for b in wave if b in settled and (s := reached[b].state)})
            self._unchanged(run, [b for b in wave if b in settled], reached)
            self._converge_wave(nr, hub, [b for b in wave if b not in settled], run, summary)
            if not opts.dry_run and not interrupt.STOP.is_set():  # interrupted: tunnels not waited for
                self._gate(nr, [h for h in wave if summary.hosts[h].status != "failed"], summary, run)
                passed.update((h, number) for h in wave if summary.hosts[h].status != "failed")
                # a renewed branch's old certificate goes (its hub identity, then the certificate) only once
                # its tunnel is up on the new one: a branch that failed its gate is put back to a
                # configuration naming the old certificate, which must still be there on both ends
                with self._hub_session():
                    moved = self._move_hub_identities(hub, wave, summary, run)
                self._retire_old(nr, moved, summary, run)
            release(nr, wave)
            if over_budget(len(summary.failed), total, opts.max_fail):
                rest = [h for w in waves[number:] for h in w]
                summary.stopped = (
                    f"{len(summary.failed)} host(s) failed, {_budget(opts.max_fail)}: "
                    f"{len(rest)} host(s) in later waves not touched"
                )
                for name in rest:
                    why = "stopped by --max-fail" if opts.max_fail else "stopped: an earlier wave failed"
                    self.ledger.record(Outcome(name, "skipped", error=why))
                break
        if not interrupt.STOP.is_set():
            last = max(passed.values(), default=0)
            self._gate_again(nr, {h: n for h, n in passed.items() if n < last}, summary)
        if interrupt.STOP.is_set():  # during the last wave or the gate again
            return self._interrupted(summary, run, [])
        return summary

    def _gate_again(self, nr: Nornir, passed: dict[str, int], summary: Summary) -> None:
        """The branches that passed their gate before the last wave (`passed`: branch -> its wave), gated
        again once the later waves are done: those may have changed the hub (its identities, EoIP and OSPF
        interfaces), and a rollout exits 0 only if what verify checks still holds on every branch it gated.
        One parallel read when it does; a branch that no longer passes is failed, not put back (its own
        change passed its gate)."""
        names = [h for h in passed if summary.hosts[h].status != "failed"]
        if not names:
            return
        self.progress(Note(f"gate again: {len(names)} branch(es) of earlier waves, after the later waves"))
        try:
            gate = wait_until_converged(nr, names, expected=self._expected(names),
                                        timeout_s=self.options.gate_timeout_s, routes=self.routes,
                                        progress=self.progress)
        finally:
            release(nr, names)
        for name, why in gate.failed.items():
            outcome = summary.hosts[name]
            outcome.status = "failed"
            outcome.error = (f"passed its gate in wave {passed[name]}, but not as verify checks after the "
                             f"later waves ({self.options.gate_timeout_s:.0f}s): {why}; its change is kept "
                             "(it passed its gate)")
            self.ledger.rerecord(outcome)

    def _unchanged(self, run: RunDir, names: list[str], reached: dict[str, Reached]) -> None:
        """Branches this run leaves as the reach found them, on the record as unchanged (an empty diff)."""
        for name in names:
            run.write_text(f"diffs/{name}.diff", "")
        self.ledger.record_all([
            Outcome(name, "unchanged", warnings=[reached[name].warning] if reached[name].warning else [])
            for name in names
        ])

    def _interrupted(self, summary: Summary, run: RunDir, untouched: list[str]) -> Summary:
        """SIGINT: hosts not started are recorded as such; those in flight were finished or undone."""
        summary.interrupted = True
        for name in untouched:
            outcome = Outcome(name, "interrupted", error=f"{interrupt.MESSAGE}: not started")
            self.ledger.record(outcome)
        stopped = sorted(h for h, o in summary.hosts.items() if o.status == "interrupted")
        summary.stopped = f"{interrupt.MESSAGE}: not finished: {', '.join(stopped) or 'none'}; run again"
        return summary

    def _cut(self, nr: Nornir, run: RunDir, summary: Summary) -> None:
        """The second SIGINT: no command goes to any router any more (interrupt.STOP is aborted), every
        session still open is closed now (tasks.device.cut: one in safe mode by Ctrl-D and the drop, so that
        RouterOS undoes its window), and every host of the run without a record gets one saying how it
        was left. Tasks still running in Nornir's threads end at their next command; their results are
        not waited for."""
        summary.interrupted = True
        hub_selected, branches = _selected(self.inventory, self.options.limit)
        hosts = ([self.fleet.hub.name] if hub_selected else []) + branches
        for name in [h for h in hosts if h not in summary.hosts and h in nr.inventory.hosts]:
            why = cut(nr.inventory.hosts[name], bool(RouterOS.connector(nr.config).attempts.get(name)))
            outcome = Outcome(name, "interrupted", error=f"{interrupt.MESSAGE} twice: {why}")
            self.ledger.record(outcome)
        done = sorted(h for h, o in summary.hosts.items() if o.status == "interrupted")
        summary.stopped = f"{interrupt.MESSAGE} twice: cut at once: {', '.join(done) or 'none'}; run again"

    def _converge_hub(self, hub: Nornir, run: RunDir, nr: Nornir | None = None,
                      branches: list[str] | None = None, later: list[str] | None = None,
                      outside: list[str] | None = None) -> Outcome:
        """The hub's phase (runbooks/hub_step.py: its certificates, then its configuration; the hub-made keys
        of the branches in `later` are made in the background, each wave taking its own in `_catch_up`);
        what it found is kept for the waves."""
        done = converge_hub(hub, nr, fleet=self.fleet, plan=self.plan, policy=self.policy,
                            reached=self.reached, run=run, revoked=self.revoked,
                            backup_password=self.secrets.backup_password, dry_run=self.options.dry_run,
                            branches=branches or [], later=later or [], read=self.hub_read,
                            outside=outside or [])
        self.hub_version, self.hub_in_use, self.to_issue = done.version, done.in_use, done.to_issue
        self.server_fingerprint, self.hub_renewing, self.hub_held = done.server, done.renewing, done.held
        self.branch_work.update(done.branches)  # each waits for its wave
        self.key_failed.update(done.failed)
        self.background = done.background
        if done.clients is not None:
            self._resolve(done.clients)
        return done.outcome

    def _hub_session(self) -> AbstractContextManager[Any]:
        """The hub's session for this thread while the block runs: a background signer shares it."""
        return self.background.signer.hub() if self.background is not None else contextlib.nullcontext()

    def _catch_up(self, hub: Nornir, run: RunDir, wave: list[str], summary: Summary) -> list[str] | None:
        """Before a wave: wait for the keys the hub makes in the background for its branches (a branch whose
        key failed is failed alone, nothing changed on it), then converge the hub's configuration once (one
        safe-mode window) so its identities name them, while the signer goes on with the next waves'. The
        hub's outcome gets the certificates made and the configuration's changes. Returns the wave's
        branches left, or None when the hub could not be converged (it stays as safe mode left it)."""
        if self.background is None or not self.background.branches.intersection(wave):
            return wave
        for name, why in self.background.wait(wave).items():
            self.ledger.record(Outcome(name, "failed", error=f"{why}; nothing changed on it"))
        wave = [b for b in wave if b not in summary.hosts]
        hub_outcome = summary.hosts[self.fleet.hub.name]
        self.background.report(hub_outcome, run)
        h = self.plan.hub
        with self.background.signer.hub():
            read = hub.run(task=hub_reads, on_failed=True)
            if read[h.name].failed:
                again = Outcome(h.name, "failed", error=failure(read, h.name))
            else:
                config_text, certs, others = read[h.name][0].result
                signed = {n: c for n, c in certs.items() if c.get("fingerprint")}  # not one being made
                self.plan = build_plan(self.fleet)  # base names again: resolve_clients looks them up by base
                self._resolve(clients_held(signed, self.plan))
                configured = converge_hub_config(
                    hub, fleet=self.fleet, plan=self.plan, version=self.hub_version, config_text=config_text,
                    certs=signed, others=others, run=run, revoked=self.revoked,
                    backup_password=self.secrets.backup_password, dry_run=self.options.dry_run,
                    waiting=self.background.waiting(signed))
                self.hub_in_use, again = configured.in_use, configured.outcome
        join(hub_outcome, again, wave)
        run.write_text(f"diffs/{h.name}.diff", "\n".join(hub_outcome.changes) + "\n")
        self.ledger.rerecord(hub_outcome)
        return None if again.status == "failed" else wave

    def _signer_done(self, run: RunDir, summary: Summary) -> None:
        """The run's waves are over (or stopped): the background signer makes no more keys (one being made
        is given up: its template removed), and what it made is on the hub's record (a certificate made for a
        branch this run did not reach is unused: the next run hands it over)."""
        if self.background is None:
            return
        self.background.signer.stop()
        hub_outcome = summary.hosts.get(self.fleet.hub.name)
        if hub_outcome is not None and self.background.report(hub_outcome, run):
            self.ledger.rerecord(hub_outcome)

    def _converge_wave(self, nr: Nornir, hub: Nornir, wave: list[str], run: RunDir, summary: Summary) -> None:
        """Every branch of the wave in parallel: one that has its certificate converges at once (a re-run is
        one pass); the certificates the others lack are then exported on the hub in one task (one hub
        session, one SFTP channel), and those branches install them and converge. Each branch's outcome is
        recorded as its task completes (_wave's processors)."""
        if not wave:  # every branch of the wave was settled by the reach
            return
        if self.options.dry_run:
            result = self._wave(nr, wave, run).run(task=converge_branch, dry_run=True,
                                                   **self._branch_args(run))
            for name in wave:
                self.ledger.note(host_outcome(result, name))
            return
        first = self._wave(nr, wave, run).run(task=certified_then_converge, routes=self.routes,
                                              first_states=self.first_states, **self._branch_args(run))
        wanting: dict[str, str] = {}  # branch -> client certificate to hand over
        for name in wave:
            wants = first[name][0].result
            if isinstance(wants, WantsCertificate):
                wanting[name] = wants.client
            else:
                self.ledger.note(host_outcome(first, name))
        if not wanting:
            return
        h = self.plan.hub
        with self._hub_session():
            res = hub.run(task=pki.export_bundles, on_failed=True, clients=wanting, ca=h.ca_certificate,
                          server=h.server_certificate)
        exported = {} if res[h.name].failed else res[h.name][0].result
        bundles: dict[str, pki.Bundle] = {}
        for name in wanting:
            got = exported.get(name) or failure(res, h.name)
            if isinstance(got, pki.Bundle):
                bundles[name] = got
            else:
                why = f"exporting its certificate on the hub failed: {got}"
                self.ledger.record(Outcome(name, "failed", error=why))
        try:
            result = self._wave(nr, list(bundles), run).run(task=converge_branch, bundles=bundles,
                                                            **self._branch_args(run))
        finally:
            for bundle in bundles.values():
                bundle.discard()
        for name in bundles:
            self.ledger.note(host_outcome(result, name))

    def _branch_args(self, run: RunDir) -> dict[str, Any]:
        """What a branch's wave task (tasks/branch.py) is given: the plan, what the hub's step and the reach
        found, the branch-made certificate work."""
        hub = HubFacts(self.fingerprints, self.hub_in_use, self.hub_version, self.to_issue, self.hub_unread,
                       self.server_fingerprint, self.hub_renewing)
        return {"fleet": self.fleet, "plan": self.plan, "hub": hub, "reached": self.reached,
                "made": self.branch_work, "run": run, "backup_password": self.secrets.backup_password}

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
        res = hub.run(task=move_hub_identities, on_failed=True, moves=moves)
        done: dict[str, list[str]] = res[h.name][0].result if not res[h.name].failed else {}
        for name, (old, new) in moves.items():
            outcome = summary.hosts[name]
            if name in done:
                self.hub_in_use.pop(name)
                certificate_work(outcome, done[name], run)
            else:
                outcome.status = "failed"
                outcome.error = (f"the hub's identity for {old} could not be removed (the one for {new} "
                                 "stays): ") + (
                    failure(res, h.name) if res[h.name].failed else "not done")
            self.ledger.rerecord(outcome)
        return list(moves)

    def _retire_old(self, nr: Nornir, moved: list[str], summary: Summary, run: RunDir) -> None:
        """The branches whose hub identity for the old certificate is gone: their old client certificate is
        removed on the branch too. A failure is a warning: the old certificate authenticates nowhere now,
        and the next run removes it."""
        moved = [n for n in moved if summary.hosts[n].status != "failed"]
        if not moved:
            return
        res = nr.filter(F(name__in=moved)).run(task=retire_old_certificates, on_failed=True, plan=self.plan)
        for name in moved:
            outcome = summary.hosts[name]
            if res[name].failed:
                why = failure(res, name)
                outcome.warnings.append(f"superseded certificates not removed (next run): {why}")
            else:
                certificate_work(outcome, res[name][0].result, run)
            self.ledger.rerecord(outcome)

    def _reach(self, nr: Nornir, branches: list[str], hub: str) -> tuple[dict[str, Reached], dict[str, str]]:
        """Every branch of the run before the hub is changed (tasks/reach.py). Returns (branch -> Reached;
        branch -> why it was not reached)."""
        done = reach_branches(nr, branches, hub=hub, fleet=self.fleet, plan=self.plan, routes=self.routes,
                              expected=expected_state(self.fleet, self.plan, []))
        self.reach_attempts.update(done.attempts)
        self.reached, self.hub_read = done.reached, done.hub
        return done.reached, done.unreachable

    def _gate(self, nr: Nornir, wave: list[str], summary: Summary, run: RunDir) -> None:
        """Wait until every branch of the wave passes verify's checks on it (tasks/gate.py), or time out. A
        branch that does not is failed and put back to its configuration before this run."""
        if not wave:
            return
        # branches the converge task left untouched were read in its session: the gate's first poll
        first = {h: s for h in wave if (s := self.first_states.pop(h, None))}
        gate = wait_until_converged(nr, wave, expected=self._expected(wave),
                                    timeout_s=self.options.gate_timeout_s, routes=self.routes, first=first,
                                    progress=self.progress)
        backs = self._put_back(nr, list(gate.failed), summary, run)
        for name, why in gate.failed.items():
            outcome = summary.hosts[name]
            outcome.status = "failed"
            outcome.put_back = backs[name]
            outcome.error = (f"gate failed: not as verify checks after {self.options.gate_timeout_s:.0f}s: "
                             f"{why}; {backs[name]}")
            self.ledger.rerecord(outcome)

    def _expected(self, branches: list[str]) -> Expected:
        """What verify expects of `branches`, for the RouterOS versions the run found them at."""
        versions = {h: v for h in branches if h in self.reached and (v := self.reached[h].version)}
        return expected_state(with_versions(self.fleet, versions), self.plan, list(branches))

    def _put_back(self, nr: Nornir, hosts: list[str], summary: Summary, run: RunDir) -> dict[str, str]:
        """Branches that failed their gate: the ones this run changed are put back to the configuration
        read before the change (`backups/<host>.rsc`, tasks/put_back.py), unless --keep-failed. host -> what
        became of it."""
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
        backs = put_back_branches(nr, snapshots, fleet=self.fleet, plan=self.plan)
        for name, word in backs.items():
            if word == PUT_BACK:  # as found again: the backups repository gets no "as left"
                (run.path / "backups" / f"{name}{AFTER}").unlink(missing_ok=True)
        return {**words, **backs}


def _budget(max_fail: Amount | None) -> str:
    return f"more than --max-fail {max_fail}" if max_fail is not None else "and no --max-fail allows any"
