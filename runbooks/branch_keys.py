"""Branch-made certificates (RouterOS 7.9+ on both ends): every branch that needs a certificate makes its key
at once, in parallel, and the hub only signs.

Why: making a 4096-bit key takes a RouterBOARD minutes (`ikefleet/routeros/keygen_timing.yaml`); the hub
making every branch's key one after another over its one session costs hours on a first rollout or a mass
renewal. Here the keys are made on all the branches at the same time, the hub signs the requests in one
session (no key made there), and the private keys never leave the branches. The rollout and `ikefleet
certs renew` share this path.

Safety as in the hub-made flow: the new certificate is imported on the branch beside the one in use, under
its own (renewal) name; nothing here moves an identity. A branch whose step fails keeps what it had, and the
certificate the hub signed for it is removed again, so the hub never names a certificate its branch lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nornir.core import Nornir
from nornir.core.filter import F
from nornir.core.task import AggregatedResult, Result, Task

from ikefleet.connection.session import describe
from ikefleet.parsers.certificate import Certificate
from ikefleet.redact import scrub
from ikefleet.tasks import pki
from ikefleet.tasks.device import close, device


@dataclass
class KeyWork:
    """What the branch-made flow did: lines for the hub's and each branch's outcome, and the branches it
    failed (branch -> why; the certificate each had stays in use)."""

    hub: list[str] = field(default_factory=list)
    branches: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    wanted: dict[str, pki.Wanted] = field(default_factory=dict)


def _why(result: AggregatedResult, host: str) -> str:
    multi = result[host]
    failed = next((r for r in reversed(multi) if r.failed and r.exception), None)
    failed = failed or next((r for r in multi if r.failed), multi[0])
    return scrub(describe(failed.exception) if failed.exception else str(failed.result))


def _start_request(task: Task, *, wanted: dict[str, pki.Wanted], policy: pki.CertPolicy) -> Result:
    started: Result = pki.start_request(task, wanted=wanted[task.host.name], policy=policy)
    return started


def _finish_request(task: Task, *, wanted: dict[str, pki.Wanted], passphrases: dict[str, str],
                    policy: pki.CertPolicy) -> Result:
    name = task.host.name
    made: Result = pki.finish_request(task, wanted=wanted[name], passphrase=passphrases[name], policy=policy)
    return made


def _install(task: Task, *, bundles: dict[str, pki.Bundle], ca: str, server: str) -> Result:
    """`pki.install_branch` of the branch's signed certificate and its own key; the session is closed
    after (a run holds sessions for one wave: the wave opens its own)."""
    bundle = bundles[task.host.name]
    try:
        done: Result = pki.install_branch(task, bundle=bundle, client=bundle.client_name, ca=ca,
                                          server=server)
        return done
    finally:
        close(task.host)


def _abandon(task: Task) -> Result:
    """A branch whose certificate will not come: its request and key files go (a kill here leaves them to
    the next run's sweep) and its session is closed."""
    try:
        pki.remove_leftover_files(device(task))
    finally:
        close(task.host)
    return Result(host=task.host)


def make_keys(
    nr: Nornir,
    hub_name: str,
    clients: dict[str, str],
    *,
    ca: str,
    server: str,
    policy: pki.CertPolicy,
    held: dict[str, str | None] | None = None,
    renew: tuple[str, ...] = (),
    certs: dict[str, Certificate] | None = None,
    servers: dict[str, str | None] | None = None,
) -> KeyWork:
    """For the branches in `clients` (branch -> client certificate base name) that need a certificate (the
    hub decides: missing, in the renewal window, `renew`, or the branch does not hold the hub's current
    one, `held`): requests made on the branches in parallel, signed on the hub in one session, imported
    on the branches in parallel. A hub failure fails every branch that was waiting for it. `certs`: the
    hub's certificates, read in its session with nothing changed since (None: read here). `servers`: branch
    -> the fingerprint of its copy of the hub's certificate; one that is not the hub's is a need too."""
    work = KeyWork()
    hub = nr.filter(name=hub_name)
    found = hub.run(task=pki.plan_requests, on_failed=True, clients=clients, policy=policy, renew=renew,
                    held=held, certs=certs, server=server, servers=servers)
    if found[hub_name].failed:
        why = f"the hub's certificates could not be read: {_why(found, hub_name)}"
        work.failed = dict.fromkeys(clients, why)
        return work
    wanted: dict[str, pki.Wanted] = found[hub_name][0].result
    work.wanted = wanted
    if not wanted:
        return work
    # every branch starts making its key first (the console returns at once), then each is waited for:
    # the keys are made at the same time whatever Nornir's number of workers
    started = nr.filter(F(name__in=list(wanted))).run(task=_start_request, on_failed=True, wanted=wanted,
                                                      policy=policy)
    passphrases: dict[str, str] = {}
    for branch in wanted:
        if started[branch].failed:
            work.failed[branch] = f"making its key and certificate request failed: {_why(started, branch)}"
        else:
            passphrases[branch] = started[branch][0].result
    made = nr.filter(F(name__in=list(passphrases))).run(task=_finish_request, on_failed=True, wanted=wanted,
                                                        passphrases=passphrases, policy=policy)
    requests: dict[str, pki.KeyRequest] = {}
    for branch in passphrases:
        if made[branch].failed:
            work.failed[branch] = f"making its key and certificate request failed: {_why(made, branch)}"
        else:
            requests[branch] = made[branch][0].result
    if work.failed:
        nr.filter(F(name__in=list(work.failed))).run(task=_abandon, on_failed=True)
    if not requests:
        return work
    try:
        signed = hub.run(task=pki.sign_requests, on_failed=True, requests=requests, ca=ca, server=server,
                         policy=policy)
        got: dict[str, pki.Bundle | str] = {} if signed[hub_name].failed else signed[hub_name][0].result
        bundles: dict[str, pki.Bundle] = {}
        for branch in requests:
            bundle = got.get(branch) or _why(signed, hub_name)
            if isinstance(bundle, pki.Bundle):
                bundles[branch] = bundle
            else:
                work.failed[branch] = f"the hub could not sign its certificate request: {bundle}"
        lost = [b for b in requests if b not in bundles]
        if lost:
            nr.filter(F(name__in=lost)).run(task=_abandon, on_failed=True)
        if not bundles:
            return work
        installed = nr.filter(F(name__in=list(bundles))).run(task=_install, on_failed=True, bundles=bundles,
                                                             ca=ca, server=server)
    finally:
        for request in requests.values():
            request.discard()
    taken_back: list[str] = []
    for branch, bundle in bundles.items():
        w = wanted[branch]
        if installed[branch].failed:
            work.failed[branch] = f"importing its certificate failed: {_why(installed, branch)}"
            taken_back.append(bundle.client_name)
            continue
        replaces = f"; replaces {w.replaces}" if w.replaces else ""
        work.hub.append(f"certificate {w.name} signed for {branch} (key made on {branch}: {w.reason}"
                        f"{replaces})")
        work.branches[branch] = [f"key made on {branch} and certificate {w.name} signed by the hub "
                                 f"({w.reason})", *installed[branch][0].result]
    for name in taken_back:  # the hub must not name a certificate its branch lacks
        hub.run(task=pki.remove_certificate, on_failed=True, certificate=name)
    return work
