"""Whole-process `ikefleet verify` of a standing lab, two checkouts in turn (A B A B ...): wall and CPU
(user+sys of the child) per run, the median of each side and the 1-minute load before each pair. The
interpreter's start-up, the imports, the inventory, the gather, the checks and the report are all in the
figure, as an operator pays them. Both checkouts should have their bytecode compiled.

Each run also gives the lab's CPU while it ran (its `lab.pid` beside CONFIG, as `ikefleet lab up --dir`
leaves it): the lab serves every router from one event-loop thread (its other threads stay idle through
a verify), so no verify against it can take less wall time than that, whatever the client.

    .venv/bin/python bench/verify_process.py CONFIG BEFORE_DIR AFTER_DIR [PAIRS]

e.g. `bench/verify_process.py /tmp/l200/config.yaml /work/main . 7`; each DIR has its own .venv.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import lab_pid, process_cpu_s


def one_run(checkout: Path, config: Path, lab: int) -> tuple[float, float, float]:
    """(wall, CPU, the CPU of the lab process `lab`) of one `ikefleet verify --quiet --no-history` in its
    own process."""
    lab_before = process_cpu_s(lab)
    command = [str(checkout / ".venv" / "bin" / "ikefleet"), "verify", "-c", str(config), "--quiet",
               "--no-history"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: verify exited {done.returncode}: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, process_cpu_s(lab) - lab_before


def main(config: Path, before: Path, after: Path, pairs: int) -> None:
    lab = lab_pid(config.parent)
    one_run(before, config, lab)  # warm both: the page cache, the lab's sessions
    one_run(after, config, lab)
    runs: dict[str, list[tuple[float, float, float]]] = {"before": [], "after": []}
    for i in range(pairs):
        load = os.getloadavg()[0]
        b = one_run(before, config, lab)
        a = one_run(after, config, lab)
        runs["before"].append(b)
        runs["after"].append(a)
        print(f"pair {i + 1}: load {load:.2f}  before {b[0]:.3f} s wall {b[1]:.3f} s CPU (lab {b[2]:.2f})"
              f"  after {a[0]:.3f} s wall {a[1]:.3f} s CPU (lab {a[2]:.2f})  (after - before: wall"
              f" {a[0] - b[0]:+.3f}, CPU {a[1] - b[1]:+.3f})")
    for side, figures in runs.items():
        wall, cpu, lab = (statistics.median(f[k] for f in figures) for k in range(3))
        print(f"{side}: median {wall:.3f} s wall, {cpu:.3f} s CPU, the lab's CPU {lab:.3f} s over"
              f" {len(figures)} runs")
    deltas = [(a[0] - b[0], a[1] - b[1]) for b, a in zip(runs["before"], runs["after"], strict=True)]
    print(f"median of the pairs' differences: wall {statistics.median(d[0] for d in deltas):+.3f} s,"
          f" CPU {statistics.median(d[1] for d in deltas):+.3f} s")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve(),
         int(sys.argv[4]) if len(sys.argv) > 4 else 5)
