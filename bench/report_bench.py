"""The console report's CPU on a captured verify: `print_report` over the report judged from a pickle made
by `bench/judge_cpu.py --capture DIR/config.yaml OUT` (fleet, plan, states), best of N, and the report's
size (to compare outputs).

    .venv/bin/python bench/report_bench.py PICKLE [RUNS]
"""

from __future__ import annotations

import io
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(capture: Path, runs: int) -> None:
    from rich.console import Console

    from ikefleet.reports.console import print_report
    from ikefleet.verify.judge import judge

    with capture.open("rb") as stream:
        report = judge(*pickle.load(stream))
    best, text = float("inf"), ""
    for _ in range(runs):
        buffer = io.StringIO()
        start = time.process_time()
        print_report(report, Console(file=buffer, width=120))
        best = min(best, time.process_time() - start)
        text = buffer.getvalue()
    print(f"print_report: {best * 1000:.1f} ms CPU (best of {runs}), {len(report.hosts)} routers, "
          f"{len(text)} characters")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 5)
