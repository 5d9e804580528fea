"""Benchmark: the HTML fleet map at 100 to 10,000 branches: time to read the history strips (20 runs),
to write the whole page (strips read again, data built, template rendered), and its size (the map must
stay a file one attaches to a ticket).

Run: .venv/bin/python bench/fleet_map_bench.py [--sizes 100,1000,5000,10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ikefleet.reports.html import render_html_with_history
from ikefleet.verify.engine import CheckResult, Report
from ikefleet.verify.history import History

CHECKS = ("host.reachable", "ike.peer", "ipsec.sa", "eoip.tunnel", "ospf.neighbor", "cert.valid")
RUNS = 20


def fleet_report(branches: int, when: datetime) -> Report:
    """One result per check and branch; every 7th branch's OSPF fails with a hint of realistic length."""
    names = [f"site{i // 8}-br{i}" for i in range(branches)]
    results = [CheckResult("hub.peers", "hub peers", "hub", "pass", "major")]
    for i, name in enumerate(names):
        for check in CHECKS:
            bad = check == "ospf.neighbor" and i % 7 == 0
            results.append(CheckResult(
                check, check, name, "fail" if bad else "pass", "major", expected="Full",
                observed="ExStart" if bad else "Full",
                hint=f"OSPF with {name} stuck in ExStart: compare the EoIP MTU on both ends" if bad else "",
            ))
    return Report(when, when + timedelta(seconds=30), ["hub", *names], results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000,10000")
    args = parser.parse_args()
    print(f"{'branches':>8} {'strips s':>9} {'page s':>9} {'size KB':>8} {'KB/branch':>9}")
    t0 = datetime(2026, 11, 27, tzinfo=UTC)
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            history = History(Path(tmp) / "history.sqlite")
            for run in range(RUNS):
                history.record(fleet_report(size, t0 + timedelta(hours=run)))
            report = fleet_report(size, t0 + timedelta(hours=RUNS))
            start = time.perf_counter()
            history.strips(RUNS)
            strips_s = time.perf_counter() - start
            start = time.perf_counter()
            html = render_html_with_history(report, history.path, RUNS)
            render_s = time.perf_counter() - start
        kb = len(html.encode()) / 1024
        print(f"{size:>8} {strips_s:>9.3f} {render_s:>9.3f} {kb:>8.0f} {kb / size:>9.2f}")


if __name__ == "__main__":
    main()
