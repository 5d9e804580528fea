"""A run raises the collector's young-generation threshold and gives the old setting back."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ikefleet import gc_policy


def test_a_run_restores_the_collector_setting_even_when_it_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_policy.fleet_run():
        assert gc.get_threshold()[0] == max(gc_policy.RUN_THRESHOLD, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before


def test_an_ikefleet_process_imports_its_command_under_the_run_setting() -> None:
    """The command line's imports (the `ikefleet` entry point, before any run) leave objects that live to
    the process's end: they are loaded under the run's threshold, not CPython's 700."""
    code = (
        "import gc, json, sys\n"
        "import ikefleet.cli\n"
        "from ikefleet.__main__ import run\n"
        "def command():\n"
        "    import ikefleet.cli.verify, ikefleet.runbooks.verify  # what a verify loads\n"
        "    print(json.dumps(gc.get_threshold()), flush=True)\n"
        "    return 0\n"
        "ikefleet.cli.main = command\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    assert json.loads(done.stdout)[0] == gc_policy.RUN_THRESHOLD


def test_a_lab_process_serves_under_the_run_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`python -m ikefleet.lab.manager serve` (what `ikefleet lab up` starts): a large lab's first route reads
    build a route per branch on every branch, and CPython's 700 walked those growing tables again and
    again."""
    from ikefleet.lab import manager

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(manager, "serve", lambda *args: seen.append(gc.get_threshold()) or 0)
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])
    try:
        assert manager.main(["serve", str(tmp_path)]) == 0
    finally:
        gc.set_threshold(*before)
    assert seen and seen[0][0] >= gc_policy.RUN_THRESHOLD
