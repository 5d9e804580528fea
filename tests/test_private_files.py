"""Issue 17.11: everything ikefleet writes is owner-only (directories 0700, files 0600) under any umask:
the data directory, run directories, backups, host-key pins, the history database, the lock, revoked.json
and the reports written with --output; and loose modes an older run left are tightened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet import private, revoked
from ikefleet.cli import main
from ikefleet.lab.manager import Lab


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def loose(root: Path) -> list[str]:
    """Every path under `root` (and `root`) that group or others may use, with its mode."""
    paths = [root, *root.rglob("*")]
    return [f"{p} {stat.filemode(p.lstat().st_mode)}" for p in paths if p.lstat().st_mode & 0o077]


def test_main_paths_under_umask_000_write_owner_only(
    tmp_path: Path, umask_000: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        secrets = lab.directory / "secrets.yaml"
        data = YAML(typ="safe").load(secrets.read_text())
        with secrets.open("w") as out:
            YAML(typ="safe").dump({**data, "backup_password": "umask-test-passphrase"}, out)
        secrets.chmod(0o600)
        config = str(lab.directory / "config.yaml")
        lab.settle()
        assert main(["rollout", "-c", config, "--gate-timeout", "30", "--json"]) == 0
        lab.settle()
        reports = tmp_path / "reports"
        reports.mkdir(mode=0o700)
        for command, fmt, name in (("verify", "json", "v.json"), ("compliance", "prom", "c.prom"),
                                   ("compliance", "junit", "c.xml")):
            assert main([command, "-c", config, "--format", fmt, "--output", str(reports / name)]) == 0
        revoked.save(lab.directory / ".ikefleet", set())  # what `certs revoke` / `renew` write
        data_dir = lab.directory / ".ikefleet"
        capsys.readouterr()
        names = {p.name for p in data_dir.rglob("*")}
        for expected in ("known_hosts", "history.sqlite", "rollout.lock", "revoked.json", "plan.json",
                         "hub.rsc", "hub.backup", "results.jsonl", "summary.json", "runs"):
            assert expected in names, expected  # the walk below covers what the run really wrote
        assert loose(data_dir) == []
        assert loose(reports) == []


def test_loose_modes_left_by_an_older_run_are_tightened(tmp_path: Path, umask_000: None) -> None:
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        config = str(lab.directory / "config.yaml")
        data_dir = lab.directory / ".ikefleet"
        data_dir.mkdir(mode=0o777)
        (data_dir / "known_hosts").write_text("")
        (data_dir / "known_hosts").chmod(0o666)
        (data_dir / "history.sqlite").touch(mode=0o644)
        (data_dir / "rollout.lock").touch(mode=0o666)
        lab.settle()
        assert main(["rollout", "-c", config, "--gate-timeout", "30", "--json"]) == 0
        assert main(["verify", "-c", config, "--format", "json"]) == 0
        assert loose(data_dir) == []


def test_a_replacement_that_fails_leaves_no_file_beside(tmp_path: Path) -> None:
    """The rename over a directory fails: the error is raised and the half-way file is gone (every cache,
    pin file and report that ikefleet replaces goes through private.replace_bytes)."""
    target = tmp_path / "entry"
    target.mkdir()
    with pytest.raises(OSError):
        private.replace_bytes(target, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
