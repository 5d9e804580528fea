"""The hub's phase of a rollout: its certificate step (its certificate authority and its own certificate,
the client certificates it makes for the branches, and the ones branches on 7.9+ make themselves: runbooks/
branch_keys.py), then its configuration (tasks/hub_config.py), then a HubSigner for the later waves'
hub-made keys. Plain functions of what they are given, returning what they did (`HubPki`, `HubDone`): the
rollout records it and goes on or stops."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nornir.core import Nornir
from nornir.core.task import Result

from ikefleet.fleet import Fleet
from ikefleet.plan import NAMES, Plan, client_versions, resolve_clients
from ikefleet.processors.ledger import certificate_work
from ikefleet.runbooks.background import Background
from ikefleet.runbooks.branch_keys import make_keys
from ikefleet.rundir import RunDir
from ikefleet.tasks import handover, pki, pki_plan
from ikefleet.tasks.converge import Outcome
from ikefleet.tasks.hub import HubState, clients_held, hub_clients, hub_reads
from ikefleet.tasks.hub_config import converge_hub_config
from ikefleet.tasks.reach import Reached
from ikefleet.tasks.results import failure
from ikefleet.tasks.signer import HubSigner, session
from ikefleet.tasks.signer import jobs as signer_jobs
from ikefleet.tasks.version import detect_version


@dataclass
class HubPki:
    """What the hub's certificate step did: `work`, lines for the hub's outcome; `error`, why the hub failed
    ('' when it did not); `certs`, the hub's certificates as they are now (None when it failed);
    `clients`, the client certificates the hub holds for the branches as last read (None: not read), the
    names and fingerprints the branches must have; `branches`, each branch's branch-made certificate work,
    reported with it in its wave; `failed`, branches whose key making failed (branch -> why: the
    certificate each had stays in use)."""

    work: list[str] = field(default_factory=list)
    error: str = ""
    certs: dict[str, Any] | None = None
    clients: dict[str, pki.Client] | None = None
    branches: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _lines(result: Result) -> list[str]:
    return [line for line in (result.diff or "").split("\n") if line]


def hub_certificates(hub: Nornir, nr: Nornir | None, *, plan: Plan, certs: dict[str, Any],
                     policy: pki.CertPolicy, version: str, reached: Mapping[str, Reached],
                     branches: list[str], deferred: tuple[str, ...] = (),
                     keep_server: bool = False) -> HubPki:
    """The hub's certificate step on `certs` (read in its session, nothing changed since): the CA and its
    certificate, the hub-made client certificates (but the base names in `deferred`: made in the
    background, tasks/signer.py), the branch-made ones of the run's `branches` that can (7.9+ on both ends,
    `version` the hub's, pki.branch_made; on `nr`). `plan`: with the client certificates' base names.
    `keep_server`: the hub's own certificate is not renewed while it still authenticates (`held_back`)."""
    h = plan.hub
    done = HubPki()
    made = {b: NAMES["branch_certificate"].format(branch=b) for b in branches
            if b in reached and pki.branch_made(version, reached[b].version)}
    # an unsigned template (a killed run's) is removed by the steps: what they were given is then stale
    changed = not all(c.get("fingerprint") for c in certs.values())
    steps: tuple[tuple[Callable[..., Result], dict[str, Any]], ...] = (
        (pki.ensure_authority, {"ca": h.ca_certificate, "server": h.server_certificate,
                                "hub_wan": str(h.wan_address), "policy": policy, "keep_server": keep_server}),
        (pki.ensure_clients, {"clients": [b.client_certificate for b in plan.branches],
                              "ca": h.ca_certificate, "policy": policy,
                              "retire": True,  # deleted branches' certificates are revoked
                              "branch_made": (*made.values(), *deferred)}),
    )
    for step, params in steps:
        res = hub.run(task=step, on_failed=True, certs=None if changed else certs, **params)
        if res[h.name].failed:
            done.error = failure(res, h.name)
            return done
        changed = changed or res[h.name][0].changed
        done.work += _lines(res[h.name][0])
        if step is pki.ensure_clients:
            done.clients = res[h.name][0].result
    if made and nr is not None:
        keys_changed = _branch_keys(nr, hub, done, plan=plan, made=made, reached=reached, policy=policy,
                                    certs=None if changed else certs)
        if done.error:
            return done
        changed = changed or keys_changed
    if not changed:
        done.certs = certs
        return done
    res = hub.run(task=pki.certificates, on_failed=True)
    if res[h.name].failed:
        done.error = failure(res, h.name)
    else:
        done.certs = res[h.name][0].result
    return done


