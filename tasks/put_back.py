"""Putting a branch back: a branch that failed its gate returns to the configuration read before the run
changed it (the export its push backed up), by the path a change takes (`tasks.converge.put_back`: diff,
safe mode, post-check by re-read), on the items ikefleet manages only."""

from __future__ import annotations

from collections.abc import Mapping

from nornir.core import Nornir
from nornir.core.filter import F
from nornir.core.task import Result, Task

from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import render_host
from ikefleet.plan import Plan

from .converge import PUT_BACK, Outcome, put_back
from .results import failure
from .version import detected


def put_back_branch(task: Task, *, fleet: Fleet, plan: Plan, snapshot_text: str) -> Result:
    """Nornir task: `tasks.converge.put_back` toward `snapshot_text` with the branch's intended script (the
    items the intent sets are the ones put back), rendered for the RouterOS it runs. Its Result is
    put_back's: `changed` when something was put back, `diff` the commands' diff, `failed` when the run's
    change is still there."""
    name = task.host.name
    script = render_host(with_versions(fleet, {name: detected(task).version}), plan, name)
    return task.run(task=put_back, snapshot_text=snapshot_text, intended_script=script)[0]


def put_back_branches(nr: Nornir, snapshots: Mapping[str, str], *, fleet: Fleet,
                      plan: Plan) -> dict[str, str]:
    """Every branch in `snapshots` (host -> the export read before the change) put back in parallel. host ->
    what became of it: PUT_BACK, or why putting it back failed."""
    if not snapshots:
        return {}
    res = nr.filter(F(name__in=list(snapshots))).run(
        task=put_back_task, on_failed=True, fleet=fleet, plan=plan, snapshots=snapshots)
    words: dict[str, str] = {}
    for name in snapshots:
        outcome = next((r.result for r in res[name] if isinstance(r.result, Outcome)), None)
        if outcome is not None and outcome.status != "failed":
            words[name] = PUT_BACK
        else:
            why = outcome.error if outcome is not None else failure(res, name)
            words[name] = f"putting the configuration back failed: {why}"
    return words


def put_back_task(task: Task, *, fleet: Fleet, plan: Plan, snapshots: Mapping[str, str]) -> Result:
    """`put_back_branch` with this host's snapshot out of `snapshots` (one Nornir run for many hosts)."""
    return put_back_branch(task, fleet=fleet, plan=plan, snapshot_text=snapshots[task.host.name])
