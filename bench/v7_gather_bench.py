"""Benchmark: the v7 verify read as JSON (`:serialize`) against the same read as text (`print detail`),
for one hub of a rolled-out v7 lab: round trip over SSH (netmiko) and parsing.

Run: .venv/bin/python bench/v7_gather_bench.py [--branches 20] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from netmiko import ConnectHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.routeros.console import split_sections
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.verify.gather import batch_lines, parse_sections

PROMPT = r"\] >\s*$"


def median_ms(runs: list[float]) -> float:
    return statistics.median(runs) * 1000


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--branches", type=int, default=20)
    args.add_argument("--runs", type=int, default=15)
    opts = args.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Lab.start(Path(tmp) / "lab", branches=opts.branches,
                                                        version="7.17.1", convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=60)).run()
        assert not summary.failed, summary.failed
        lab.settle()
        spec = lab.spec("hub")
        conn = ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                              username=spec.username, password=spec.password)
        rows = []
        for label, use_json in (("text", False), ("json", True)):
            lines = batch_lines(major=7, json=use_json)
            wire, parse = [], []
            for _ in range(opts.runs):
                start = time.perf_counter()
                replies = [conn.send_command(line, expect_string=PROMPT, read_timeout=60) for line in lines]
                wire.append(time.perf_counter() - start)
                reply = "\n".join(replies)
                start = time.perf_counter()
                state = parse_sections("hub", split_sections(reply))
                parse.append(time.perf_counter() - start)
                assert not state.problems, state.problems
            rows.append((label, median_ms(wire), median_ms(parse), len(reply), len(lines)))
        conn.disconnect()
    print(f"hub of a v7 lab with {opts.branches} branches, median of {opts.runs} runs")
    print(f"{'form':6} {'lines':>5} {'round trips ms':>15} {'parse ms':>9} {'reply bytes':>12}")
    for label, wire_ms, parse_ms, size, count in rows:
        print(f"{label:6} {count:5d} {wire_ms:15.1f} {parse_ms:9.2f} {size:12d}")


if __name__ == "__main__":
    main()
