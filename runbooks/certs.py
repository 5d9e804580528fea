"""`ikefleet certs status|renew|revoke`: the fleet's certificates, seen from the hub (the CA).

status: every certificate the hub issued, days left, and whether each branch holds the hub's current one.
renew BRANCH: issue the branch a new certificate and hand it over (also after a revocation).
revoke BRANCH: revoke its certificate on the hub (the CRL then rejects it), and converge the hub without the
branch, which removes its identity, mode-config, EoIP and OSPF interface; rollouts leave it alone until it
is renewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nornir.core.filter import F
from nornir.core.task import Result, Task

from ikefleet import revoked
from ikefleet.device import describe
from ikefleet.inventory import init_nornir, load_inventory, read_config
from ikefleet.plan import build_plan
from ikefleet.redact import scrub
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.rundir import exclusive
from ikefleet.tasks import pki
from ikefleet.tasks.device import device


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
    device(task).send(f'/certificate issued-revoke [find where name="{client}"]')
    return Result(host=task.host, changed=True)


class Certs:
    def __init__(self, config: Path, secrets_file: Path | None = None) -> None:
        self.config = config
        self.secrets_file = secrets_file
        self.fleet = load_inventory(config)
        self.plan = build_plan(self.fleet)
        self.data_dir = read_config(config).path.parent / ".ikefleet"
        self.policy = pki.CertPolicy(**vars(self.fleet.defaults.certificates))

    def _branch(self, name: str) -> str:
        try:
            return self.plan.branch(name).client_certificate
        except KeyError:
            known = ", ".join(b.name for b in self.plan.branches)
            raise CertsError(f"no branch {name!r} in the inventory (branches: {known})") from None

    def _hub_run(self, nr: object, task: object, **params: object) -> object:
        hub = self.fleet.hub.name
        res = nr.filter(name=hub).run(task=task, on_failed=True, **params)  # type: ignore[attr-defined]
        if res[hub].failed:
            failed = next(r for r in res[hub] if r.failed)
            why = describe(failed.exception) if failed.exception else str(failed.result)
            raise CertsError(scrub(f"hub {hub}: {why}"))
        return res[hub][0].result

    def status(self) -> list[CertRow]:
        nr = init_nornir(self.config, self.secrets_file)
        try:
            certs = self._hub_run(nr, _hub_certificates)
            gone = revoked.load(self.data_dir)
            rows = []
            h = self.plan.hub
            for name, role in ((h.ca_certificate, "ca"), (h.server_certificate, "hub")):
                rows.append(self._row(certs.get(name), name, role, "", "n/a"))  # type: ignore[attr-defined]
            installed = nr.filter(F(name__in=[b.name for b in self.plan.branches])).run(
                task=_installed_on_branch, plan=self.plan, on_failed=True
            )
            for b in self.plan.branches:
                cert = certs.get(b.client_certificate)  # type: ignore[attr-defined]
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

    def _row(self, cert: dict | None, name: str, role: str, branch: str, where: str) -> CertRow:
        if cert is None:
            return CertRow(name, role, branch, None, "", "not issued", where)
        left = cert.get("expires_after")
        flags = [f for f in ("revoked", "expired") if cert.get(f)]
        days = None if left is None else int(left) // 86400
        return CertRow(name, role, branch, days, cert.get("fingerprint", ""), ",".join(flags), where)

    def renew(self, branch: str) -> str:
        """Under the rollout lock: a rollout converging the same routers would race the handover."""
        client = self._branch(branch)
        with exclusive(self.data_dir):
            pki.sweep_temporary()
            return self._renew(branch, client)

    def _renew(self, branch: str, client: str) -> str:
        h = self.plan.hub
        nr = init_nornir(self.config, self.secrets_file)
        try:
            self._hub_run(
                nr,
                pki.ensure_clients,
                clients=[client],
                ca=h.ca_certificate,
                policy=self.policy,
                renew=(client,),
            )
            bundle = self._hub_run(
                nr,
                pki.export_bundle,
                branch=branch,
                client=client,
                ca=h.ca_certificate,
                server=h.server_certificate,
            )
            res = nr.filter(name=branch).run(
                task=pki.install_branch,
                bundle=bundle,
                client=client,
                ca=h.ca_certificate,
                server=h.server_certificate,
                on_failed=True,
            )
            if res[branch].failed:
                failed = res[branch][0]
                why = describe(failed.exception) if failed.exception else str(failed.result)
                raise CertsError(
                    scrub(
                        f"{branch}: the new certificate was issued but not installed: {why}; "
                        f"run `ikefleet rollout --limit {branch}` once it is reachable"
                    )
                )
        finally:
            nr.close_connections(on_failed=True)
        gone = revoked.load(self.data_dir)
        if branch in gone:
            revoked.save(self.data_dir, gone - {branch})
            return (
                f"{branch}: new certificate {client} issued and installed; it was revoked, so run "
                f"`ikefleet rollout` to restore its identity on the hub"
            )
        return f"{branch}: new certificate {client} issued and installed"

    def revoke(self, branch: str) -> Summary:
        """Under the rollout lock, held until the hub has converged without the branch."""
        client = self._branch(branch)
        with exclusive(self.data_dir):
            nr = init_nornir(self.config, self.secrets_file)
            try:
                self._hub_run(nr, _revoke, client=client)
            finally:
                nr.close_connections(on_failed=True)
            revoked.save(self.data_dir, revoked.load(self.data_dir) | {branch})
            return Rollout(
                RolloutOptions(config=self.config, limit=("responder",), secrets_file=self.secrets_file)
            ).run_locked()


def _installed_on_branch(task: Task, plan: object) -> Result:
    client = plan.branch(task.host.name).client_certificate  # type: ignore[attr-defined]
    return _installed(task, client)
