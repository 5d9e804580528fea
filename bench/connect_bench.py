"""The handshake gate and retries, seen from the routers: peak SSH handshakes in flight and verify time.

For each `ikefleet.connect.max_concurrent` the whole fleet is gathered once (verify's reads, no history);
the in-process lab counts handshakes (TCP accepted, login not completed) across all routers. Then the same
with `reset-next 2` on a tenth of the branches (each needs 3 attempts) to show what retries cost.

    .venv/bin/python bench/connect_bench.py --branches 60
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.runbooks.verify import Verify, VerifyOptions


def set_connect(config: Path, **settings: float) -> None:
    yaml = YAML()
    data = yaml.load(config.read_text())
    data.setdefault("ikefleet", {})["connect"] = settings
    with config.open("w") as out:
        yaml.dump(data, out)


def gather(lab: Lab) -> tuple[float, int, int, int]:
    """(seconds, peak handshakes, total handshakes, hosts with an error)."""
    lab.settle()
    lab.handshakes.reset()
    start = time.perf_counter()
    states = Verify(VerifyOptions(lab.directory / "config.yaml", record=False)).gather()
    took = time.perf_counter() - start
    return took, lab.handshakes.peak, lab.handshakes.total, sum(1 for s in states.values() if s.error)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--bounds", default="1,2,5,10,20,1000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Lab.start(Path(tmp) / "lab", branches=args.branches) as lab:
        fast_keys(lab.directory)
        config = lab.directory / "config.yaml"
        print(f"{args.branches + 1} routers, Nornir num_workers from the lab's config.yaml")
        header = ("max_concurrent", "reset", "verify_s", "peak", "handshakes", "errors")
        print("{:>14} {:>6} {:>9} {:>5} {:>10} {:>6}".format(*header))
        gather(lab)  # warm-up: host keys pinned, imports done
        for bound in (int(b) for b in args.bounds.split(",")):
            set_connect(config, max_concurrent=bound, backoff=0.2)
            took, peak, total, errors = gather(lab)
            print(f"{bound:>14} {'-':>6} {took:>9.2f} {peak:>5} {total:>10} {errors:>6}")
        flaky = [f"br{i}" for i in range(1, args.branches + 1, 10)]
        set_connect(config, max_concurrent=10, backoff=0.2)
        for name in flaky:
            lab.fault(name, "reset-next", 2)
        took, peak, total, errors = gather(lab)
        print(f"{10:>14} {len(flaky):>6} {took:>9.2f} {peak:>5} {total:>10} {errors:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