def _branch_keys(nr: Nornir, hub: Nornir, done: HubPki, *, plan: Plan, made: dict[str, str],
                 reached: Mapping[str, Reached], policy: pki.CertPolicy,
                 certs: dict[str, Any] | None) -> bool:
    """The branch-made certificates of `made` (branch -> base name), into `done`. A failed branch that has
    no certificate on the hub at all gets one the hub makes, so the hub's identity for it names a
    certificate that exists (never sent to it: the next run has it make its own). `certs`: the hub's
    certificates, still current (None: read here). Returns whether the hub's certificates changed."""
    h = plan.hub
    held = {b: reached[b].fingerprint for b in made}
    servers = {b: reached[b].server for b in made}  # a stale copy of the hub's certificate is a need too
    keys = make_keys(nr, h.name, made, ca=h.ca_certificate, server=h.server_certificate, policy=policy,
                     held=held, certs=certs, servers=servers)
    done.work += keys.hub
    done.branches.update(keys.branches)
    done.failed.update(keys.failed)
    if not keys.wanted and not keys.failed:  # nothing to make: the hub's clients stand as resolved
        return False
    res = hub.run(task=hub_clients, on_failed=True, plan=plan)
    if res[h.name].failed:
        done.error = failure(res, h.name)
        return True
    clients: dict[str, pki.Client] = res[h.name][0].result
    bare = [made[b] for b in keys.failed if made[b] not in clients]
    if bare:
        res = hub.run(task=pki.ensure_clients, on_failed=True, clients=bare, ca=h.ca_certificate,
                      policy=policy)
        if res[h.name].failed:
            done.error = failure(res, h.name)
            return True
        done.work += _lines(res[h.name][0])
        clients = {**clients, **res[h.name][0].result}
    done.clients = clients
    return True


@dataclass
class HubDone:
    """What the hub's phase did: its `outcome`; the RouterOS `version` it runs ('' when not read); `clients`,
    the client certificates it holds for the branches (None: not read), the names the identities use and the
    fingerprints the branches must hold; `in_use` (branch -> the older certificate a hub identity still
    names); on a dry run `to_issue` (base name -> the certificate it would issue); `branches` and `failed`
    as HubPki's; `background`, the HubSigner making the later waves' keys (None: none); `server`, the
    fingerprint of the hub's own certificate as the hub holds it after its step, which every branch's copy
    must match (None: not read); on a dry run `renewing`, why the hub's step would issue its own certificate
    anew ('': it would not); `held`, the hub's line when its certificate is due for renewal but kept, as
    branches not in the run hold a copy (tasks.handover.held_back; '': not held back)."""

    outcome: Outcome
    version: str = ""
    clients: dict[str, pki.Client] | None = None
    in_use: dict[str, str] = field(default_factory=dict)
    to_issue: dict[str, str] = field(default_factory=dict)
    branches: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    background: Background | None = None
    server: str | None = None
    renewing: str = ""
    held: str = ""


