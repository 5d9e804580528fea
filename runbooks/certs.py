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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nornir.core.filter import F
from nornir.core.task import Result, Task

from ikefleet import revoked
from ikefleet.device import describe
from ikefleet.inventory import load_inventory, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import build_plan, client_versions, resolve_clients
from ikefleet.redact import scrub
from ikefleet.runbooks.branch_keys import make_keys
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.rundir import RunDir, exclusive, keep_runs
from ikefleet.tasks import pki
from ikefleet.tasks.converge import Outcome
from ikefleet.tasks.device import device
from ikefleet.tasks.state import tunnel_state
from ikefleet.tasks.version import detect_version

if TYPE_CHECKING:
    from nornir.core import Nornir

    from ikefleet.parsers.certificate import Certificate
    from ikefleet.plan import Plan


class CertsError(RuntimeError):
    """The operation could not be done; the message says why and what to do."""


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
        self.accept_new_hostkeys = accept_new_hostkeys  # pin a router's changed key (ikefleet.hostkeys)
        self.fleet = load_inventory(config)
        self.plan = build_plan(self.fleet)
        self.data_dir = read_config(config).path.parent / ".ikefleet"
        self.policy = pki.CertPolicy(**vars(self.fleet.defaults.certificates))
        self.tunnel_timeout_s = 60.0  # renew: how long the tunnel may take to come back

    def _branch(self, name: str) -> str:
        try:
            return self.plan.branch(name).client_certificate
        except KeyError:
            known = ", ".join(b.name for b in self.plan.branches)
            raise CertsError(f"no branch {name!r} in the inventory (branches: {known})") from None

    def _hub_run(self, nr: Nornir, task: Callable[..., Result], **params: Any) -> Any:
        return self._run_on(nr, self.fleet.hub.name, task, **params)

    def _run_on(self, nr: Nornir, host: str, task: Callable[..., Result], **params: Any) -> Any:
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
        """Under the rollout lock: a rollout converging the same routers would race the handover. What was
        done (or why not) is on the record: a run directory `<time>-certs-renew` with the branch's outcome
        in results.jsonl and summary.json, like a rollout's."""
        client = self._branch(branch)
        with exclusive(self.data_dir):
            pki.sweep_temporary()
            config = read_config(self.config)
            run = RunDir(self.data_dir, "certs-renew",
                         keep=keep_runs((config.nornir.get("ikefleet") or {}).get("runs"), str(config.path)))
            try:
                message = self._renew(branch, client)
            except CertsError as exc:
                _on_record(run, Outcome(branch, "failed", error=str(exc)))
                raise CertsError(f"{exc}; record: {run.path}") from None
            _on_record(run, Outcome(branch, "changed", changes=[message], certificates=[message]))
            return f"{message}; record: {run.path}"

    def _renew(self, branch: str, base: str) -> str:
        """Issue a new certificate under a new name (made on the branch where both ends run 7.9+, as the
        rollout does: runbooks/branch_keys.py), import it on the branch next to the one in use, give the hub
        a second identity for it (the hub then accepts either), move the branch's identity to it, remove the
        hub's identity for the old one, check the tunnel comes back, and only then remove the old
        certificate on both. A failure before the end takes each step back, so the old one stays in use; a
        kill leaves a working pair (an unused certificate, or the hub accepting both), which the next
        rollout converges."""
        h = self.plan.hub
        nr = init_nornir(self.config, self.secrets_file, self.accept_new_hostkeys)
        try:
            before: dict[str, Certificate] = self._hub_run(nr, _hub_certificates)
            versions = client_versions(before, base)
            old = versions[-1] if versions else base
            made = pki.branch_made(self._run_on(nr, self.fleet.hub.name, detect_version).version,
                                   self._run_on(nr, branch, detect_version).version)
            if made:  # the branch makes its key; installed beside the old one, or nothing changed
                done = make_keys(nr, self.fleet.hub.name, {branch: base}, ca=h.ca_certificate,
                                 server=h.server_certificate, policy=self.policy, renew=(base,))
                if branch in done.failed:
                    raise CertsError(scrub(f"{branch}: {done.failed[branch]}; nothing changed: {old} is "
                                           "still in use"))
                new = done.wanted[branch].name
                after: dict[str, Certificate] = self._hub_run(nr, _hub_certificates)
                clients: dict[str, pki.Client] = {base: pki.Client(new, "", _serial(after.get(new)))}
            else:
                clients = self._hub_run(nr, pki.ensure_clients, clients=[base], ca=h.ca_certificate,
                                        policy=self.policy, renew=(base,))
                new = clients[base].name
            undo = _Undo(self, nr, branch, old, new)
            try:
                if not made:
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
            removed = []
            leftovers = []
            for host in (branch, self.fleet.hub.name):
                try:
                    removed += self._run_on(nr, host, pki.remove_superseded, clients={base: new})
                except CertsError as exc:
                    leftovers.append(str(exc))
        finally:
            nr.close_connections(on_failed=True)
        serials = (_serial(before.get(old)), _serial(clients[base]))
        message = f"{branch}: certificate {base} renewed ({old} -> {new}), in use on both ends"
        if serials[0]:
            message += f" (serial {serials[0]} -> {serials[1]})"
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

    def revoke(self, branch: str) -> Summary:
        """Under the rollout lock, held until the hub has converged without the branch."""
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
            return rollout.run_locked()


def _on_record(run: RunDir, outcome: Outcome) -> None:
    """One outcome as a rollout records its hosts' (results.jsonl, summary.json)."""
    run.append_result(outcome.to_json())
    run.write_json("summary.json", {"run_dir": str(run.path), "dry_run": False, "hosts": {
        outcome.host: {k: v for k, v in outcome.to_json().items() if k != "host"}}})


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
