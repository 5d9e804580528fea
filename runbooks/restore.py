"""`ikefleet restore HOST --run RUN_ID | --rev REV`: put a router's managed configuration back to a backup.

The backup is a run's export from before its change (`.ikefleet/runs/<RUN_ID>/backups/<HOST>.rsc`) or a
commit of the backups repository. Only what ikefleet manages moves (`diff.managed_part`), by the path every
change takes: read, diff, safe mode, post-check by re-read (`tasks.converge.put_back`); `--dry-run` prints
the commands and sends none. It holds the rollout lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nornir.core.filter import F
from nornir.core.task import Result, Task

from ikefleet.config_repo import ConfigRepo, RepoError
from ikefleet.connection.session import describe
from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import Plan, build_plan
from ikefleet.redact import scrub
from ikefleet.runbooks.backup import settings
from ikefleet.rundir import exclusive
from ikefleet.selection import SelectionError, select
from ikefleet.tasks.converge import Outcome, put_back
from ikefleet.tasks.version import detected


class RestoreError(ValueError):
    """The backup asked for does not exist (exit 2): the message names it and where it was looked for."""


@dataclass(frozen=True)
class RestoreOptions:
    config: Path
    host: str
    run_id: str | None = None  # a run directory's name under .ikefleet/runs/
    rev: str | None = None  # a commit of the backups repository (main~2, a hash...)
    dry_run: bool = False
    secrets_file: Path | None = None
    accept_new_hostkeys: bool = False


def snapshot(options: RestoreOptions) -> str:
    """The export the router is put back to."""
    if (options.run_id is None) == (options.rev is None):
        raise RestoreError("name the backup: --run RUN_ID (a run directory) or --rev REV (a backups commit)")
    if options.run_id is not None:
        runs = read_config(options.config).path.parent / ".ikefleet" / "runs"
        path = runs / options.run_id / "backups" / f"{options.host}.rsc"
        if "/" in options.run_id or not path.is_file():
            known = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
            changed = [r for r in known if (runs / r / "backups" / f"{options.host}.rsc").is_file()]
            raise RestoreError(f"--run {options.run_id}: no export of {options.host} from before that run "
                               f"({path}); runs that changed it: {', '.join(changed[-5:]) or 'none'}")
        return path.read_text()
    try:
        return ConfigRepo(settings(options.config).path).show(options.host, str(options.rev))
    except RepoError as exc:
        raise RestoreError(f"--rev {options.rev}: {exc}") from None


def _restore(task: Task, *, fleet: Fleet, plan: Plan, text: str, dry_run: bool) -> Result:
    name = task.host.name
    script = render_host(with_versions(fleet, {name: detected(task).version}), plan, name)
    return task.run(task=put_back, snapshot_text=text, intended_script=script, dry_run=dry_run)[0]


def restore(options: RestoreOptions) -> Outcome:
    fleet = load_inventory(options.config)
    hosts = select(fleet, [options.host])
    if hosts != [options.host]:
        raise SelectionError(
            f"restore takes one router; {options.host!r} names {len(hosts)}: {', '.join(hosts)}"
        )
    text = snapshot(options)
    data_dir = read_config(options.config).path.parent / ".ikefleet"
    with exclusive(data_dir):
        nr = init_nornir(options.config, options.secrets_file, options.accept_new_hostkeys)
        try:
            res = nr.filter(F(name=options.host)).run(
                task=_restore, on_failed=True, fleet=fleet, plan=build_plan(fleet), text=text,
                dry_run=options.dry_run,
            )
        finally:
            nr.close_connections(on_failed=True)
    multi = res[options.host]
    value = multi[-1].result if len(multi) else None
    if isinstance(value, Outcome):
        return value
    exc = next((r.exception for r in multi if r.exception), None)
    return Outcome(options.host, "failed", error=scrub(describe(exc)) if exc else "no result")
