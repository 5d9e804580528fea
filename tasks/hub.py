"""The hub's reads a rollout needs besides converging it: which client certificates it holds for the
branches (the names the identities use, the fingerprints the branches must hold), its configuration and
whether another login is open. Read only."""

from __future__ import annotations

from typing import Any, NamedTuple

from nornir.core.task import Result, Task

from ikefleet.plan import NAMES, Plan, resolve_clients

from . import pki
from .converge import LOGINS_READ, READ_CONFIG
from .device import device
from .version import read_with_version


def clients_held(certs: dict[str, Any], plan: Plan) -> dict[str, pki.Client]:
    """base name -> the branch's current client certificate among the hub's `certs` (the newest version)."""
    out = {}
    for b in resolve_clients(plan, certs).branches:
        cert = certs.get(b.client_certificate)
        if cert is not None:
            base = NAMES["branch_certificate"].format(branch=b.name)
            out[base] = pki.Client(b.client_certificate, cert.get("fingerprint", ""),
                                   cert.get("serial_number", ""))
    return out


class Held(NamedTuple):
    """What the branches must hold of the hub's: their current client certificates (base name ->
    pki.Client) and the fingerprint of the hub's own certificate, which every branch's copy must match
    (None: the hub has none)."""

    clients: dict[str, pki.Client]
    server: str | None


def held(certs: dict[str, Any], plan: Plan) -> Held:
    """`Held` among the hub's `certs`: a run that does not converge the hub still hands a branch whose
    copy of the hub's certificate is stale (a run stopped after the hub renewed it) its certificates."""
    server = certs.get(plan.hub.server_certificate, {}).get("fingerprint") or None
    return Held(clients_held(certs, plan), server)


def hub_held(task: Task, *, plan: Plan) -> Result:
    """Nornir task on the hub, read only: `Held`, when the hub is not converged in this run (a dry run
    too)."""
    return Result(host=task.host, result=held(pki.read_certificates(device(task)), plan))


def hub_clients(task: Task, *, plan: Plan) -> Result:
    """Nornir task on the hub, read only: the branches' current client certificates (base name ->
    pki.Client), when the hub is not converged in this run, or on a dry run."""
    return Result(host=task.host, result=clients_held(pki.read_certificates(device(task)), plan))


class HubState(NamedTuple):
    """The hub as `hub_reads` found it: its export, its certificates by name, and whether another login is
    open (perhaps a killed run's session whose safe-mode changes RouterOS has not undone yet)."""

    config: str
    certificates: dict[str, Any]
    others: bool

    def __str__(self) -> str:  # print_result: the size of what was read, not all of it
        return (f"configuration ({len(self.config.splitlines())} lines), {len(self.certificates)} "
                f"certificate(s), {'another login open' if self.others else 'no other login'}")


def hub_reads(task: Task) -> Result:
    """Nornir task on the hub, read only: its configuration (its identities name the certificates in use)
    and certificates, one round trip (HubState)."""
    got = read_with_version(task, {"config": READ_CONFIG, "certificate": pki.CERTIFICATE_READ,
                                   "logins": LOGINS_READ})
    logins = got["logins"].strip()
    others = not logins.isdigit() or int(logins) > 1
    certs = pki.certificates_by_name(got["certificate"])
    return Result(host=task.host, result=HubState(got["config"], certs, others))

