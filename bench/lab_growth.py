"""Where a lab router's CPU per verify read goes, in process (no SSH), against a standing lab's directory:
the lab's routers are loaded from DIR (`ikefleet lab up --dir DIR`, rolled out), recomputed once, and every
router answers verify's batch line (the same line the client sends: a branch's route read filtered to the
hub's LANs) through the console engine. Prints CPU per router (hub apart), per section, and the time the
first route read spends building a table, so two lab sizes can be compared per router: a lab router's
cost must not grow with the number of OTHER routers (bench/HISTORY.md, issue 22).

    .venv/bin/python bench/lab_growth.py DIR [RUNS]
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(directory: Path, runs: int) -> None:
    from ikefleet.inventory import load_inventory
    from ikefleet.lab import fabric
    from ikefleet.lab.clock import LabClock
    from ikefleet.lab.engine import Session
    from ikefleet.lab.manager import _fabric_refresh, _load_plan
    from ikefleet.lab.router import Router
    from ikefleet.plan import build_plan
    from ikefleet.routeros.console import marked
    from ikefleet.verify.expected import route_reads
    from ikefleet.verify.gather import COMMANDS, batch_lines, commands

    plan = _load_plan(directory / "lab.json")
    assert plan is not None, f"{directory}: no lab.json"
    clock = LabClock()
    clock.time_scale = 0
    refresh = _fabric_refresh()
    routers = []
    start = time.process_time()
    for spec in plan.specs():
        router = Router(spec=spec, directory=directory / "routers" / spec.name, clock=clock)
        router.load()
        router.refresh_state = refresh
        routers.append(router)
    print(f"{len(routers)} routers loaded: {time.process_time() - start:.2f} s CPU")
    start = time.process_time()
    fabric.recompute(routers, clock.now())
    print(f"recompute: {time.process_time() - start:.2f} s CPU")
    fleet = load_inventory(directory / "config.yaml")
    wheres = route_reads(fleet, build_plan(fleet))
    hub, branches = routers[0], routers[1:]
    lines = {r.name: batch_lines(major=r.major_version, json=False, routes=wheres[r.name])[0]
             for r in routers}
    per_section = {
        r.name: [marked(n, c) for n, c in commands(r.major_version, json=False, routes=wheres[r.name]).items()
                 if n in COMMANDS] for r in (hub, branches[-1])
    }

    def answer(router: Router, line: str) -> str:
        session = Session(router, "admin", width=4098)
        try:
            return session.execute(line)
        finally:
            session.close(dropped=False)

    gc_cpu = [0.0, 0.0, 0.0]
    gc_count = [0, 0, 0]
    began = [0.0]

    def timed_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.process_time()
        else:
            gc_cpu[info["generation"]] += time.process_time() - began[0]
            gc_count[info["generation"]] += 1

    gc.callbacks.append(timed_gc)
    print(f"objects tracked by the collector: {len(gc.get_objects()):,}")
    for run in range(runs + 1):  # the first run builds every router's route table
        gc.collect()
        gc_cpu[:], gc_count[:] = [0.0, 0.0, 0.0], [0, 0, 0]
        start = time.process_time()
        hub_s = time.process_time()
        size = len(answer(hub, lines[hub.name]))
        hub_s = time.process_time() - hub_s
        branch_s = time.process_time()
        for router in branches:
            answer(router, lines[router.name])
        branch_s = time.process_time() - branch_s
        total = time.process_time() - start
        label = "first (builds routes)" if run == 0 else f"run {run}"
        print(f"{label}: whole {total:.3f} s; hub {hub_s * 1000:.1f} ms ({size} chars); "
              f"per branch {branch_s / len(branches) * 1000:.3f} ms; gc (young, middle, full) {gc_count} "
              f"{' / '.join(f'{t * 1000:.0f}' for t in gc_cpu)} ms")
    for router in (hub, branches[-1]):
        figures = []
        for part in per_section[router.name]:
            best = min(_cpu(answer, router, part) for _ in range(5))
            figures.append(f"{part.split(';')[-1].strip()[:40]} {best * 1000:.2f}")
        print(f"{router.name} per section (ms CPU, best of 5):\n  " + "\n  ".join(figures))


def _cpu(answer: object, router: object, line: str) -> float:
    start = time.process_time()
    answer(router, line)  # type: ignore[operator]
    return time.process_time() - start


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 3)
