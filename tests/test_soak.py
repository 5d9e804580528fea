"""The interruption soak's short version: each kind of interruption once, at random moments, on a 5-branch
lab (bench/soak.py runs it 100 times). After each run every router is as before or converged, its identity
names a certificate it holds, and the next rollout converges."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _soak_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("ikefleet_bench_soak", ROOT / "bench" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_interruption_leaves_each_router_as_before_or_converged(tmp_path: Path) -> None:
    soak = _soak_module()
    runs = int(os.environ.get("IKEFLEET_SOAK_RUNS", len(soak.INTERRUPTIONS)))
    seed = int(os.environ.get("IKEFLEET_SOAK_SEED", "20261206"))
    outcomes = soak.soak(tmp_path, runs, seed)
    assert {o.interruption for o in outcomes} == set(soak.INTERRUPTIONS[:runs])
    failed = [(o.run, o.action, o.interruption, o.target, o.problems) for o in outcomes if not o.ok]
    assert not failed, failed


@pytest.mark.slow
def test_a_kill_inside_the_branch_key_work_leaves_each_router_as_before_or_converged(tmp_path: Path) -> None:
    """RouterOS 7.16 everywhere: the branch makes its key and the hub signs its request. The renewal is
    killed while the hub signs (the request on the hub): every router as before or converged, no request,
    key or stray certificate left once the next rollout converged."""
    soak = _soak_module()
    case = soak.Case("renew", "sigkill", "hub signing")
    (outcome,) = soak.soak(tmp_path, 1, 20261207, branches=2, flow="branch", cases=(case,))
    assert outcome.reached, "the kill never landed inside the key work"
    assert outcome.ok, outcome.problems
