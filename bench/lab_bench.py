"""Lab benchmark: start time and RSS of a 500-router lab, median netmiko connect + command + disconnect.

Targets (not asserted): start under 5 s, RSS under 500 MiB. Run: `.venv/bin/python bench/lab_bench.py`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from netmiko import ConnectHandler

from ikefleet.lab.manager import Lab


def rss_mib() -> float:
    """Current resident set size (Linux /proc), falling back to the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routers", type=int, default=500)
    parser.add_argument("--connects", type=int, default=10)
    parser.add_argument("--command", default="/system identity print")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        before = rss_mib()
        t0 = time.perf_counter()
        lab = Lab.start(Path(tmp), branches=args.routers - 1, control_socket=False)
        started = time.perf_counter() - t0
        lab.settle()
        settled = time.perf_counter() - t0
        print(f"routers: {args.routers}")
        print(f"start: {started:.2f} s (with first fabric recompute: {settled:.2f} s)")
        print(f"rss: {rss_mib():.0f} MiB (before start: {before:.0f} MiB)")
        try:
            names = list(lab.routers)
            samples = []
            for i in range(args.connects):
                spec = lab.spec(names[(i * 37) % len(names)])
                t1 = time.perf_counter()
                conn = ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                                      username=spec.username, password=spec.password)
                conn.send_command(args.command)
                conn.disconnect()
                samples.append(time.perf_counter() - t1)
            print(f"netmiko connect + 1 command + disconnect: median {statistics.median(samples):.2f} s "
                  f"over {len(samples)} (min {min(samples):.2f}, max {max(samples):.2f})")
            print(f"rss after connects: {rss_mib():.0f} MiB")
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
