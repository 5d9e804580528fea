"""Fabric benchmark: recompute time of a hub with N branches built from the seed (default 1000).

Target (not asserted): steady-state recompute well under 1 s for 1000 branches; the first recompute also
verifies every certificate once. Run: `.venv/bin/python bench/fabric_bench.py [--branches N]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "lab"))

import test_fabric_seed as seed

from ikefleet.lab import fabric


def numbers(k: int) -> dict[str, str]:
    """Branch k's addresses for any k (beyond what the documentation ranges of the tests can hold)."""
    base = 4 * (k - 1)
    tunnel = f"172.{16 + base // 65536}.{(base // 256) % 256}"
    return {
        "wan": f"100.{64 + k // 250}.{k % 250}.2/24",
        "lan": f"10.{128 + k // 256}.{k % 256}.0/24",
        "inner": f"10.{k // 250}.{k % 250}.2",
        "hub_tunnel": f"{tunnel}.{base % 256 + 1}/30",
        "tunnel": f"{tunnel}.{base % 256 + 2}/30",
        "tunnel_net": f"{tunnel}.{base % 256}",
        "eoip": f"EoIP-R{k + 1}",
        "client": f"client{k + 1}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--branches", type=int, default=1000)
    args = parser.parse_args()
    seed.branch_numbers = numbers
    start = time.perf_counter()
    lab = seed.build(Path(tempfile.mkdtemp()), args.branches)
    for router in lab.routers:  # one OSPF network covering every tunnel
        for item in router.config.items("/routing ospf network"):
            if item.get("network") == "172.16.0.0/24":
                item.values["network"] = "172.16.0.0/12"
    print(f"build {time.perf_counter() - start:.2f}s")
    for run in ("first", "steady", "steady"):
        start = time.perf_counter()
        fabric.recompute(lab.routers, datetime.now(UTC))
        print(f"recompute ({run}) {time.perf_counter() - start:.3f}s")
    start = time.perf_counter()
    fabric.refresh(lab.branches[-1], datetime.now(UTC))
    routes = len(lab.branches[-1].config.items("/ip route"))
    print(f"first print of a branch's /ip route ({routes} routes) {time.perf_counter() - start:.3f}s")
    neighbors = lab.hub.config.items("/routing ospf neighbor")
    print(f"hub: {len(neighbors)} neighbours, {sum(n.get('state') == 'Full' for n in neighbors)} Full")


if __name__ == "__main__":
    main()
