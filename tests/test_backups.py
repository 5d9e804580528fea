"""Backups before a push, against the lab: the encrypted `/system backup` and the export downloaded into the
run directory (owner-only), ikefleet's older backups pruned on the router (never anyone else's), no push
when the backup fails, and the backup password nowhere in what a run writes."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator

import pytest
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.lab.engine import Session
from ikefleet.lab.errors import CommandError
from ikefleet.lab.manager import Lab
from ikefleet.lab.system_menus import read_backup
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.tasks.converge import BACKUP_NAME, KEEP_BACKUPS, NO_BACKUP

PASSWORD = "backup-passphrase-Zq81x"
OLD = [f"ikefleet-2020010{n}-000000.backup" for n in range(1, 5)]
NOT_OURS = ["ikefleet-before-upgrade.backup", "manual.backup", "ikefleet-20200101-000000.rsc"]


def rollout(lab: Lab) -> Summary:
    lab.settle()
    options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0, limit=("hub",))
    return Rollout(options).run()


def set_backup_password(lab: Lab, password: str | None) -> None:
    yaml = YAML()
    path = lab.directory / "secrets.yaml"
    data = yaml.load(path.read_text())
    data.pop("backup_password", None)
    if password:
        data["backup_password"] = password
    with path.open("w") as out:
        yaml.dump(data, out)


def drift(lab: Lab) -> None:
    """A hand change on the hub that the next rollout puts back (so it has something to push)."""
    lab.settle()
    rules = lab.routers["hub"].config.items("/ip firewall filter")
    count = len(rules)
    line = '/ip firewall filter remove [find where comment="ikefleet" and protocol="ipsec-esp"]'
    assert Session(lab.routers["hub"], "admin").execute(line) == ""
    lab.settle()
    assert len(lab.routers["hub"].config.items("/ip firewall filter")) == count - 1


def hub_files(lab: Lab) -> set[str]:
    lab.settle()
    return set(lab.routers["hub"].files.names())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("backups"), branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        set_backup_password(lab, PASSWORD)
        for name in [*OLD, *NOT_OURS]:
            lab.routers["hub"].files.write(name, b"not a real backup")
        yield lab


@pytest.fixture(scope="module")
def first(lab: Lab) -> Summary:
    summary = rollout(lab)
    assert summary.hosts["hub"].status == "changed", summary.hosts["hub"].error
    return summary


def test_backup_and_export_downloaded_owner_only(lab: Lab, first: Summary) -> None:
    backup = first.run_dir / "backups" / "hub.backup"
    export = first.run_dir / "backups" / "hub.rsc"
    for path in (backup, export):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert export.read_text().startswith("# ")
    saved = read_backup(backup.read_bytes(), PASSWORD)  # the router's configuration before the push
    assert "/ip ipsec peer" not in {p for p, items in saved["menus"].items() if items}
    with pytest.raises(CommandError):
        read_backup(backup.read_bytes(), "wrong-password")
    for path in first.run_dir.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert stat.S_IMODE(first.run_dir.stat().st_mode) == 0o700


def test_the_router_keeps_the_newest_ikefleet_backups_and_every_other_file(lab: Lab, first: Summary) -> None:
    files = hub_files(lab)
    ours = sorted(n for n in files if BACKUP_NAME.match(n))
    assert len(ours) == KEEP_BACKUPS
    assert ours[: KEEP_BACKUPS - 1] == OLD[-(KEEP_BACKUPS - 1):]  # the oldest went first
    assert ours[-1] not in OLD  # this run's
    assert set(NOT_OURS) <= files


def test_an_unchanged_router_is_not_backed_up(lab: Lab, first: Summary) -> None:
    before = hub_files(lab)
    again = rollout(lab)
    assert again.hosts["hub"].status == "unchanged"
    assert not (again.run_dir / "backups").exists()
    assert hub_files(lab) == before


def test_a_failed_backup_stops_the_host_before_any_change(lab: Lab, first: Summary) -> None:
    drift(lab)
    lab.settle()
    before = json.dumps(lab.routers["hub"].config.to_json(), sort_keys=True)
    lab.fault("hub", "fail-command", "/system backup save", error="failure: not enough space")
    try:
        summary = rollout(lab)
    finally:
        lab.clear_faults("hub")
    outcome = summary.hosts["hub"]
    assert outcome.status == "failed" and outcome.commands == 0
    assert "backup failed, nothing changed" in outcome.error and "not enough space" in outcome.error
    lab.settle()
    assert json.dumps(lab.routers["hub"].config.to_json(), sort_keys=True) == before


def test_without_a_backup_password_the_run_says_so(lab: Lab, first: Summary) -> None:
    set_backup_password(lab, None)
    try:
        summary = rollout(lab)  # the drift of the previous test (or a new one) is pushed
        if summary.hosts["hub"].status == "unchanged":
            drift(lab)
            summary = rollout(lab)
    finally:
        set_backup_password(lab, PASSWORD)
    outcome = summary.hosts["hub"]
    assert outcome.status == "changed", outcome.error
    assert NO_BACKUP in outcome.warnings
    assert not (summary.run_dir / "backups" / "hub.backup").exists()
    assert (summary.run_dir / "backups" / "hub.rsc").exists()


def test_the_backup_password_is_in_no_run_file(lab: Lab, first: Summary) -> None:
    runs = lab.directory / ".ikefleet" / "runs"
    files = [p for p in runs.rglob("*") if p.is_file() and p.suffix != ".backup"]
    assert files
    for path in files:
        assert PASSWORD not in path.read_text(errors="replace"), path
