"""`ikefleet backup`: read every router's export and commit what changed to the backups repository.

For cron, as Oxidized users do: one commit per run naming the routers whose configuration changed, and the
routers that could not be read in the commit's body and the exit code (never a silent gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nornir.core.filter import F

from ikefleet import interrupt
from ikefleet.config_repo import Commit, ConfigRepo, RepoSettings
from ikefleet.connection.session import describe
from ikefleet.inventory import load_inventory, read_config
from ikefleet.nornir_init import init_nornir
from ikefleet.redact import scrub
from ikefleet.selection import select
from ikefleet.tasks.backup import read_export


@dataclass
class BackupSummary:
    repository: Path
    read: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # host -> why
    commit: Commit | None = None

    @property
    def failed(self) -> bool:
        return bool(self.unreadable)


def settings(config: Path) -> RepoSettings:
    section = (read_config(config).nornir.get("ikefleet") or {}).get("backups")
    return RepoSettings.from_config(Path(config), section)


def backup(
    config: Path, secrets_file: Path | None = None, limit: tuple[str, ...] = (), title: str = ""
) -> BackupSummary:
    """Read the routers (all, or the `--limit` selection) and commit their exports; `title` names the commit.
    A selection that matches nothing raises SelectionError before any contact."""
    where = settings(config)
    hosts = select(load_inventory(config), limit)
    summary = BackupSummary(where.path)
    texts: dict[str, str] = {}
    with interrupt.sigint_stops():
        nr = init_nornir(config, secrets_file)
        try:
            result = nr.filter(F(name__in=hosts)).run(task=read_export, on_failed=True)
        finally:
            nr.close_connections(on_failed=True)
        for name in hosts:
            multi = result[name]
            if not len(multi):
                summary.unreadable[name] = "not started"
            elif multi.failed:
                exc = multi[0].exception
                summary.unreadable[name] = scrub(describe(exc) if exc else str(multi[0].result))
            else:
                texts[name] = str(multi[0].result)
                summary.read.append(name)
    if texts:
        body = "".join(f"not read: {h}: {why}\n" for h, why in sorted(summary.unreadable.items()))
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        summary.commit = ConfigRepo(where.path).commit(
            texts, title or f"backup {stamp}", body=body, remote=where.remote
        )
    return summary


AFTER = ".after.rsc"  # tasks/converge.py: the post-check's read of a changed router


def commit_run(config: Path, run_dir: Path) -> list[Commit]:
    """A rollout's exports into the backups repository: the changed routers as found (the exports read
    before the change), then as the run left them (the post-check's reads); a commit only where something
    differs from the last one, each naming the run. Returns the commits made."""
    where = settings(config)
    backups = run_dir / "backups"
    found = {p.name[: -len(".rsc")]: p.read_text() for p in sorted(backups.glob("*.rsc"))
             if not p.name.endswith(AFTER)}
    left = {p.name[: -len(AFTER)]: p.read_text() for p in sorted(backups.glob(f"*{AFTER}"))}
    repo = ConfigRepo(where.path)
    made = []
    for texts, state in ((found, "as found"), (left, "as left")):
        commit = repo.commit(texts, f"{run_dir.name} {state}", remote=where.remote) if texts else None
        if commit is not None:
            made.append(commit)
    return made