def converge_hub(hub: Nornir, nr: Nornir | None, *, fleet: Fleet, plan: Plan, policy: pki.CertPolicy,
                 reached: Mapping[str, Reached], run: RunDir, revoked: Iterable[str],
                 backup_password: str | None = None, dry_run: bool = False, branches: Sequence[str] = (),
                 later: Sequence[str] = (), read: HubState | None = None,
                 outside: Sequence[str] = ()) -> HubDone:
    """PKI first (the CA, the hub's certificate and every branch's, which the hub's identities name), then
    the hub's configuration. The run's `branches` that can (7.9+ on both ends, pki.branch_made) make their
    own keys, all at once (runbooks/branch_keys.py); the hub issues the others'. The hub's configuration
    and certificates are read once, in one round trip, and the certificates handed to every step; they are
    read again only after a step changed them. `plan`: with the client certificates' base names.
    The hub-made keys of the branches in `later` (the run's later waves) are not made here: once the hub's
    configuration has converged (without the new branches among them: an identity cannot name a
    certificate that does not exist yet), a HubSigner makes them in the background, and each wave takes its
    own (the rollout's catch-up). `read`: the hub's reads (`hub_reads`) made in its session with nothing
    sent since (the rollout's reach), not made again. `outside`: the fleet's branches not in the run (left
    out by the selection, or unreachable): those the hub holds a client certificate for hold a copy of its
    own, which is then not renewed while it still authenticates (`held_back`)."""
    h = plan.hub
    found = hub.run(task=detect_version, on_failed=True)  # the dialect the hub really speaks
    if found[h.name].failed:
        return HubDone(Outcome(h.name, "failed", error=failure(found, h.name)))
    done = HubDone(Outcome(h.name, "failed"), version=found[h.name][0].result.version)
    if read is None:
        got = hub.run(task=hub_reads, on_failed=True)
        if got[h.name].failed:
            done.outcome.error = failure(got, h.name)
            return done
        read = got[h.name][0].result
    config_text, certs, others = read
    done.server = certs.get(h.server_certificate, {}).get("fingerprint")
    done.held = held_back(certs, plan, policy, outside)
    if dry_run:  # the names the identities use, and the certificate step, read only
        planned = pki_plan.hub_work(certs, ca=h.ca_certificate, server=h.server_certificate,
                                    hub_wan=str(h.wan_address),
                                    clients=[b.client_certificate for b in plan.branches],
                                    policy=policy, now=datetime.now(UTC), retire=True,
                                    keep_server=bool(done.held))
        done.clients, done.to_issue, done.renewing = clients_held(certs, plan), planned.issued, planned.server
        configured = converge_hub_config(hub, fleet=fleet, plan=resolved(plan, done.clients),
                                         version=done.version, config_text=config_text, certs=certs,
                                         others=others, run=run, revoked=revoked,
                                         backup_password=backup_password, dry_run=True, work=planned.work)
        done.outcome, done.in_use = configured.outcome, configured.in_use
        return done
    deferred = {b: NAMES["branch_certificate"].format(branch=b) for b in later
                if b in reached and not pki.branch_made(done.version, reached[b].version)}
    pki_done = hub_certificates(hub, nr, plan=plan, certs=certs, policy=policy, version=done.version,
                                reached=reached, branches=list(branches), deferred=tuple(deferred.values()),
                                keep_server=bool(done.held))
    done.clients, done.branches, done.failed = pki_done.clients, pki_done.branches, pki_done.failed
    current = pki_done.certs
    if pki_done.error or current is None:
        why = pki_done.error or "its certificates could not be read"
        done.outcome = certificate_work(Outcome(h.name, "failed", error=why), pki_done.work, run)
        return done
    done.server = current.get(h.server_certificate, {}).get("fingerprint")
    todo = signer_jobs(current, deferred, policy, datetime.now(UTC))
    waiting = {j.branch for j in todo if not client_versions(current, j.common_name)}
    now_plan = resolved(plan, done.clients) if done.clients is not None else plan
    configured = converge_hub_config(hub, fleet=fleet, plan=now_plan, version=done.version,
                                     config_text=config_text, certs=current, others=others, run=run,
                                     revoked=revoked, backup_password=backup_password, work=pki_done.work,
                                     waiting=waiting)
    done.outcome, done.in_use = configured.outcome, configured.in_use
    if todo and done.outcome.status != "failed":
        got = hub.run(task=session, on_failed=True)
        if got[h.name].failed:
            done.outcome.status, done.outcome.error = "failed", failure(got, h.name)
        else:
            done.background = Background(HubSigner(got[h.name][0].result, todo, ca=h.ca_certificate,
                                                   policy=policy).start())
    return done


def held_back(certs: dict[str, Any], plan: Plan, policy: pki.CertPolicy, outside: Sequence[str]) -> str:
    """The hub's line when its own certificate is due for renewal while it still authenticates and branches
    in `outside` hold a copy (the hub holds a signed client certificate for them: every hand-over brings the
    hub's certificate along, and one never handed over, issued by a run with the hub before the branch was
    rolled out, cannot be told apart): it is then kept ('': it is not held back)."""
    h = plan.hub
    reason = pki.server_reason(certs.get(h.server_certificate), policy, datetime.now(UTC), str(h.wan_address))
    if not pki.kept_for_copies(reason):
        return ""
    signed = {n: c for n, c in certs.items() if c.get("fingerprint")}
    held = clients_held(signed, plan)
    holders = [b for b in outside if NAMES["branch_certificate"].format(branch=b) in held]
    return handover.held_back(h.server_certificate, reason or "", holders)


def resolved(plan: Plan, clients: dict[str, pki.Client]) -> Plan:
    """`plan` (with base names) with the client certificates the hub holds now (renewals have new names)."""
    return resolve_clients(plan, [c.name for c in clients.values()])
