"""An idempotent re-run against a verify, before and after, taken in turn: each pair runs a child process of
tree A then one of tree B (each with its own venv, `<tree>/.venv/bin/python`), both on the same standing
lab, rolled out (`ikefleet lab up --dir DIR`, then one `ikefleet rollout`). A child does one warm-up verify
and re-run, then a verify and a re-run measured in process (process CPU, wall); it fails when the re-run
changed anything. Prints each pair, then the medians and the paired ratios, with the 1-minute load.

    .venv/bin/python bench/rerun_pairs.py DIR /work/main /work/wt/h41 [PAIRS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.runbooks.verify import Verify, VerifyOptions
config = Path(sys.argv[2])
out = {}
for number in range(2):
    start, wall = time.process_time(), time.perf_counter()
    report = Verify(VerifyOptions(config, record=False)).run()
    verify = (time.process_time() - start, time.perf_counter() - wall)
    start, wall = time.process_time(), time.perf_counter()
    summary = Rollout(RolloutOptions(config=config)).run()
    rerun = (time.process_time() - start, time.perf_counter() - wall)
    if not report.compliant or any(o.status != "unchanged" for o in summary.hosts.values()):
        sys.exit("the lab is not converged, or the re-run changed something")
    out = {"verify_cpu": verify[0], "verify_wall": verify[1], "rerun_cpu": rerun[0], "rerun_wall": rerun[1]}
print(json.dumps(out))
"""


def child(tree: Path, config: Path) -> dict[str, float]:
    done = subprocess.run([str(tree / ".venv" / "bin" / "python"), "-c", CHILD, str(tree), str(config)],
                          capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(directory: Path, before: Path, after: Path, pairs: int) -> None:
    config = directory / "config.yaml"
    got: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for number in range(pairs):
        load = os.getloadavg()[0]
        a, b = child(before, config), child(after, config)
        got["before"].append(a)
        got["after"].append(b)
        print(f"pair {number + 1} (load {load:.1f}): " + "; ".join(
            f"{side} re-run {f['rerun_cpu']:.2f}/{f['rerun_wall']:.2f} s verify {f['verify_cpu']:.2f}/"
            f"{f['verify_wall']:.2f} s (CPU/wall)" for side, f in (("before", a), ("after", b))))
    for key in ("rerun_cpu", "rerun_wall", "verify_cpu", "verify_wall"):
        a_values = [f[key] for f in got["before"]]
        b_values = [f[key] for f in got["after"]]
        paired = statistics.median(b / a for a, b in zip(a_values, b_values, strict=True))
        a_mid, b_mid = statistics.median(a_values), statistics.median(b_values)
        print(f"{key}: median before {a_mid:.2f} s, after {b_mid:.2f} s, paired after/before {paired:.2f}")
    for side, runs in got.items():
        cpu = statistics.median(f["rerun_cpu"] / f["verify_cpu"] for f in runs)
        wall = statistics.median(f["rerun_wall"] / f["verify_wall"] for f in runs)
        print(f"{side}: re-run / verify in the same process, medians: CPU {cpu:.2f}, wall {wall:.2f}")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    pairs = int(sys.argv[4]) if len(sys.argv) == 5 else 5
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), pairs)
