"""Backups in git: `ikefleet backup` against a lab, the repository owner-only, no secret in its history."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.config_repo import ConfigRepo, RepoError, RepoSettings
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.redact import register

SECRET = "backup-test-secret-41c7"


def git_history(path: Path) -> str:
    """Every blob and message the repository holds, as text."""
    log = subprocess.run(["git", "--git-dir", str(path), "log", "-p", "--all"], capture_output=True,
                         text=True, check=True).stdout
    objects = subprocess.run(["git", "--git-dir", str(path), "cat-file", "--batch-all-objects", "--batch"],
                             capture_output=True, check=True).stdout.decode(errors="replace")
    return log + objects


def test_commits_only_what_changed_and_says_which_router(tmp_path: Path) -> None:
    repo = ConfigRepo(tmp_path / "b.git")
    first = repo.commit({"br1": "/ip address\nadd address=192.0.2.1/24\n", "hub": "/system identity\r\n"},
                        "backup 1")
    assert first is not None and first.changed == ("br1", "hub")
    assert repo.commit({"br1": "/ip address\r\nadd address=192.0.2.1/24\r\n"}, "backup 2") is None  # CRLF
    stamped = "# jan/05/2026 09:03:07 by RouterOS 6.49.19\n/system identity\n"
    assert repo.commit({"hub": stamped}, "backup 3") is not None
    assert repo.commit({"hub": stamped.replace("09:03:07", "10:00:00")}, "backup 4") is None  # time only
    assert repo.show("hub").startswith("# by RouterOS 6.49.19\n")
    second = repo.commit({"br1": "/ip address\nadd address=192.0.2.2/24\n"}, "rollout R", body="why")
    assert second is not None and second.changed == ("br1",)
    assert [s for _, s in repo.log()] == ["rollout R: br1", "backup 3: hub", "backup 1: br1, hub"]
    assert [s for _, s in repo.log("hub")] == ["backup 3: hub", "backup 1: br1, hub"]
    assert repo.show("br1", "main~1") == "/ip address\nadd address=192.0.2.1/24\n"


def test_registered_secrets_never_enter_the_repository(tmp_path: Path) -> None:
    register(SECRET)
    repo = ConfigRepo(tmp_path / "b.git")
    repo.commit({"br1": f"/ppp secret\nadd password={SECRET}\n"}, f"backup {SECRET}", body=SECRET)
    assert SECRET not in git_history(tmp_path / "b.git")


def test_owner_only_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        repo = ConfigRepo(tmp_path / "b.git")
        repo.commit({"br1": "x\n"}, "backup")
    finally:
        os.umask(old)
    loose = [p for p in (tmp_path / "b.git").rglob("*") if p.stat().st_mode & 0o077]
    assert not loose and not (tmp_path / "b.git").stat().st_mode & 0o077


def test_settings_resolve_from_the_config_folder_and_refuse_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    assert RepoSettings.from_config(config, None).path == tmp_path / ".ikefleet" / "backups.git"
    assert RepoSettings.from_config(config, {"repository": "b.git"}).path == tmp_path / "b.git"
    with pytest.raises(RepoError, match=r"ikefleet\.backups\.remotes: unknown key"):
        RepoSettings.from_config(config, {"remotes": "x"})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("backup") / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def test_backup_command_commits_every_router_then_only_changes(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(lab.directory / "config.yaml")
    repository = lab.directory / ".ikefleet" / "backups.git"
    assert main(["backup", "-c", config]) == 0
    assert "changed: br1, br2, hub" in capsys.readouterr().out
    repo = ConfigRepo(repository)
    assert "/system identity" in repo.show("br1") or "/interface" in repo.show("br1")
    assert main(["backup", "-c", config]) == 0
    assert "no configuration changed" in capsys.readouterr().out
    Session(lab.routers["br2"], "admin").execute("/system identity set name=changed-by-hand")
    lab.settle()
    assert main(["backup", "-c", config]) == 0
    assert "(changed: br2)" in capsys.readouterr().out
    assert "changed-by-hand" in repo.show("br2") and "changed-by-hand" not in repo.show("br2", "main~1")
    password = (lab.directory / "secrets.yaml").read_text()
    assert all(word not in git_history(repository) for word in password.split() if len(word) > 12)


def test_an_unreadable_router_is_named_and_fails_the_backup(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab.fault("br1", "refuse")
    try:
        code = main(["backup", "-c", str(lab.directory / "config.yaml")])
    finally:
        lab.clear_faults("br1")
    out = capsys.readouterr()
    assert code == 1 and "br1: could not be read, not backed up" in out.err


def test_a_limit_that_matches_nothing_contacts_nobody(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.handshakes.reset()
    assert main(["backup", "-c", str(lab.directory / "config.yaml"), "--limit", "bt7"]) == 2
    assert "bt7" in capsys.readouterr().err and lab.handshakes.total == 0


def test_a_runs_exports_are_committed_as_found_then_as_left(tmp_path: Path) -> None:
    from ikefleet.runbooks.backup import commit_run

    config = tmp_path / "config.yaml"
    config.write_text("ikefleet: {}\n")
    run = tmp_path / ".ikefleet" / "runs" / "20261206T100000.000000Z-rollout"
    (run / "backups").mkdir(parents=True)
    (run / "backups" / "br1.rsc").write_text("/ip address\nadd address=192.0.2.1/24 comment=hand\n")
    (run / "backups" / "br1.after.rsc").write_text("/ip address\nadd address=192.0.2.1/24 comment=ikefleet\n")
    (run / "backups" / "br1.backup").write_bytes(b"\x00binary")  # the encrypted backup stays out of git
    made = commit_run(config, run)
    repo = ConfigRepo(tmp_path / ".ikefleet" / "backups.git")
    assert [s for _, s in repo.log()] == [
        "20261206T100000.000000Z-rollout as left: br1", "20261206T100000.000000Z-rollout as found: br1"]
    assert len(made) == 2 and "comment=ikefleet" in repo.show("br1")
    assert "comment=hand" in repo.show("br1", "main~1")


def test_a_rollout_commits_what_it_found_and_what_it_left_and_warns_once(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(lab.directory / "config.yaml")
    assert main(["rollout", "-c", config]) == 0  # converged (earlier tests changed br2's identity only)
    for host in ("br1", "br2"):
        Session(lab.routers[host], "admin").execute("/routing filter remove [find where comment=ikefleet]")
    lab.settle()
    capsys.readouterr()
    assert main(["rollout", "-c", config]) == 0
    err = capsys.readouterr().err
    assert err.count("no backup_password") == 2, err  # said once, then once with the hosts that share it
    assert "warning on 2 hosts (br1, br2): no backup_password" in err
    repo = ConfigRepo(lab.directory / ".ikefleet" / "backups.git")
    (found_rev, found), (left_rev, left) = repo.log()[1], repo.log()[0]
    assert found.endswith("-rollout as found: br1, br2") and left.endswith("-rollout as left: br1, br2")
    assert repo.show("br1", left_rev).count("comment=ikefleet") > repo.show("br1", found_rev).count(
        "comment=ikefleet")
