"""Where a verify's CPU goes, against a standing lab (`ikefleet lab up --dir DIR`, rolled out): process CPU of
the whole run and of the gather, and thread CPU of what the worker threads spend logging in and reading
(`read_raw`) and parsing (`parse_sections`), and of paramiko's transport threads (key exchange, packets
decrypted and checked, channel data handed on); process CPU of the serial phases after the gather (the
expected state and the checks). The rest of the gather is Nornir and thread start-up. The session's steps
inside the login and reads (host-key precheck, netmiko's SSH client, paramiko's connect and shell, netmiko's
login handler, the whole login, the batch read, the close) are given per router too, with the process's
context switches per router (each SSH packet read or waited for can cost a thread hand-off). Best of N runs
after one warm-up; then the serial phases alone, N times on the last run's captured input.

With --one-worker: the worker's side alone, without the other threads' GIL hand-offs in the figures: one
thread logs in to each branch in turn, sends the v6 batch line and closes, RUNS times over the branches
(after 20 to warm up); thread CPU per router of the login, the batch read and the close, and the wall
per router (each router's session from login to close, one after the other: fixed waits show there).

With --transport-ab: the SSH side alone, ikefleet's transport (`connection/kex.py`) against the same
with paramiko's own parts put back (its packetizer with a handshake timer thread, paramiko's writer of
K), in turn: each round logs in (key exchange, password, a shell) to every branch from
the verify's worker count of threads with one, then the other; process CPU per login and wall per round, the
medians and the median of the rounds' differences (RUNS rounds after one to warm up).

    .venv/bin/python bench/verify_phases.py [--one-worker | --transport-ab] DIR [RUNS]
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(directory: Path, runs: int) -> None:
    import paramiko
    import paramiko.transport

    import ikefleet.runbooks.verify as runbook
    import ikefleet.tasks.gather  # noqa: F401 (the module: the package's `gather` is the task function)
    import ikefleet.verify.judge as judge
    from ikefleet.connection import hostkeys
    from ikefleet.connection.driver import RouterOSDriver
    from ikefleet.connection.session import Device

    tasks_gather = sys.modules["ikefleet.tasks.gather"]
    spent: dict[str, float] = {}
    captured: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    lock = threading.Lock()

    def wrap(owner: Any, name: str, label: str, clock: Callable[[], float]) -> Callable[..., Any]:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return inner(*args, **kwargs)
            finally:
                with lock:
                    spent[label] = spent.get(label, 0.0) + clock() - start
                    captured[label] = (args, kwargs)

        setattr(owner, name, timed)
        return inner  # type: ignore[no-any-return]

    wrap(tasks_gather, "read_raw", "login and reads (worker threads)", time.thread_time)
    wrap(tasks_gather, "parse_sections", "parsing (worker threads)", time.thread_time)
    wrap(paramiko.transport.Transport, "run", "SSH transport threads", time.thread_time)
    wrap(runbook.Verify, "gather", "gather (process)", time.process_time)
    steps = (
        (hostkeys, "precheck", "host-key precheck"),
        (RouterOSDriver, "_build_ssh_client", "SSH client"),
        (paramiko.SSHClient, "connect", "paramiko connect"),
        (paramiko.SSHClient, "invoke_shell", "shell"),
        (RouterOSDriver, "special_login_handler", "login prompts"),
        (RouterOSDriver, "open_session", "login"),
        (Device, "send", "batch read"),
        (runbook, "close", "close"),
    )
    for owner, name, label in steps:
        wrap(owner, name, f"  {label} (worker threads, per router)", time.thread_time)
    expected = wrap(judge, "expected_state", "expected state", time.process_time)
    evaluate = wrap(judge, "evaluate", "checks", time.process_time)
    options = runbook.VerifyOptions(directory / "config.yaml", record=False)
    runbook.Verify(options).run()
    best: dict[str, float] = {}
    fewest = sys.maxsize
    for _ in range(runs):
        spent.clear()
        start, before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
        report = runbook.Verify(options).run()
        spent["whole run (process)"] = time.process_time() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        switches = after.ru_nvcsw - before.ru_nvcsw + after.ru_nivcsw - before.ru_nivcsw
        if not report.compliant:
            sys.exit("the lab is not compliant: roll it out first")
        for label, seconds in spent.items():
            best[label] = min(best.get(label, seconds), seconds)
        fewest = min(fewest, switches)
    hosts = len(captured["checks"][0][1])  # evaluate(fleet, states, ...): one state per host
    for label, seconds in best.items():
        per_router = "per router" in label
        print(f"{label}: {seconds * 1000 / (hosts if per_router else 1):.{2 if per_router else 0}f} ms")
    print(f"context switches (process, voluntary + involuntary, per router): {fewest / hosts:.0f}")
    for label, phase in (("expected state", expected), ("checks", evaluate)):
        args, kwargs = captured[label]
        times = []
        for _ in range(runs):
            start = time.process_time()
            phase(*args, **kwargs)
            times.append(time.process_time() - start)
        print(f"{label} alone, best of {runs}: {min(times) * 1000:.1f} ms")


def one_worker(directory: Path, runs: int) -> None:
    from ikefleet.connection.opening import device_for
    from ikefleet.nornir_init import init_nornir
    from ikefleet.tasks.device import close
    from ikefleet.verify.gather import batch_lines

    nr = init_nornir(directory / "config.yaml")
    hosts = [host for name, host in sorted(nr.inventory.hosts.items()) if name != "hub"]
    line = batch_lines(major=6, json=False, routes="ospf")[0]
    spent = {"login": 0.0, "batch read": 0.0, "close": 0.0}

    def one(host: Any) -> None:
        start = time.thread_time()
        device = device_for(host, nr.config)
        logged_in = time.thread_time()
        device.send(line)
        read = time.thread_time()
        close(host)
        spent["login"] += logged_in - start
        spent["batch read"] += read - logged_in
        spent["close"] += time.thread_time() - read

    for host in hosts[:20]:
        one(host)
    spent.update(dict.fromkeys(spent, 0.0))
    start = time.perf_counter()
    for _ in range(runs):
        for host in hosts:
            one(host)
    count = len(hosts) * runs
    wall = (time.perf_counter() - start) * 1000 / count
    print("one worker, thread CPU per router: " + ", ".join(
        f"{label} {seconds * 1000 / count:.3f} ms" for label, seconds in spent.items())
        + f"; wall per router (login to close, one at a time) {wall:.2f} ms")


def transport_ab(directory: Path, runs: int) -> None:
    import os
    import statistics
    from concurrent.futures import ThreadPoolExecutor

    import paramiko
    from paramiko.packet import Packetizer

    from ikefleet.connection import kex
    from ikefleet.connection.transport import tcp_socket
    from ikefleet.nornir_init import init_nornir

    class Paramikos(kex.Transport):
        """kex.Transport with paramiko's packetizer and K writer: the client before."""

        def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(sock, *args, **{**kwargs, "packetizer_class": Packetizer})

        def _add_K(self, m: paramiko.Message) -> None:
            paramiko.Transport._add_K(self, m)  # type: ignore[attr-defined]

    nr = init_nornir(directory / "config.yaml")
    workers = nr.config.runner.options.get("num_workers", 20)
    branches = [host for name, host in sorted(nr.inventory.hosts.items()) if name != "hub"]

    def login(cls: type[kex.Transport], host: Any) -> None:
        transport = cls(tcp_socket(host.hostname, host.port, 10.0))
        try:
            transport.start_client(timeout=10.0)
            transport.auth_password(host.username, host.password)
            channel = transport.open_session()
            channel.get_pty()
            channel.invoke_shell()
            channel.close()
        finally:
            transport.close()
        transport.join()

    sides: dict[str, type[kex.Transport]] = {"paramiko's parts": Paramikos, "ikefleet": kex.Transport}
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    wall: dict[str, list[float]] = {side: [] for side in sides}
    for round_ in range(runs + 1):
        load = os.getloadavg()[0]
        for side, cls in sides.items():
            start, started = time.process_time(), time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda host, cls=cls: login(cls, host), branches))
            if round_:  # (the first warms up)
                cpu[side].append((time.process_time() - start) * 1000 / len(branches))
                wall[side].append(time.perf_counter() - started)
        if round_:
            print(f"round {round_}: load {load:.2f}  " + "  ".join(
                f"{side} {cpu[side][-1]:.3f} ms CPU/login {wall[side][-1]:.3f} s wall" for side in sides))
    for side in sides:
        print(f"{side}: median {statistics.median(cpu[side]):.3f} ms CPU per login,"
              f" {statistics.median(wall[side]):.3f} s wall per {len(branches)} logins ({workers} threads)")
    before, after = sides
    cpu_diff = statistics.median(a - b for a, b in zip(cpu[after], cpu[before], strict=True))
    wall_diff = statistics.median(a - b for a, b in zip(wall[after], wall[before], strict=True))
    print(f"median of the rounds' differences (ikefleet - paramiko's parts): {cpu_diff:+.3f} ms CPU"
          f" per login, {wall_diff:+.3f} s wall")


if __name__ == "__main__":
    modes = {"--one-worker": one_worker, "--transport-ab": transport_ab}
    arguments = [a for a in sys.argv[1:] if a not in modes]
    if len(arguments) not in (1, 2):
        sys.exit(__doc__)
    run = next((modes[a] for a in sys.argv[1:] if a in modes), main)
    run(Path(arguments[0]), int(arguments[1]) if len(arguments) == 2 else 3)
