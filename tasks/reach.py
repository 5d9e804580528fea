"""The reach before the hub: every branch of a run is logged in to and read (what verify reads, the
hand-over files a killed run left, the other logins) before the hub is changed for it, so an unreachable
branch fails before the hub's configuration names it, and the branches a run changes can lead its waves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nornir.core import Nornir
from nornir.core.filter import F
from nornir.core.task import Result, Task

from ikefleet.connection.plugin import RouterOS
from ikefleet.diff import Remediation, is_marked
from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import render_host
from ikefleet.plan import Plan, resolve_client
from ikefleet.routeros.config import Config
from ikefleet.routeros.script import parse_script
from ikefleet.verify.engine import evaluate
from ikefleet.verify.expected import Expected
from ikefleet.verify.gather import HostState

from . import pki
from .converge import LOGINS_READ, diff_config
from .device import close
from .gather import host_state, read_raw
from .handover import superseded
from .hub import HubState, hub_reads
from .results import failure
from .state import blocking

# hand-over files a killed run left on a branch (removed at this run's certificate step): counted by the
# reach on verify's batch line
FILES_READ = f"/file print count-only where {pki.LEFTOVER_FILES}"


@dataclass(frozen=True)
class Reached:
    """A branch as the reach before the hub found it. `kind`: "new" (nothing of ikefleet's on it),
    "changes" (this run changes its configuration or certificates, or removes leftovers) or "unchanged";
    `fingerprint`: its client certificate's; `state`: verify's view of an unchanged branch (the gate's first
    poll, when the hub does not change either: such a branch needs no second session); `files`: the
    hand-over files a killed run left on it (None: not counted); `others`: another login was open (or the
    logins could not be counted), so the wave takes safe mode before it reads (tasks.converge `settle`);
    `version`: the RouterOS it runs (its login read it), the dialect of its gate's expected state."""

    kind: str
    fingerprint: str | None = None
    state: HostState | None = None
    warning: str = ""
    files: int | None = None
    others: bool = False
    version: str = ""  # the RouterOS it runs (decides who makes its key: pki.branch_made)
    server: str | None = None  # the fingerprint of its copy of the hub's certificate (None: none)
    passes: bool = False  # "unchanged" and verify's checks pass on `state` (the reach judged it)

    def __str__(self) -> str:
        return f"{self.kind} (RouterOS {self.version or '?'})"


def reach(task: Task, *, fleet: Fleet, plan: Plan, routes: Mapping[str, str],
          expected: Expected | None = None, shared: dict[Any, Any] | None = None) -> Result:
    """Nornir task, read only: log in (the version read), read what verify reads and count the hand-over
    files a killed run left (in the same round trip), and say whether this run changes the branch
    (Reached). The session is closed: the wave opens its own if the branch changes, so a run holds sessions
    for one wave, not for the fleet. `routes`: host -> its route read's `where` (verify's).
    The branch is rendered with the newest of its own client certificates (the hub's are read later; the
    rollout compares the fingerprints). `expected`: verify's expected state without intended configurations
    (`expected_state(fleet, plan, [])`): a branch this run leaves as it is gets verify's checks here, on what
    was just read, with the diff just made, so a converged branch needs nothing more from the run. `shared`:
    the run's memo of the diffs' menus alike on many branches (`ikefleet.diff.remediate`, as verify's
    config.drift): the firewall rules and proposals of a fleet are worked out once, not once a branch."""
    name = task.host.name
    try:
        extra = {"files": FILES_READ, "logins": LOGINS_READ}
        raw, found = read_raw(task, routes.get(name, "ospf"), extra=extra)
        files = raw.pop("files").strip()
        logins = raw.pop("logins").strip()
    finally:
        close(task.host)
    count = int(files) if files.isdigit() else None
    others = not logins.isdigit() or int(logins) > 1
    current = parse_script(raw["config"])
    if not any(is_marked(path, item) for path, items in current.menus.items() for item in items):
        new = Reached("new", files=count, others=others, version=found.version)
        return Result(host=task.host, result=new)
    certs = pki.certificates_by_name(raw["certificate"])
    mine = resolve_client(plan, name, certs)
    client = mine.branch(name).client_certificate
    intended = parse_script(render_host(with_versions(fleet, {name: found.version}), mine, name))
    diff = diff_config(current, intended, found.major, shared=shared)
    fingerprint = pki.keyed_fingerprint(certs.get(client))  # on the certificates parsed above
    server = certs.get(plan.hub.server_certificate, {}).get("fingerprint")
    if (fingerprint is None or count != 0 or superseded(certs, client) or others or diff.commands):
        return Result(host=task.host, result=Reached("changes", fingerprint, files=count, others=others,
                                                     version=found.version, server=server))
    state = host_state(name, raw, found, parsed={"config": [current], "certificate": list(certs.values())})
    passes = expected is not None and verified(expected, state, client=client, intended=intended, diff=diff)
    return Result(host=task.host, result=Reached("unchanged", fingerprint, state, found.warning, count,
                                                 version=found.version, server=server, passes=passes))


def verified(expected: Expected, state: HostState, *, client: str, intended: Config,
             diff: Remediation) -> bool:
    """Whether the branch of `state` passes verify's checks (what the gate asks), judged with its client
    certificate `client`, its `intended` configuration and the `diff` of the one read against it."""
    name = state.host
    if name not in expected.tunnels:
        return False
    tunnels = expected.tunnels
    if tunnels[name].client_certificate != client:  # a renewal's name (each branch's own: no copy otherwise)
        tunnels = {**tunnels, name: replace(tunnels[name], client_certificate=client)}
    view = replace(expected, tunnels=tunnels, intended={name: intended}, diffs={name: diff})
    return not blocking(evaluate(view, {name: state}), name)


def reach_or_log_in(task: Task, *, hub: str, fleet: Fleet, plan: Plan, routes: Mapping[str, str],
                    expected: Expected | None = None, shared: dict[Any, Any] | None = None) -> Result:
    """The reach's task on every host of the run. A branch is reached (`reach`). The hub logs in and reads
    what its phase starts from (`hub_reads`: nothing is changed, no safe mode): the round trips of its login
    and read overlap the branches' instead of following them, and its session stays open for its phase."""
    if task.host.name != hub:
        return reach(task, fleet=fleet, plan=plan, routes=routes, expected=expected, shared=shared)
    return hub_reads(task)


@dataclass(frozen=True)
class Reach:
    """What the reach found: `reached` (branch -> Reached), `unreachable` (branch -> why), `attempts` (branch
    -> the connection attempts its login took), `hub`: the hub's reads, in its session still open with
    nothing sent since (None: not read)."""

    reached: dict[str, Reached]
    unreachable: dict[str, str]
    attempts: dict[str, int]
    hub: HubState | None = None


def reach_branches(nr: Nornir, branches: list[str], *, hub: str, fleet: Fleet, plan: Plan,
                   routes: Mapping[str, str], expected: Expected | None = None) -> Reach:
    """Every branch in `branches`, in parallel, before the hub is changed (`reach`); the hub logs in and
    reads meanwhile (`reach_or_log_in`), so its phase starts with its session open and its reads done. The
    attempts counted are taken off the connector's count: the wave's login is a fresh start. The branches'
    diffs share one memo (`reach`)."""
    if not branches:
        return Reach({}, {}, {})
    res = nr.filter(F(name__in=[*branches, hub])).run(task=reach_or_log_in, on_failed=True, hub=hub,
                                                      fleet=fleet, plan=plan, routes=routes,
                                                      expected=expected, shared={})
    attempts = RouterOS.connector(nr.config).attempts
    if hub in res and res[hub].failed:  # the hub's phase logs in again, and says why if it fails
        attempts.pop(hub, None)
    done = Reach({}, {}, {}, None if hub not in res or res[hub].failed else res[hub][0].result)
    for name in branches:
        done.attempts[name] = attempts.pop(name, 0)
        if res[name].failed:
            done.unreachable[name] = failure(res, name)
        else:
            done.reached[name] = res[name][0].result
    return done

