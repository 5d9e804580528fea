"""The convergence gate survives a poll that fails: a read timing out on a busy router (seen on a
1000-branch lab) is polled again on a fresh session instead of crashing the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from netmiko.exceptions import ReadTimeout
from nornir.core.task import Result, Task
from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.runbooks import rollout as rollout_module
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.tasks.state import tunnel_state


def test_a_failed_gate_poll_is_polled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed: list[str] = []

    def flaky(task: Task, **kwargs: Any) -> Result:
        if task.host.name == "br1" and not failed:
            failed.append(task.host.name)
            raise ReadTimeout("the command echo was not detected within the read timeout")
        return tunnel_state(task, **kwargs)

    monkeypatch.setattr(rollout_module, "tunnel_state", flaky)
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()
    assert failed == ["br1"]  # the fault was injected
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
    assert {summary.hosts[b].status for b in ("br1", "br2")} == {"changed"}
