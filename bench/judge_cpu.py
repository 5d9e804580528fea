"""Benchmark: the CPU of a verify's judging (issue 22): `ikefleet.verify.judge.judge` on a captured fleet,
its first call (what a whole-process verify pays: templates compiled, values normalised for the first
time) and the best of N, with the split between the expected state (render + parse of every intended
configuration) and the checks (config.drift's remediations, most of it). CPU time, not wall: the machine
is shared.

Capture once from a standing lab (`bench/standing_lab.py DIR`), then run offline as often as needed:
    .venv/bin/python bench/judge_cpu.py --capture DIR/config.yaml /tmp/verify200.pickle
    .venv/bin/python bench/judge_cpu.py /tmp/verify200.pickle [--runs 5]
The pickle holds (fleet, plan, states) as the verify runbook handed them to judge().
"""

from __future__ import annotations

import argparse
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ikefleet.verify.judge as judge_module
from ikefleet import private
from ikefleet.verify import expected as expected_module


def capture(config: Path, out: Path) -> None:
    """Run a verify against the lab `config` names and keep what its judge() was given."""
    from ikefleet.runbooks import verify as runbook

    seen: list[tuple[Any, ...]] = []
    real = judge_module.judge

    def keep(fleet: Any, plan: Any, states: Any) -> Any:
        seen.append((fleet, plan, dict(states)))
        return real(fleet, plan, states)

    judge_module.judge = keep
    runbook.judge = keep  # the runbook imported the name
    runbook.Verify(runbook.VerifyOptions(config, record=False)).run()
    with private.open_file(out, "wb") as stream:  # the routers' replies (SA keys among them): owner-only
        pickle.dump(seen[0], stream)
    print(f"captured {len(seen[0][2])} hosts into {out}")


def cpu(call: Callable[[], Any]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("pickle", type=Path, nargs="?")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--capture", nargs=2, type=Path, metavar=("CONFIG", "OUT"))
    args = parser.parse_args()
    if args.capture:
        capture(*args.capture)
        return
    if args.pickle is None:
        parser.error("give the captured pickle (or --capture CONFIG OUT)")
    data = pickle.loads(args.pickle.read_bytes())
    fleet, plan, states = data["judge"] if isinstance(data, dict) else data  # (also the parse benches' form)
    spent = {"expected state": 0.0}
    real = expected_module.expected_state

    def timed(*a: Any, **k: Any) -> Any:
        start = time.process_time()
        try:
            return real(*a, **k)
        finally:
            spent["expected state"] += time.process_time() - start

    judge_module.expected_state = timed  # type: ignore[assignment]
    first = cpu(lambda: judge_module.judge(fleet, plan, states))
    expected_first = spent["expected state"]
    runs = []
    for _ in range(args.runs):
        spent["expected state"] = 0.0
        runs.append((cpu(lambda: judge_module.judge(fleet, plan, states)), spent["expected state"]))
    best, expected_best = min(runs)
    print(f"judge of {len(states)} hosts, CPU: first call {first * 1000:.1f} ms (expected state "
          f"{expected_first * 1000:.1f}, checks {(first - expected_first) * 1000:.1f}); best of {args.runs} "
          f"{best * 1000:.1f} ms (expected state {expected_best * 1000:.1f}, checks "
          f"{(best - expected_best) * 1000:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
