"""The serial part of a whole-process `ikefleet verify`: what the main thread spends before the gather
(interpreter, imports, inventory, Nornir) and after it (the verdict, the report, the exit), in CPU seconds
(its own thread time, steady on a loaded machine where wall figures are not) and wall, for two checkouts in
turn (A B A B ...). The gather itself is given as wall and process CPU. Medians over the runs.

    .venv/bin/python bench/verify_serial.py CONFIG BEFORE_DIR AFTER_DIR [PAIRS]

Each DIR has its own .venv; the run is `ikefleet verify -c CONFIG --quiet --no-history` in a fresh process,
with the set-up (`Verify.__init__`), `Verify.gather` and the runbook's `judge` wrapped to note the times
at their start and end (both checkouts have them).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# In the checkout's own interpreter: its `main()` as `ikefleet` runs it, with marks (wall, main-thread CPU,
# process CPU) at the set-up (Verify.__init__), the gather and the judging (the runbook's `judge`: the verdict
# of a --no-history run). The runbook is patched when the command imports it, not imported ahead: the
# imports stay where the command makes them, under the command's own collector setting.
CHILD = r"""
import builtins, os, sys, time, json
start_wall = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = (time.perf_counter() - start_wall, time.thread_time(), time.process_time())
def marked(inner, name):
    def wrapper(*args, **kwargs):
        mark(name + " start")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(name + " end")
    return wrapper
real_import = builtins.__import__
def importing(name, *args, **kwargs):
    module = real_import(name, *args, **kwargs)
    runbook = sys.modules.get("ikefleet.runbooks.verify")
    if hasattr(runbook, "Verify") and not hasattr(runbook, "_bench_marked"):  # (loaded whole)
        runbook._bench_marked = True
        runbook.Verify.__init__ = marked(runbook.Verify.__init__, "set-up")
        runbook.Verify.gather = marked(runbook.Verify.gather, "gather")
        runbook.judge = marked(runbook.judge, "judge")
        builtins.__import__ = real_import
    return module
builtins.__import__ = importing
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
    """The phases of one run: main-thread CPU of each serial phase, the gather's wall and process CPU."""
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
    m = json.loads(data)["marks"]

    def cpu(a: str, b: str) -> float:  # main-thread CPU between two marks
        return float(m[b][1] - m[a][1])

    return {"start + imports, main thread CPU": m["set-up start"][1],
            "set-up (inventory), main CPU": cpu("set-up start", "set-up end"),
            "before gather, main thread CPU": m["gather start"][1],
            "gather, wall": m["gather end"][0] - m["gather start"][0],
            "gather, process CPU": m["gather end"][2] - m["gather start"][2],
            "judge, main thread CPU": cpu("judge start", "judge end"),
            "report + exit, main CPU": cpu("judge end", "exit"),
            "after gather, main thread CPU": cpu("gather end", "exit"),
            "whole, wall": m["exit"][0], "whole, process CPU": m["exit"][2]}


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
