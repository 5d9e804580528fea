"""Benchmark: the lab console alone (in process, no SSH): time per statement of each command family on a
router with a route table of `--routes` routes: menu walk + generic `add`, `print` (table, detail, a
`where ... in` route read), `find` in a substitution, `:`-scripting, `get`, `set`, `export`.

What the lab's own work costs per statement (lab_bench.py and v7_gather_bench.py are dominated by SSH).
Last, `typed line`: what the SSH console asks the session and the router for each character it echoes
(`sshd.Terminal._interactive`: the prompt, the router's major version) over a TYPED-character line, a
verify batch line's length: paid once per character on every login.
Run: .venv/bin/python bench/console_bench.py [--routes 2000] [--runs 200]. The best and the median of
`--runs` runs each: a busy machine only adds to a run, so compare the best figures across versions.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec

TYPED = 1150  # characters of a v6 branch's verify batch line (bench/lab_growth.py prints the lines)
STATEMENTS = (
    ("menu walk", "/ip address"),
    ("print table", "/ip address print"),
    ("print detail", "/interface print detail"),
    ("print where in", "/ip route print count-only where dst-address in 10.3.0.0/16"),
    ("find in [ ]", ':put [/ip route find where dst-address="10.1.2.0/24"]'),
    ("scripting", ":local a 1; :set a ($a . 2); :put $a"),
    ("get", "/system identity get name"),
    ("set", "/system identity set name=R1"),
    ("export menu", "/ip route export"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    spec = RouterSpec("R1", "responder", "127.0.0.1", 1, "admin", "pw", "203.0.113.1/24", "192.168.1.0/24")
    with tempfile.TemporaryDirectory() as tmp:
        router = Router(spec, Path(tmp), config=initial_config(spec))
        session = Session(router, "admin")
        session.max_delay_s = 0
        start = time.perf_counter()
        for n in range(args.routes):
            reply = session.execute(
                f"/ip route add dst-address=10.{n // 256 % 256}.{n % 256}.0/24 gateway=203.0.113.254"
            )
            assert not reply, reply
        added = time.perf_counter() - start
        print(f"{args.routes} routes added in {added:.2f} s ({added / args.routes * 1e6:.0f} us per add)")
        print(f"{'statement':16} {'best us':>8} {'median us':>10}")
        for label, line in STATEMENTS:
            reply = session.execute(line)
            assert not reply.startswith(("failure", "bad command", "syntax error", "expected")), (line, reply)
            runs = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                session.execute(line)
                runs.append(time.perf_counter() - t0)
            print(f"{label:16} {min(runs) * 1e6:8.0f} {statistics.median(runs) * 1e6:10.0f}")
        runs = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            for _ in range(TYPED):
                _ = session.prompt, router.major_version
            runs.append(time.perf_counter() - t0)
        print(f"{'typed line':16} {min(runs) * 1e6:8.0f} {statistics.median(runs) * 1e6:10.0f}")


if __name__ == "__main__":
    main()
