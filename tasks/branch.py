"""A branch's step in a wave: converge it if it holds the client certificate the hub issued for it, else say
which one it lacks; once the hub has exported that one, install it and converge. Given what the hub's step
found (`HubFacts`) and what the reach before the hub found (`Reached`), never the runbook that runs it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nornir.core.task import Result, Task

from ikefleet.connection.session import describe
from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import render_host
from ikefleet.plan import Plan, client_base
from ikefleet.processors.ledger import certificate_work
from ikefleet.redact import scrub
from ikefleet.rundir import RunDir
from ikefleet.verify.gather import HostState

from . import pki
from .converge import Outcome, converge
from .gather import host_state, read_raw
from .handover import planned_transfer, tidy_branch
from .reach import Reached
from .version import detected


@dataclass(frozen=True)
class HubFacts:
    """What the hub's certificate step left for the branches: `fingerprints` (current client certificate
    name -> its fingerprint, which a branch must hold), `in_use` (branch -> the older certificate a hub
    identity still names: a renewal's old one stays until the gate saw the tunnel up), `version` (the
    RouterOS the hub runs: who makes a branch's key), and on a dry run `to_issue` (base name -> the
    certificate the hub would issue), `unread` (why the hub's certificates could not be read), `server`
    (the fingerprint of the hub's own certificate, which a branch's copy must match; None: not read) and
    `renewing` (why the hub would issue its own certificate anew: every branch's copy is then stale)."""

    fingerprints: Mapping[str, str]
    in_use: Mapping[str, str] = field(default_factory=dict)
    version: str = ""
    to_issue: Mapping[str, str] = field(default_factory=dict)
    unread: str = ""
    server: str | None = None
    renewing: str = ""


@dataclass(frozen=True)
class WantsCertificate:
    """A branch's answer before converging: the hub's client certificate it lacks (to be exported)."""

    client: str

    def __str__(self) -> str:
        return f"wants certificate {self.client}"


def certified_then_converge(task: Task, *, fleet: Fleet, plan: Plan, hub: HubFacts, routes: Mapping[str, str],
                            reached: Mapping[str, Reached], made: Mapping[str, list[str]], run: RunDir,
                            backup_password: str | None = None,
                            first_states: dict[str, HostState] | None = None) -> Result:
    """Nornir task: converge the branch if it holds its client certificate as the hub issued it; else say
    which it wants (WantsCertificate, nothing changed), in the same session, without touching anything. One
    round trip (after the login's version read) reads what verify reads: the certificates, the configuration
    and the state the gate checks. The other arguments are `converge_branch`'s."""
    name = task.host.name
    client = plan.branch(name).client_certificate
    wanted = hub.fingerprints.get(client)
    if wanted is None:
        why = f"the hub has no certificate {client} for it yet: roll out the hub first (--limit responder)"
        return Result(host=task.host, failed=True, result=Outcome(name, "failed", error=why))
    raw, _ = read_raw(task, routes[name])
    found = reached.get(name)
    files = found.files if found is not None else None
    first = {**raw, "files": "" if files is None else str(files)}  # the reach's count, still current
    if pki.client_fingerprint(first["certificate"], client) != wanted or hub.server not in (
            None, pki.fingerprint_of(first["certificate"], plan.hub.server_certificate)):
        # its copy of the hub's certificate is not the hub's (a run stopped after the hub renewed it): the
        # hand-over brings the current one with its own
        return Result(host=task.host, result=WantsCertificate(client))
    return converge_branch(task, fleet=fleet, plan=plan, hub=hub, reached=reached, made=made, run=run,
                           backup_password=backup_password, first=first, first_states=first_states)


def converge_branch(task: Task, *, fleet: Fleet, plan: Plan, hub: HubFacts, reached: Mapping[str, Reached],
                    made: Mapping[str, list[str]], run: RunDir, backup_password: str | None = None,
                    bundles: Mapping[str, pki.Bundle] | None = None, dry_run: bool = False,
                    first: dict[str, str] | None = None,
                    first_states: dict[str, HostState] | None = None) -> Result:
    """Nornir task: install the branch's certificate when `bundles` has one for it, converge its
    configuration (rendered for the RouterOS it runs), then remove what the new certificate replaced and
    the leftover hand-over files. `made`: branch -> its branch-made certificate work (runbooks/
    branch_keys.py), reported with its outcome. `first`: the replies to read_raw (verify's reads), read in
    this session with nothing sent since; an untouched branch's is left in `first_states` (the gate's
    first poll). When the reach saw another login, `first` may show a killed run's changes that RouterOS
    is about to undo: the converge task takes safe mode first and reads afresh (`settle`)."""
    name = task.host.name
    found = reached.get(name)
    settle = found is not None and found.others
    if settle:
        first = None
    h = plan.hub
    client = plan.branch(name).client_certificate
    bundle = (bundles or {}).get(name)
    done_before = made.get(name, [])  # its key made on it before the hub (runbooks/branch_keys.py)
    work: list[str] = list(done_before)
    if bundle is not None:
        res = task.run(
            task=pki.install_branch,
            bundle=bundle,
            client=client,
            ca=h.ca_certificate,
            server=h.server_certificate,
        )
        if res.failed:
            error = scrub(str(res[0].exception or res[0].result))
            failed = certificate_work(Outcome(name, "failed", error=error), done_before, run)
            return Result(host=task.host, failed=True, result=failed)
        work += res[0].result
    version = detected(task).version  # the RouterOS the branch runs decides its templates
    script = render_host(with_versions(fleet, {name: version}), plan, name)
    result = task.run(
        task=converge,
        intended_script=script,
        run=run,
        dry_run=dry_run,
        backup_password=backup_password,
        config_text=first["config"] if first else None,
        settle=settle,
    )[0]
    if dry_run and isinstance(result.result, Outcome) and result.result.status != "failed":
        if hub.unread:  # not a change, and not green either: said as a warning
            result.result.warnings.append("certificate step not checked: the hub's certificates could not be "
                                          f"read ({hub.unread})")
        else:
            planned = planned_transfer(task, client=client, issued=hub.to_issue.get(client_base(client)),
                                       wanted=hub.fingerprints.get(client), hub_version=hub.version,
                                       server=h.server_certificate, server_fingerprint=hub.server,
                                       renewing=hub.renewing)
            certificate_work(result.result, planned, run, dry_run=True)
    changed = result.changed
    untouched = isinstance(result.result, Outcome) and result.result.status == "unchanged"
    done = isinstance(result.result, Outcome) and result.result.status in ("changed", "unchanged")
    if not done and done_before and isinstance(result.result, Outcome):  # what was done stays reported
        certificate_work(result.result, done_before, run)
    if done and not dry_run:
        try:
            # a renewal's old certificate stays until the gate has seen the tunnel up on the new one
            work += tidy_branch(task, client=client, first=first if bundle is None else None,
                                supersede=name not in hub.in_use)
        except Exception as exc:  # the configuration is done: what is left over goes at the next run
            why = scrub(describe(exc))
            result.result.warnings.append(f"superseded certificates or hand-over files not removed: {why}")
        certificate_work(result.result, work, run)
        changed = changed or bool(work)
    if untouched and not work and first and not dry_run and first_states is not None:
        # the gate's first poll: this read was verify's, and nothing was sent since. An untouched branch
        # usually passes at once, and a re-run then waits for no extra Nornir run per wave.
        first_states[name] = host_state(name, first, detected(task))
    outcome = result.result
    diff = "\n".join(outcome.changes) if isinstance(outcome, Outcome) else result.diff  # certificates too
    return Result(host=task.host, result=outcome, changed=changed, failed=result.failed, diff=diff)
