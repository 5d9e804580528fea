"""Smoke test of the benchmark driver: a 2-branch run prints every figure (timings are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "rollout_s",
    "rerun_s",
    "rerun_config_commands",
    "verify_s",
    "lower_bound_s",
    "ratio",
    "peak_rss_mib",
    "parse_2000_sa_ms",
    "key_size",
    "num_workers",
    "lab_peak_rss_mib",
    "load_before",
    "load_after",
}


def test_two_branch_run_prints_the_required_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--branches", "2", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) >= KEYS
    assert figures["branches"] == 2
    assert figures["key_size"] == 2048
    assert figures["rollout_failed"] == 0
    assert figures["rerun_config_commands"] == 0  # the converged fleet needs no change
    assert figures["lower_bound_s"] > 0
    assert figures["ratio"] > 0
    assert figures["verify_ok"] is True
    assert figures["lab_peak_rss_mib"] > 0  # the lab's memory, measured apart from ikefleet's
    for key in ("verify", "lower_bound", "rerun"):  # each figure is the median of its runs, all kept
        runs = figures[f"{key}_runs_s"]
        assert len(runs) == 3
        assert figures[f"{key}_s"] == sorted(runs)[1]


def test_sweep_reaches_a_thousand_branches() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import run

    assert run.lab_capacity() >= max(run.SWEEP) == 1000
