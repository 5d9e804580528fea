"""The hub's configuration converged toward the plan, after its certificate step: its identities name the
client certificates the hub holds now, a renewed branch keeps its older one beside the new one until its
tunnel is up on the new one, and the certificates renewals replaced go once no identity names them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from nornir.core import Nornir

from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import render_host
from ikefleet.plan import NAMES, Plan
from ikefleet.processors.ledger import certificate_work, host_outcome
from ikefleet.routeros.script import parse_script
from ikefleet.rundir import RunDir

from . import pki
from .converge import Outcome, converge
from .handover import accepting_previous, older_in_use
from .results import failure


@dataclass(frozen=True)
class HubConfigured:
    """The hub's outcome (its certificate work first), and `in_use`: branch -> the older client certificate
    a hub identity still names (a renewal's hand-over not finished: tasks/handover.py)."""

    outcome: Outcome
    in_use: dict[str, str]

    def __str__(self) -> str:
        return str(self.outcome)


def converge_hub_config(hub: Nornir, *, fleet: Fleet, plan: Plan, version: str, config_text: str,
                        certs: dict[str, Any], others: bool, run: RunDir, revoked: Iterable[str],
                        backup_password: str | None = None, dry_run: bool = False, work: Iterable[str] = (),
                        waiting: Iterable[str] = ()) -> HubConfigured:
    """The hub's configuration toward `plan` (rendered for the RouterOS `version` it runs; `config_text`:
    read in its session; `certs`: its certificates now; `others`: another login was open), then the client
    certificates renewals replaced removed. `work`: the certificate work done before, reported with it.
    `waiting`: branches whose first certificate the hub has not made yet, left out (a later converge adds
    them). `revoked`: branches whose certificate was revoked (their mode-config is ikefleet's to remove)."""
    h = plan.hub
    work = list(work)
    # a renewed branch has two hub identities, the certificate it still uses and the new one, until it
    # has moved to the new one (then `move_hub_identities`): the tunnel stays up if the hand-over stops
    current = parse_script(config_text)
    in_use = older_in_use(current, certs, plan)
    hub_plan = accepting_previous(plan, in_use)
    left_out = set(waiting)
    if left_out:
        hub_plan = replace(hub_plan, branches=tuple(b for b in hub_plan.branches if b.name not in left_out))
    script = render_host(with_versions(fleet, {h.name: version}), hub_plan, h.name)
    res = hub.run(
        task=converge,
        on_failed=True,
        intended_script=script,
        run=run,
        dry_run=dry_run,
        backup_password=backup_password,
        known={"/ip ipsec mode-config": [NAMES["mode_config"].format(branch=b) for b in revoked]},
        config_text=None if others else config_text,
        config=None if others else current,
        settle=others and not dry_run,
    )
    outcome = host_outcome(res, h.name)
    if outcome.status == "changed" or (outcome.status == "unchanged" and not dry_run):
        # the hub's identities now name the current certificates: the ones renewals replaced can go
        clients = {NAMES["branch_certificate"].format(branch=b.name): b.client_certificate
                   for b in plan.branches if b.name not in in_use}
        # the configuration's converge changes no certificate; another login's undo might have
        gone = hub.run(task=pki.remove_superseded, on_failed=True, clients=clients,
                       certs=None if others else certs)
        if gone[h.name].failed:
            why = failure(gone, h.name)
            outcome.warnings.append(f"superseded client certificates not removed (next run): {why}")
        else:
            work += gone[h.name][0].result
    return HubConfigured(certificate_work(outcome, work, run, dry_run), in_use)
