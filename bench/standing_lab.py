"""Figures against a standing lab (`ikefleet lab up --dir DIR` and a rollout done): where the time goes.

    .venv/bin/python bench/standing_lab.py DIR

Prints, each run twice (the first read after a lab start also builds every router's routes):
- a key exchange over TCP with and without Nagle's algorithm (paramiko leaves it on; ikefleet turns it off);
- verify's wall time with ikefleet's and the lab's CPU seconds (`/proc/<lab pid>/stat`);
- the asyncssh floor (bench/run.py) the same way, for the whole fleet, the hub alone and the branches alone.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def key_exchange_ms(host: str, port: int, nodelay: bool) -> float:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(nodelay))
    transport = paramiko.Transport(sock)
    try:
        start = time.perf_counter()
        transport.start_client()
        return (time.perf_counter() - start) * 1000
    finally:
        transport.close()


def main(directory: Path) -> None:
    import run as bench_run
    from run import lab_pid, own_cpu_s, process_cpu_s

    from ikefleet.inventory import load_inventory
    from ikefleet.runbooks.verify import Verify, VerifyOptions

    config = directory / "config.yaml"
    pid = lab_pid(directory)
    hub = load_inventory(config).hub.name
    targets, user, password, workers = bench_run.floor_targets(config)
    address, port, _ = targets[hub]
    for nodelay in (False, True):
        runs = sorted(key_exchange_ms(address, port, nodelay) for _ in range(7))
        print(f"key exchange, TCP_NODELAY={int(nodelay)}: median {runs[3]:.1f} ms")

    def measured(label: str, job: Callable[[], object]) -> None:
        for _ in range(2):
            lab0, own0, start = process_cpu_s(pid), own_cpu_s(), time.perf_counter()
            job()
            print(f"{label}: {time.perf_counter() - start:.2f} s wall, ikefleet/client CPU "
                  f"{own_cpu_s() - own0:.2f} s, lab CPU {process_cpu_s(pid) - lab0:.2f} s")

    def floor(keep: Callable[[str], bool]) -> Callable[[], object]:
        chosen = [t for name, t in targets.items() if keep(name)]
        return lambda: asyncio.run(bench_run._floor(chosen, user, password, workers))

    measured("verify", lambda: Verify(VerifyOptions(config, record=False)).run())
    measured("floor, whole fleet", floor(lambda name: True))
    measured("floor, hub alone", floor(lambda name: name == hub))
    measured("floor, branches alone", floor(lambda name: name != hub))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
