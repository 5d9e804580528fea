"""Where an idempotent re-run's time goes, against a standing lab that is rolled out (`ikefleet lab up --dir
DIR`, then one `ikefleet rollout`): in process, each run a verify and a re-run (a `Rollout` of the converged
fleet) in turn, with process CPU and wall time of the re-run's phases (set-up, the reach, the hub's phase,
the record of the unchanged branches, the ledger's close, the backups' commit) and thread CPU of what the
reach's worker threads spend on each step of a branch (login and reads, parsing, rendering, the diff, the
state, verify's checks). The verify's CPU and wall are given beside the re-run's, and their ratios. Best of
N after one warm-up of each.

    .venv/bin/python bench/rerun_phases.py DIR [RUNS]
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(directory: Path, runs: int) -> None:
    import ikefleet.runbooks.rollout as rollout
    import ikefleet.runbooks.verify as verify
    import ikefleet.tasks.reach as reach
    from ikefleet import rundir
    from ikefleet.processors.ledger import Ledger

    spent: dict[str, float] = {}
    lock = threading.Lock()

    def wrap(owner: Any, name: str, label: str, clock: Callable[[], float]) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start, wall = clock(), time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                with lock:
                    spent[label] = spent.get(label, 0.0) + clock() - start
                    if clock is time.process_time:
                        spent[label + " wall"] = spent.get(label + " wall", 0.0) + time.perf_counter() - wall

        setattr(owner, name, timed)

    for owner, name, label in (
        (rollout.Rollout, "__init__", "set-up: inventory, plan"),
        (rollout.Rollout, "_reach", "reach"),
        (rollout.Rollout, "_converge_hub", "hub's phase"),
        (rollout.Rollout, "_unchanged", "unchanged on the record"),
        (rollout.Rollout, "_waves", "waves"),
        (Ledger, "close", "ledger close"),
        (rollout.Rollout, "_commit_backups", "backups commit"),
        (rollout, "init_nornir", "InitNornir"),
        (rollout, "RunDir", "run directory (prunes old runs)"),
        (rundir.RunDir, "write_json", "plan.json"),
        (rollout.pki, "sweep_temporary", "sweep temporary keys"),
        (rollout.Rollout, "_held_back", "held back"),
        (rollout.Rollout, "_signer_done", "signer done"),
        (rollout, "_selected", "selection"),
        (rollout, "plan_waves", "plan waves"),
        (rollout, "reach_branches", "reach_branches"),
        (rollout, "expected_state", "expected state (main thread)"),
    ):
        wrap(owner, name, label, time.process_time)
    for name, label in (("read_raw", "login and reads"), ("parse_script", "parse the export"),
                        ("render_host", "render the intent"), ("diff_config", "diff"),
                        ("host_state", "host state"), ("verified", "verify's checks"),
                        ("hub_reads", "hub's reads")):
        wrap(reach, name, f"  {label} (reach threads)", time.thread_time)
    config = directory / "config.yaml"
    best: dict[str, float] = {}
    for number in range(runs + 1):
        start, wall = time.process_time(), time.perf_counter()
        report = verify.Verify(verify.VerifyOptions(config, record=False)).run()
        verify_cpu, verify_wall = time.process_time() - start, time.perf_counter() - wall
        if not report.compliant:
            sys.exit("the lab is not compliant: roll it out first")
        spent.clear()
        start, wall = time.process_time(), time.perf_counter()
        summary = rollout.Rollout(rollout.RolloutOptions(config=config)).run()
        spent["re-run (process)"] = time.process_time() - start
        spent["re-run wall"] = time.perf_counter() - wall
        spent["verify (process)"], spent["verify wall"] = verify_cpu, verify_wall
        spent["re-run / verify, CPU"] = spent["re-run (process)"] / verify_cpu
        spent["re-run / verify, wall"] = spent["re-run wall"] / verify_wall
        changed = [h for h, o in summary.hosts.items() if o.status != "unchanged"]
        if changed:
            sys.exit(f"not an idempotent re-run: {len(changed)} host(s) not unchanged ({changed[:5]})")
        print(f"run {number}: re-run CPU {spent['re-run (process)']:.2f} s wall {spent['re-run wall']:.2f} s,"
              f" verify CPU {verify_cpu:.2f} s wall {verify_wall:.2f} s", file=sys.stderr)
        if number == 0:  # the warm-up
            continue
        for label, seconds in spent.items():
            best[label] = min(best.get(label, seconds), seconds)
    for label, seconds in best.items():
        unit = "" if "/" in label else " ms"
        print(f"{label}: {seconds:.2f}" if "/" in label else f"{label}: {seconds * 1000:.0f}{unit}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 3)
