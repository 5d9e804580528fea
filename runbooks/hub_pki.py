"""The hub's certificate step of a rollout: its certificate authority and its own certificate, the client
certificates it makes for the branches, and the ones branches on 7.9+ make themselves (runbooks/
branch_keys.py), all before the hub's configuration names them. A plain function of what it is given,
returning what it did (`HubPki`): the rollout records it and goes on or stops."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nornir.core import Nornir
from nornir.core.task import Result

from ikefleet.plan import NAMES, Plan
from ikefleet.runbooks.branch_keys import make_keys
from ikefleet.tasks import pki
from ikefleet.tasks.hub import hub_clients
from ikefleet.tasks.reach import Reached
from ikefleet.tasks.results import failure


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
                     branches: list[str], deferred: tuple[str, ...] = ()) -> HubPki:
    """The hub's certificate step on `certs` (read in its session, nothing changed since): the CA and its
    certificate, the hub-made client certificates (but the base names in `deferred`: made in the
    background, tasks/signer.py), the branch-made ones of the run's `branches` that can (7.9+ on both ends,
    `version` the hub's, pki.branch_made; on `nr`). `plan`: with the client certificates' base names."""
    h = plan.hub
    done = HubPki()
    made = {b: NAMES["branch_certificate"].format(branch=b) for b in branches
            if b in reached and pki.branch_made(version, reached[b].version)}
    # an unsigned template (a killed run's) is removed by the steps: what they were given is then stale
    changed = not all(c.get("fingerprint") for c in certs.values())
    steps: tuple[tuple[Callable[..., Result], dict[str, Any]], ...] = (
        (pki.ensure_authority, {"ca": h.ca_certificate, "server": h.server_certificate,
                                "hub_wan": str(h.wan_address), "policy": policy}),
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
    keys = make_keys(nr, h.name, made, ca=h.ca_certificate, server=h.server_certificate, policy=policy,
                     held=held, certs=certs)
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
