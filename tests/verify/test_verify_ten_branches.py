"""The acceptance run: a hub and ten branches after a real rollout pass every check."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_lab import start_converged

from ikefleet.runbooks.verify import Verify, VerifyOptions


@pytest.mark.slow
def test_ten_branch_fleet_passes_every_check(tmp_path: Path) -> None:
    lab = start_converged(tmp_path, branches=10)
    try:
        lab.settle()
        report = Verify(VerifyOptions(lab.directory / "config.yaml")).run()
    finally:
        lab.stop()
    assert [r for r in report.results if r.status != "pass"] == []
    assert len(report.hosts) == 11
    per_branch = {r.host for r in report.results if r.check == "ike.peer"}
    assert per_branch == {f"br{i}" for i in range(1, 11)}
    assert len([r for r in report.results if r.check == "hub.ospf"]) == 10
    assert (tmp_path / ".ikefleet" / "history.sqlite").exists()
