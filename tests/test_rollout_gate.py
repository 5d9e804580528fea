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
from ikefleet.processors.events import Event, Note, WaveStarted
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.tasks import gate as gate_module
from ikefleet.tasks.state import branch_state
from ikefleet.waves import Amount


def test_a_failed_gate_poll_is_polled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed: list[str] = []

    def flaky(task: Task, **kwargs: Any) -> Result:
        if task.host.name == "br1" and not failed:
            failed.append(task.host.name)
            raise ReadTimeout("the command echo was not detected within the read timeout")
        return branch_state(task, **kwargs)

    monkeypatch.setattr(gate_module, "branch_state", flaky)
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()
    assert failed == ["br1"]  # the fault was injected
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
    assert {summary.hosts[b].status for b in ("br1", "br2")} == {"changed"}


def test_finished_waves_hold_no_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each branch's session is closed once its wave is done, so a run holds sessions for one wave, not
    for the fleet (a paramiko transport and thread each)."""
    open_before_gate: list[tuple[list[str], list[str]]] = []
    real_gate = Rollout._gate

    def watching_gate(self: Rollout, nr: Any, wave: list[str], summary: Any, run: Any) -> None:
        others = [h for h in nr.inventory.hosts if h != "hub" and h not in wave]
        open_before_gate.append((wave, [h for h in others if nr.inventory.hosts[h].connections]))
        real_gate(self, nr, wave, summary, run)

    monkeypatch.setattr(Rollout, "_gate", watching_gate)
    with Lab.start(tmp_path / "lab", branches=3, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0,
                                 wave_size=Amount(1, False))
        summary = Rollout(options).run()
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
    assert [w for w, _ in open_before_gate] == [["br1"], ["br2"], ["br3"]]
    assert all(still_open == [] for _, still_open in open_before_gate), open_before_gate


def test_a_branch_that_stops_passing_after_a_later_wave_fails_the_run(tmp_path: Path) -> None:
    """br1 passes its gate in wave 1; while wave 2 changes the hub, br1's tunnel goes down. The run gates
    br1 again after the last wave: it fails (exit 1) with words saying so, instead of exiting 0 on a
    branch verify would fail."""
    notes: list[str] = []
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:

        def progress(event: Event) -> None:
            if isinstance(event, WaveStarted) and event.number == 2:
                lab.fault("br1", "wan-down")
            if isinstance(event, Note):
                notes.append(event.text)

        fast_keys(lab.directory)
        lab.settle()
        options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=5.0)
        summary = Rollout(options, progress=progress).run()
    assert summary.waves == [["br1"], ["br2"]]
    assert summary.failed == ["br1"], {h: o.error for h, o in summary.hosts.items()}
    error = summary.hosts["br1"].error
    assert "passed its gate in wave 1, but not as verify checks after the later waves" in error, error
    assert "its change is kept" in error
    assert summary.hosts["br2"].status == summary.hosts["hub"].status == "changed"
    assert any(n.startswith("gate again: 1 branch(es)") for n in notes), notes


def test_a_run_whose_earlier_branches_still_pass_reads_them_once_more_and_exits_0(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=3, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0,
                                 wave_size=Amount(1, False))
        gated: list[list[str]] = []
        real = gate_module.wait_until_converged

        def watching(nr: Any, hosts: list[str], **kwargs: Any) -> gate_module.Gate:
            gated.append(list(hosts))
            return real(nr, hosts, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            import ikefleet.runbooks.rollout as rollout_module

            patch.setattr(rollout_module, "wait_until_converged", watching)
            summary = Rollout(options).run()
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
    assert gated == [["br1"], ["br2"], ["br3"], ["br1", "br2"]]
