"""`ikefleet restore`: a router's managed configuration back to a run's before-export or a backups commit,
by the same diff, safe mode and post-check; --dry-run sends nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests_support import rolled_out_lab

from ikefleet.cli import main
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab

DRIFT = "/routing filter remove [find where comment=ikefleet]"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("restore") / "lab"
    with rolled_out_lab(directory, branches=2, convergence_delay=0.05) as lab:
        yield lab


def export(lab: Lab, host: str) -> list[str]:
    lab.settle()
    text = Session(lab.routers[host], "admin").execute("/export terse")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def cli(lab: Lab, *argv: str) -> int:
    return main([*argv, "-c", str(lab.directory / "config.yaml")])


def test_restore_to_before_a_run_and_to_a_backups_commit(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    converged = export(lab, "br1")
    assert cli(lab, "backup") == 0  # the converged fleet, committed
    Session(lab.routers["br1"], "admin").execute(DRIFT)
    drifted = export(lab, "br1")
    assert drifted != converged
    assert cli(lab, "rollout") == 0  # puts the filters back; its run kept br1's drifted export
    assert export(lab, "br1") == converged
    run_id = sorted(p.name for p in (lab.directory / ".ikefleet" / "runs").iterdir())[-1]
    capsys.readouterr()

    assert cli(lab, "restore", "br1", "--run", run_id, "--dry-run") == 0
    out = capsys.readouterr()
    assert "would be sent" in out.err and "/routing filter" in out.out
    assert export(lab, "br1") == converged  # a dry run sends nothing

    assert cli(lab, "restore", "br1", "--run", run_id) == 0
    assert "put back to run" in capsys.readouterr().err
    assert export(lab, "br1") == drifted  # as it was before that run

    assert cli(lab, "restore", "br1", "--rev", "main") == 0  # the backup of the converged fleet
    assert export(lab, "br1") == converged
    assert cli(lab, "restore", "br1", "--rev", "main") == 0
    assert "nothing to send" in capsys.readouterr().err


def test_a_backup_that_does_not_exist_is_bad_input(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.handshakes.reset()
    assert cli(lab, "restore", "br1", "--run", "20200101T000000.000000Z-rollout") == 2
    assert "no export of br1 from before that run" in capsys.readouterr().err
    assert cli(lab, "restore", "br9", "--rev", "main") == 2
    assert "br9" in capsys.readouterr().err
    assert lab.handshakes.total == 0
