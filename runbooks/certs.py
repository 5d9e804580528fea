"""`ikefleet certs status|renew|revoke`: the fleet's certificates, seen from the hub (the CA).

status: every certificate the hub issued, days left, and whether each branch holds the hub's current one.
renew BRANCH: issue the branch a new certificate and hand it over (also after a revocation).
revoke BRANCH: revoke its certificate on the hub (the CRL then rejects it), and converge the hub without the
branch, which removes its identity, mode-config, EoIP and OSPF interface; rollouts leave it alone until it
is renewed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nornir.core.filter import F
from nornir.core.task import AggregatedResult, Result, Task

from ikefleet import revoked
from ikefleet.connection.session import describe
from ikefleet.inventory import load_inventory, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import build_plan, client_versions, resolve_clients
from ikefleet.processors.ledger import Summary
from ikefleet.redact import scrub
from ikefleet.runbooks.branch_keys import make_keys
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.rundir import RunDir, exclusive, keep_runs
from ikefleet.selection import SelectionError, names, select
from ikefleet.tasks import pki
from ikefleet.tasks.converge import Outcome
from ikefleet.tasks.device import device
from ikefleet.tasks.signer import HubSigner, session
from ikefleet.tasks.signer import jobs as signer_jobs
from ikefleet.tasks.state import tunnel_state
from ikefleet.tasks.version import detect_version

if TYPE_CHECKING:
    from nornir.core import Nornir

    from ikefleet.parsers.certificate import Certificate
    from ikefleet.plan import Plan


class CertsError(RuntimeError):
    """The operation could not be done; the message says why and what to do."""


class CertsInputError(CertsError):
    """Bad input (a selection naming nothing): exit 2, nothing contacted."""


@dataclass(frozen=True)
class Renewal:
    """What `renew_many` did: branch -> what was done, branch -> why not (its old certificate in use), and
    the run directory that records it."""

    renewed: dict[str, str]
    failed: dict[str, str]
    record: Path


@dataclass(frozen=True)
class Revocation:
    """What `revoke` did: the certificates it revoked on the `hub` (`names`), the hub-only rollout that then
    converged the hub without the branch (`summary`), and `held`, that run's line when it kept the hub's
    own certificate due for renewal ('' when not: tasks.handover.held_back)."""

    hub: str
    names: list[str]
    summary: Summary
    held: str

    @property
    def converged(self) -> bool:
        """Whether the hub converged without the branch: its outcome is not failed, or failed only with
        `held` (the run fails a hub whose renewal it held back once its configuration converged)."""
        hub = self.summary.hosts.get(self.hub)
        return hub is not None and (hub.status != "failed" or (bool(self.held) and hub.error == self.held))


@dataclass(frozen=True)
class CertRow:
    name: str
    role: str  # ca | hub | branch
    branch: str
    days_left: int | None
    fingerprint: str
    flags: str  # e.g. "revoked", "expired"
    on_branch: str  # current | outdated | missing | unreachable | n/a


def _hub_certificates(task: Task) -> Result:
    return Result(host=task.host, result=pki.read_certificates(device(task)))


def _installed(task: Task, client: str) -> Result:
    return Result(host=task.host, result=pki.installed_fingerprint(task, client))


def _revoke(task: Task, client: str) -> Result:
    """Revoke every version of the branch's client certificate (`client` is the base name: renewals have
    their own names, and one still on its way must not authenticate either)."""
    dev = device(task)
    versions = [n for n, c in pki.read_certificates(dev).items()
                if n in client_versions([n], client) and not c.get("revoked")]
    for name in versions:
        dev.send(f'/certificate issued-revoke [find where name="{name}"]')
    return Result(host=task.host, changed=bool(versions), result=versions)


class Certs:
    def __init__(self, config: Path, secrets_file: Path | None = None,
                 accept_new_hostkeys: bool = False) -> None:
        self.config = config
        self.secrets_file = secrets_file
        self.accept_new_hostkeys = accept_new_hostkeys  # pin a changed router key (connection.hostkeys)
        self.fleet = load_inventory(config)
        self.plan = build_plan(self.fleet)
        self.data_dir = read_config(config).path.parent / ".ikefleet"
        self.policy = pki.CertPolicy(**vars(self.fleet.defaults.certificates))
        self.tunnel_timeout_s = 60.0  # renew: how long the tunnel may take to come back
        # held around every task on the hub while a HubSigner makes keys on its session (tasks/signer.py)
        self.hub_lock: AbstractContextManager[Any] = contextlib.nullcontext()

    def _branch(self, name: str) -> str:
        try:
            return self.plan.branch(name).client_certificate
        except KeyError:
            known = ", ".join(b.name for b in self.plan.branches)
            raise CertsError(f"no branch {name!r} in the inventory (branches: {known})") from None

    def _hub_run(self, nr: Nornir, task: Callable[..., Result], **params: Any) -> Any:
        return self._run_on(nr, self.fleet.hub.name, task, **params)

    def _run_on(self, nr: Nornir, host: str, task: Callable[..., Result], **params: Any) -> Any:
        """`task` on `host`; its result, or CertsError naming the host and why. A task on the hub holds
        `hub_lock` (a background signer shares the hub's session)."""
        with self.hub_lock if host == self.fleet.hub.name else contextlib.nullcontext():
            res = nr.filter(name=host).run(task=task, on_failed=True, **params)
        if res[host].failed:
            failed = next((r for r in reversed(res[host]) if r.failed and r.exception), res[host][0])
            why = describe(failed.exception) if failed.exception else str(failed.result)
            raise CertsError(scrub(f"{'hub ' if host == self.fleet.hub.name else ''}{host}: {why}"))
        return res[host][0].result

    def status(self) -> list[CertRow]:
        nr = init_nornir(self.config, self.secrets_file, self.accept_new_hostkeys)
        try:
            certs: dict[str, Certificate] = self._hub_run(nr, _hub_certificates)
            plan = resolve_clients(self.plan, certs)
            gone = revoked.load(self.data_dir)
            rows = []
            h = plan.hub
            for name, role in ((h.ca_certificate, "ca"), (h.server_certificate, "hub")):
                rows.append(self._row(certs.get(name), name, role, "", "n/a"))
            installed = nr.filter(F(name__in=[b.name for b in plan.branches])).run(
                task=_installed_on_branch, plan=plan, on_failed=True
            )
            for b in plan.branches:
                cert = certs.get(b.client_certificate)
                if installed[b.name].failed:
                    where = "unreachable"
                else:
                    have = installed[b.name][0].result
                    want = cert.get("fingerprint") if cert else None
                    where = "missing" if have is None else "current" if have == want else "outdated"
                row = self._row(cert, b.client_certificate, "branch", b.name, where)
                if b.name in gone and "revoked" not in row.flags:
                    row = CertRow(**{**row.__dict__, "flags": ",".join(filter(None, [row.flags, "revoked"]))})
                rows.append(row)
            return rows
        finally:
            nr.close_connections(on_failed=True)

    def _row(self, cert: Certificate | None, name: str, role: str, branch: str, where: str) -> CertRow:
        if cert is None:
            return CertRow(name, role, branch, None, "", "not issued", where)
        left = cert.get("expires_after")
        flags = [f for f in ("revoked", "expired") if cert.get(f)]
        days = None if left is None else int(left) // 86400
        return CertRow(name, role, branch, days, cert.get("fingerprint", ""), ",".join(flags), where)

    def renew(self, branch: str) -> str:
        """`renew_many` of one branch: what was done, or CertsError saying why not (the record's path in
        either)."""
        done = self.renew_many([branch])
        if branch in done.failed:
            raise CertsError(f"{done.failed[branch]}; record: {done.record}")
        return f"{done.renewed[branch]}; record: {done.record}"

    def selected(self, limit: list[str]) -> list[str]:
        """The branches `limit` names (hosts or groups, as --limit takes them: ikefleet.selection). A name
        that matches nothing, or a selection without a branch, is CertsInputError."""
        try:
            chosen = select(self.fleet, limit)
        except SelectionError as exc:
            raise CertsInputError(str(exc)) from None
        branches = [b.name for b in self.plan.branches if b.name in chosen]
        if not branches:
            raise CertsInputError(f"{', '.join(names(limit))} selects no branch (the hub's own certificate "
                                  "is renewed by `ikefleet rollout`); fix: name branches or a group of them")
        return branches

    def renew_many(self, branches: list[str]) -> Renewal:
        """Renew every branch of `branches` in one run, under the rollout lock (a rollout converging the
        same routers would race the hand-over). Where both ends run 7.9+ every branch makes its key at the
        same time (runbooks/branch_keys.py); elsewhere the hub makes each key in the background
        (tasks/signer.py) while the branches whose key is made are handed over, one by one. Each branch's
        hand-over is `_hand_over` (a failure takes its steps back: its old certificate stays in use); one
        branch's failure does not stop the others. What was done (or why not) is on the record: a run
        directory `<time>-certs-renew`, each branch's outcome in results.jsonl and summary.json."""
        bases = {b: self._branch(b) for b in dict.fromkeys(branches)}
        with exclusive(self.data_dir):
            pki.sweep_temporary()
            config = read_config(self.config)
            run = RunDir(self.data_dir, "certs-renew",
                         keep=keep_runs((config.nornir.get("ikefleet") or {}).get("runs"), str(config.path)))
            try:
                renewed, failed = self._renew(bases)
            except CertsError as exc:  # nothing could start (the hub unreachable): every branch failed
                renewed, failed = {}, dict.fromkeys(bases, str(exc))
            outcomes = [Outcome(b, "changed", changes=[renewed[b]], certificates=[renewed[b]]) if b in renewed
                        else Outcome(b, "failed", error=failed.get(b, "not done")) for b in bases]
            _on_record(run, outcomes)
            why = {b: failed.get(b, "not done") for b in bases if b not in renewed}
            return Renewal(renewed, why, run.path)

    def _renew(self, bases: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """(branch -> what was done, branch -> why it failed) for `bases` (branch -> base name). CertsError
        when the hub cannot be read (nothing changed anywhere)."""
        h = self.plan.hub
        hub = self.fleet.hub.name
        renewed: dict[str, str] = {}
        failed: dict[str, str] = {}
        signer: HubSigner | None = None
        nr = init_nornir(self.config, self.secrets_file, self.accept_new_hostkeys)
        try:
            before: dict[str, Certificate] = self._hub_run(nr, _hub_certificates)
            old = {b: (client_versions(before, base) or [base])[-1] for b, base in bases.items()}
            hub_version = self._run_on(nr, hub, detect_version).version
            found = nr.filter(F(name__in=list(bases))).run(task=detect_version, on_failed=True)
            made: dict[str, str] = {}  # branch-made: both ends 7.9+
            by_hub: dict[str, str] = {}
            for b, base in bases.items():
                if found[b].failed:
                    failed[b] = f"{b}: unreachable, nothing changed: {_failure(found, b)}"
                elif pki.branch_made(hub_version, found[b][0].result.version):
                    made[b] = base
                else:
                    by_hub[b] = base
            new: dict[str, str] = {}
            if made:  # every branch makes its key at once, beside the one in use
                keys = make_keys(nr, hub, made, ca=h.ca_certificate, server=h.server_certificate,
                                 policy=self.policy, renew=tuple(made.values()))
                for b, why in keys.failed.items():
                    failed[b] = scrub(f"{b}: {why}; nothing changed: {old[b]} is still in use")
                new.update({b: keys.wanted[b].name for b in made if b not in keys.failed})
            if by_hub:  # then the hub makes each key in the background (first wanted first made), the
                # branch-made ones meanwhile handed over
                todo = signer_jobs(before, by_hub, self.policy, datetime.now(UTC),
                                   renew=tuple(by_hub.values()))
                dev = self._hub_run(nr, session)
                signer = HubSigner(dev, todo, ca=h.ca_certificate, policy=self.policy).start()
                self.hub_lock = signer.lock
            jobs = {j.branch: j for j in (signer.jobs if signer else [])}
            for b in [*new, *by_hub]:  # the branch-made ones are ready: handed over while the hub signs
                if b in by_hub:
                    lost = signer.wait(b) if signer is not None and b in jobs else "nothing to make"
                    if lost is not None:
                        failed[b] = f"{b}: {lost}; nothing changed: {old[b]} is still in use"
                        continue
                    new[b] = jobs[b].name
                try:
                    renewed[b] = self._hand_over(nr, b, bases[b], old[b], new[b], installed=b in made)
                except CertsError as exc:
                    failed[b] = str(exc)
            if renewed:
                with contextlib.suppress(CertsError):  # the serials are words only
                    after: dict[str, Certificate] = self._hub_run(nr, _hub_certificates)
                    for b in renewed:
                        serials = (_serial(before.get(old[b])), _serial(after.get(new[b])))
                        if serials[0]:
                            renewed[b] = renewed[b].replace(
                                f"({old[b]} -> {new[b]})", f"({old[b]} -> {new[b]}) (serial {serials[0]} -> "
                                f"{serials[1]})", 1)
        finally:
            if signer is not None:
                signer.stop()  # interrupted or failed: the key being made is given up
                for job in signer.jobs:
                    if job.branch not in renewed and job.branch not in failed:
                        failed[job.branch] = f"{job.branch}: not renewed (the run stopped); nothing changed"
                self.hub_lock = contextlib.nullcontext()
            nr.close_connections(on_failed=True)
        return renewed, failed

    def _hand_over(self, nr: Nornir, branch: str, base: str, old: str, new: str, installed: bool) -> str:
        """The hub holds `new` for the branch (`installed`: the branch too, with its key, branch-made):
        import it on the branch next to the one in use, give the hub a second identity for it (the hub
        then accepts either), move the branch's identity to it, remove the hub's identity for the old one,
        check the tunnel comes back, and only then remove the old certificate on both. A failure before
        the end takes each step back, so the old one stays in use (CertsError); a kill leaves a working
        pair (an unused certificate, or the hub accepting both), which the next rollout converges."""
        h = self.plan.hub
        undo = _Undo(self, nr, branch, old, new)
        try:
            if not installed:
                bundle = self._hub_run(nr, pki.export_bundle, branch=branch, client=new,
                                       ca=h.ca_certificate, server=h.server_certificate)
                self._run_on(nr, branch, pki.install_branch, bundle=bundle, client=new,
                             ca=h.ca_certificate, server=h.server_certificate)
            was_up = self._tunnel_up(nr, branch)
            self._hub_run(nr, pki.add_identities, field="remote-certificate", existing=old, new=new)
            undo.hub_added = True
            if not self._run_on(nr, branch, pki.switch_identities, field="certificate", old=old, new=new):
                raise CertsError(f"{branch}: no identity of ikefleet's names certificate {old}; run "
                                 f"`ikefleet rollout --limit {branch}` first")
            undo.branch_switched = True
            self._hub_run(nr, pki.remove_identities, field="remote-certificate", gone=old, kept=new)
            undo.hub_switched = True
            if was_up and not self._tunnel_up(nr, branch, wait_s=self.tunnel_timeout_s):
                raise CertsError(f"{branch}: the tunnel did not come back within "
                                 f"{self.tunnel_timeout_s:.0f}s with the new certificate")
        except BaseException as exc:
            why = str(exc) if isinstance(exc, CertsError) else f"{type(exc).__name__}: {exc}"
            raise CertsError(scrub(f"{why}; {undo.run()}")) from None
        leftovers = []
        for host in (branch, self.fleet.hub.name):
            try:
                self._run_on(nr, host, pki.remove_superseded, clients={base: new})
            except CertsError as exc:
                leftovers.append(str(exc))
        message = f"{branch}: certificate {base} renewed ({old} -> {new}), in use on both ends"
        if leftovers:
            message += ("; the old certificate could not be removed everywhere (the next rollout removes "
                        "it): " + "; ".join(leftovers))
        gone = revoked.load(self.data_dir)
        if branch in gone:
            revoked.save(self.data_dir, gone - {branch})
            message += "; it was revoked, so run `ikefleet rollout` to restore its identity on the hub"
        return message

    def _tunnel_up(self, nr: Nornir, branch: str, wait_s: float = 0.0) -> bool:
        """Whether the branch's tunnel to the hub is up (IKE established, OSPF Full), polled for `wait_s`."""
        h = self.plan.hub
        deadline = time.monotonic() + wait_s
        while True:
            with contextlib.suppress(CertsError):
                if self._run_on(nr, branch, tunnel_state, hub_wan=str(h.wan_address),
                                hub_router_id=str(h.router_id)).up:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)

    def revoke(self, branch: str) -> Revocation:
        """Under the rollout lock, held until the hub has converged without the branch. The hub's own
        certificate, if due then, is renewed by that run's rules: kept while other branches hold a copy
        (`Revocation.held`), since a hub-only run does not hand them the new one."""
        client = self._branch(branch)
        with exclusive(self.data_dir):
            nr = init_nornir(self.config, self.secrets_file, self.accept_new_hostkeys)
            try:
                names: list[str] = self._run_on(nr, self.fleet.hub.name, _revoke, client=client)
            finally:
                nr.close_connections(on_failed=True)
            revoked.save(self.data_dir, revoked.load(self.data_dir) | {branch})
            rollout = Rollout(
                RolloutOptions(config=self.config, limit=("responder",), secrets_file=self.secrets_file,
                               accept_new_hostkeys=self.accept_new_hostkeys)
            )
            # the revocation is the hub's certificate work, on the record of the run that converges it
            rollout.done_before[self.fleet.hub.name] = [
                f"certificate {name} revoked (`ikefleet certs revoke {branch}`)" for name in names]
            return Revocation(self.fleet.hub.name, names, rollout.run_locked(), rollout.hub_held)


def _on_record(run: RunDir, outcomes: list[Outcome]) -> None:
    """Outcomes as a rollout records its hosts' (results.jsonl, summary.json)."""
    for outcome in outcomes:
        run.append_result(outcome.to_json())
    run.write_json("summary.json", {"run_dir": str(run.path), "dry_run": False, "hosts": {
        o.host: {k: v for k, v in o.to_json().items() if k != "host"} for o in outcomes}})


def _failure(result: AggregatedResult, host: str) -> str:
    multi = result[host]
    failed = next((r for r in reversed(multi) if r.failed and r.exception), multi[0])
    return scrub(describe(failed.exception) if failed.exception else str(failed.result))


def _installed_on_branch(task: Task, plan: Plan) -> Result:
    client = plan.branch(task.host.name).client_certificate
    return _installed(task, client)


def _serial(cert: object) -> str:
    if isinstance(cert, pki.Client):
        return cert.serial
    return str(cert.get("serial_number", "")) if isinstance(cert, dict) else ""


class _Undo:
    """What a renewal that did not finish takes back, last step first, so the old certificate stays in use:
    the hub's identity for the old one back, the branch's identity switched back, the hub's identity for
    the new one removed (each in safe mode), then the new certificate removed from both routers."""

    def __init__(self, certs: Certs, nr: Nornir, branch: str, old: str, new: str) -> None:
        self.certs, self.nr, self.branch, self.old, self.new = certs, nr, branch, old, new
        self.hub_added = self.branch_switched = self.hub_switched = False

    def run(self) -> str:
        hub = self.certs.fleet.hub.name
        steps: list[tuple[str, str, Callable[..., Result], dict[str, str]]] = []
        if self.hub_switched:
            steps.append((hub, "hub identity", pki.add_identities,
                          {"field": "remote-certificate", "existing": self.new, "new": self.old}))
        if self.branch_switched:
            steps.append((self.branch, "branch identity", pki.switch_identities,
                          {"field": "certificate", "old": self.new, "new": self.old}))
        if self.hub_added:
            steps.append((hub, "hub identity", pki.remove_identities,
                          {"field": "remote-certificate", "gone": self.new, "kept": self.old}))
        # from the branch even when its import was not seen to finish (a session dropped right after it):
        # removing a certificate it lacks is harmless
        steps.append((self.branch, "new certificate", pki.remove_certificate, {"certificate": self.new}))
        steps.append((hub, "new certificate", pki.remove_certificate, {"certificate": self.new}))
        failed: list[str] = []
        for host, what, task, params in steps:
            if host == hub and what == "new certificate" and failed and failed[-1].startswith(what):
                # the branch may hold it: the hub keeps it too, so the next rollout moves both ends to it
                # (a certificate on the branch the hub lacks would be left there for good)
                continue
            try:
                self.certs._run_on(self.nr, host, task, **params)
            except CertsError as exc:
                failed.append(f"{what} on {host}: {exc}")
        if failed:
            return (f"undoing the renewal failed ({'; '.join(failed)}): run `ikefleet rollout --limit "
                    f"{self.branch}` once it is reachable")
        return f"nothing changed: {self.old} is still in use"
