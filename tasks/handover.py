"""The certificate hand-over around a renewal: while the hub's identities still name a branch's older
certificate, the hub accepts both (two identities); once the branch's tunnel is up on the new one, the hub's
identity for the old one goes, then the old certificate on both ends. A stop at any moment leaves a working
pair, which the next run finishes."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from nornir.core.task import Result, Task

from ikefleet.intent import OWNER
from ikefleet.plan import Plan, client_base, client_versions
from ikefleet.routeros.config import Config

from . import pki
from .device import device
from .version import detected, read_with_version


def older_in_use(config: Config, certs: dict[str, Any], plan: Plan) -> dict[str, str]:
    """branch -> the older client certificate a hub identity names while a newer one exists on the hub,
    when that older one still authenticates (not revoked, not expired): the branch may not have the new
    one yet. The hub may also have the identity for the new one already (a hand-over that stopped).
    `config`: the hub's configuration, `certs`: its certificates by name."""
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


def accepting_previous(plan: Plan, names: dict[str, str]) -> Plan:
    """The plan with each branch in `names` (branch -> certificate) also accepting that older certificate on
    the hub (a second identity, `previous_certificate`)."""
    return replace(plan, branches=tuple(replace(b, previous_certificate=names.get(b.name, ""))
                                        for b in plan.branches))


def move_hub_identities(task: Task, *, moves: dict[str, tuple[str, str]]) -> Result:
    """Nornir task on the hub: for each branch of `moves` (branch -> (old, new) certificate) its identity for
    the old certificate removed, the one for the new certificate kept (`pki.remove_identities`: safe mode,
    read back), then the old certificate removed. Result: branch -> what was done, for the branches whose
    removal succeeded (a failed one is undone by safe mode and left for the next run). On a dry run
    (`task.is_dry_run()`) nothing is sent: branch -> what would be done."""
    done: dict[str, list[str]] = {}
    for branch, (old, new) in moves.items():
        if task.is_dry_run():
            done[branch] = [f"would move the hub identity from certificate {old} to {new}"]
            continue
        try:
            pki.remove_identities(task, field="remote-certificate", gone=old, kept=new)
        except Exception:  # undone by safe mode; the others still move
            continue
        work = [f"hub identity moved from certificate {old} to {new}"]
        with contextlib.suppress(Exception):  # left for the next run's removal
            work += pki.remove_superseded(task, clients={client_base(new): new}).result
        done[branch] = work
    lines = [line for work in done.values() for line in work]
    return Result(host=task.host, changed=bool(done), diff="\n".join(lines), result=done)


def superseded(certs: dict[str, Any], client: str) -> list[str]:
    """The versions of `client` older than it among `certs` that a removal would take (revoked ones stay:
    the CA's record; a newer one is a renewal on its way and stays too)."""
    versions = client_versions(certs, client_base(client))
    older = versions[: versions.index(client)] if client in versions else []
    return [name for name in older if not certs[name].get("revoked")]


def retire_old_certificates(task: Task, *, plan: Plan) -> Result:
    """Nornir task on a branch whose hub identity for its old certificate is gone: the client certificates
    its current one (in `plan`) replaced, removed. Result: what was removed (also the diff); on a dry run
    (`task.is_dry_run()`), what would be."""
    client = plan.branch(task.host.name).client_certificate
    dev = device(task)
    certs = pki.read_certificates(dev)
    if task.is_dry_run():
        done = [f"would remove certificate {old} (superseded by {client})"
                for old in superseded(certs, client)]
    else:
        done = pki.supersede(dev, certs, {client_base(client): client})
    return Result(host=task.host, changed=bool(done), diff="\n".join(done), result=done)


def tidy_branch(task: Task, *, client: str, first: dict[str, str] | None,
                supersede: bool = True) -> list[str]:
    """Once the branch's identity names `client`: remove the client certificates it replaced (unless
    `supersede` is false: a renewal's, removed after the gate by `retire_old_certificates`), and the
    hand-over files a killed run left (`first`: this run's first read, still current, with the reach's count
    of those files; None: read here). Returns what was done."""
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


def planned_transfer(task: Task, *, client: str, issued: str | None, wanted: str | None,
                     hub_version: str, server: str = "", server_fingerprint: str | None = None,
                     renewing: str = "") -> list[str]:
    """Dry run, read only: the branch's certificate hand-over, if a rollout would make one: the hub issues
    it a new certificate (`issued`: its name), the one the hub holds (`wanted`: its fingerprint) is not
    the one the branch has, or the branch's copy of the hub's certificate `server` is not the hub's: the
    hub's step would issue it anew (`renewing`: why; the copy every branch holds is then stale), or the hub
    did already (`server_fingerprint`, None: not read; a run stopped after the hub renewed it). Where hub
    and branch run 7.9+ (pki.branch_made) the branch would make its key and the hub sign its request
    instead."""
    name = task.host.name
    if issued is None and wanted is None:
        return [f"the hub has no certificate {client} for it: roll out the hub first (--limit responder)"]
    have = read_with_version(task, {"certificate": pki.CERTIFICATE_READ})["certificate"]
    copy = pki.fingerprint_of(have, server)
    # a copy the hub's renewal makes stale: the hand-over brings the new one (a first one is no news)
    stale = f"the hub would issue its certificate {server} anew: {renewing}" if renewing and copy else ""
    sent = ""  # what the hub would send, when not the client certificate itself
    if issued is not None:
        certificate, why = issued, "; ".join(filter(None, ("issued by this run", stale)))
    elif pki.client_fingerprint(have, client) != wanted:
        certificate, why = client, "; ".join(filter(None, ("the branch lacks it", stale)))
    elif stale:
        certificate, why, sent = client, stale, server
    elif server_fingerprint is not None and copy != server_fingerprint:
        certificate, why, sent = client, f"its copy of the hub's certificate {server} is stale", server
    else:
        return []
    if hub_version and pki.branch_made(hub_version, detected(task).version):
        return [f"would make a key on {name} and have the hub sign it ({why}): {certificate}"]
    return [f"would transfer certificate {sent or certificate} from the hub to {name} ({why})"]


def held_back(server: str, reason: str, left: list[str]) -> str:
    """The hub's line when its certificate `server` is due for renewal (`reason`) and the branches in `left`,
    not in the run, hold a copy of it: it is not renewed, since each would keep the old copy and its tunnel
    could not authenticate until a run with it hands the new one over. A branch the hub issued a certificate
    for but that is not in service yet counts too (the hub cannot tell): the fix names its way out, the
    inventory. The same words on a dry run (what the real run would do) and on the real run ('' when nothing
    is held back)."""
    if not reason or not left:
        return ""
    named = ", ".join(left[:10]) + (f" and {len(left) - 10} more" if len(left) > 10 else "")
    return (f"certificate {server} not renewed ({reason}): {len(left)} branch(es) not in this run hold a "
            f"copy of it, and a new one would take their tunnels down until a run with them hands it over: "
            f"{named}; to renew it, run without --limit, or with those branches (one not in service yet: "
            f"take it out of the inventory until it is)")
