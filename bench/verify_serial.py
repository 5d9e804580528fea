"""The serial part of a whole-process `ikefleet verify`: what the main thread spends before the gather
(interpreter, imports, inventory, Nornir) and after it (the verdict, the report, the exit), in CPU seconds
(its own thread time, steady on a loaded machine where wall figures are not) and wall, for two checkouts in
turn (A B A B ...). The gather itself is given as wall and process CPU. Medians over the runs.

    .venv/bin/python bench/verify_serial.py CONFIG BEFORE_DIR AFTER_DIR [PAIRS]

Each DIR has its own .venv; the run is `ikefleet verify -c CONFIG --quiet --no-history` in a fresh process,
with only `Verify.gather` wrapped to note the time at its start and end (both checkouts have it).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# In the checkout's own interpreter: its `main()`, Verify.gather timed, the figures on the fd it is given.
CHILD = r"""
import os, sys, time, json, threading
start_wall = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = (time.perf_counter() - start_wall, time.thread_time(), time.process_time())
import ikefleet.runbooks.verify as runbook
inner = runbook.Verify.gather
def gather(self, *args, **kwargs):
    mark("gather start")
    try:
        return inner(self, *args, **kwargs)
    finally:
        mark("gather end")
runbook.Verify.gather = gather
import ikefleet.__main__ as entry
def exit_now(code):
    mark("exit")
    os.write(int(FIGURES), json.dumps({"code": code, "marks": marks}).encode())
    os._exit(code)
entry.exit_now = exit_now
FIGURES = sys.argv[2]
sys.argv = ["ikefleet", "verify", "-c", sys.argv[1], "--quiet", "--no-history"]
entry.run()
"""


def one_run(checkout: Path, config: Path) -> dict[str, float]:
    """The phases of one run: main-thread CPU before and after the gather, the gather's wall and CPU."""
    read, write = os.pipe()
    python = checkout / ".venv" / "bin" / "python"
    child = subprocess.Popen([str(python), "-c", CHILD, str(config), str(write)], cwd=checkout,
                             pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    child.wait()
    if not data:
        error = child.stderr.read().decode()[-500:] if child.stderr else ""
        raise SystemExit(f"{checkout}: no figures: {error}")
    marks = json.loads(data)["marks"]
    (w0, t0, p0), (w1, t1, p1), (w2, t2, p2) = marks["gather start"], marks["gather end"], marks["exit"]
    return {"before gather, main thread CPU": t0, "before gather, wall": w0,
            "gather, wall": w1 - w0, "gather, process CPU": p1 - p0,
            "after gather, main thread CPU": t2 - t1, "after gather, wall": w2 - w1,
            "whole, wall": w2, "whole, process CPU": p2}


def main(config: Path, before: Path, after: Path, pairs: int) -> None:
    one_run(before, config)
    one_run(after, config)
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    loads = []
    for _ in range(pairs):
        loads.append(os.getloadavg()[0])
        runs["before"].append(one_run(before, config))
        runs["after"].append(one_run(after, config))
    print(f"{pairs} pairs, 1-minute load {min(loads):.2f}..{max(loads):.2f}")
    print(f"{'median':32s} {'before':>8s} {'after':>8s} {'change':>8s}")
    for key in runs["before"][0]:
        b = statistics.median(r[key] for r in runs["before"])
        a = statistics.median(r[key] for r in runs["after"])
        print(f"{key:32s} {b:8.3f} {a:8.3f} {a - b:+8.3f}")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve(),
         int(sys.argv[4]) if len(sys.argv) > 4 else 5)
