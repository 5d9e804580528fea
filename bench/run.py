"""End-to-end benchmark: rollout, idempotent re-run and verify of a lab fleet, against an asyncssh floor.

The lab runs as its own process (`ikefleet lab up` daemon in a temporary directory), so the figures of
this process (time, peak RSS) are ikefleet's alone. Certificates use 2048-bit keys, set through the
inventory defaults (`certificates.key_size`): RSA 4096 generation would measure OpenSSL, not ikefleet.

    .venv/bin/python bench/run.py --branches 200 [--json]
    .venv/bin/python bench/run.py --sweep            # 50, 200 and 1000 (if the lab holds it), with ratios
    .venv/bin/python bench/run.py --branches 200 --wan-ms 25   # every router behind 25 ms each way

Targets are documented in bench/README.md; nothing here asserts them (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

KEY_SIZE = 2048
# The lab makes keys at a real router's pace by default (minutes per hub key): the first rollout here measures
# ikefleet, so the lab's keys take no time (bench/pki.py measures the key work on real-router timing).
TIME_SCALE = 0
LAB_UP_TIMEOUT_S = 600
SWEEP = (50, 200, 1000)
REPEATS = 3  # re-runs, verify runs and floor runs per size (their medians are the figures)
PROMPT_END = re.compile(r"\[[^\]\r\n]+@[^\]\r\n]+\][^\r\n]*>\s*$")
LOGIN_OPTIONS = "+ct511w4098h"  # what netmiko's RouterOS driver appends: no colours, no probe, big terminal


# ---------------------------------------------------------------------------------------------- the lab


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (/proc/<pid>/stat), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lab_pid(directory: Path) -> int:
    """The pid of the lab serving `directory` (the `lab.pid` that `ikefleet lab up --dir` writes)."""
    return int((directory / "lab.pid").read_text().split()[0])


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LabProcess:
    """`ikefleet lab up` in a temporary directory; `down` stops it and removes the directory."""

    def __init__(self, branches: int, ros: str = "6") -> None:
        self.branches, self.ros = branches, ros
        self.directory = Path(tempfile.mkdtemp(prefix="ikefleet-bench-"))

    def up(self) -> None:
        cmd = [sys.executable, "-m", "ikefleet", "lab", "up", "--branches", str(self.branches),
               "--ros", self.ros, "--dir", str(self.directory), "--time-scale", str(TIME_SCALE)]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=LAB_UP_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"lab up failed: {done.stderr.strip() or done.stdout.strip()}")
        self._wait_for_inventory()
        _set_key_size(self.directory / "inventory" / "defaults.yaml", KEY_SIZE)

    def _wait_for_inventory(self) -> None:
        """`lab up` returns when the control socket answers; the lab writes its inventory just after
        (seconds later for 1000 routers). secrets.yaml is the last file it writes."""
        deadline = time.monotonic() + LAB_UP_TIMEOUT_S
        while not (self.directory / "secrets.yaml").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the lab in {self.directory} wrote no inventory")
            time.sleep(0.1)

    def peak_rss_mib(self) -> float | None:
        """The lab process's own peak RSS (VmHWM), to tell the lab's memory from ikefleet's."""
        try:
            for line in Path(f"/proc/{self._pid()}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except (OSError, ValueError, IndexError):
            return None
        return None

    def cpu_s(self) -> float:
        """The lab process's CPU seconds so far (0 when it is gone)."""
        pid = self._pid()
        return process_cpu_s(pid) if pid is not None else 0.0

    def down(self) -> None:
        """`lab down`; a lab too busy to stop in time (1,000 routers) is killed, never left running."""
        pid = self._pid()
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run([sys.executable, "-m", "ikefleet", "lab", "down", "--dir", str(self.directory)],
                           cwd=ROOT, capture_output=True, timeout=120)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pid(self) -> int | None:
        try:
            return lab_pid(self.directory)
        except (OSError, ValueError, IndexError):
            return None

    @property
    def config(self) -> Path:
        return self.directory / "config.yaml"


def _set_key_size(defaults: Path, bits: int) -> None:
    yaml = YAML()
    data = yaml.load(defaults.read_text()) or {}
    data.setdefault("data", {}).setdefault("certificates", {})["key_size"] = bits
    with defaults.open("w") as out:
        yaml.dump(data, out)


# ------------------------------------------------------------------------------------------- the WAN


class Wan:
    """bench/wan.py in its own process, in front of every router of `lab`: the inventory's hosts are pointed
    at the relays before any contact, so ikefleet and the floor cross the same delay. `take()` returns
    {router: (connections, turns)} since the last call (bench/wan.py says what a turn is)."""

    def __init__(self, lab: LabProcess, ms: float) -> None:
        self.ms = ms
        hosts_file = lab.directory / "inventory" / "hosts.yaml"
        yaml = YAML()
        hosts = yaml.load(hosts_file.read_text())
        targets = lab.directory / "wan-targets.json"
        targets.write_text(json.dumps({name: [h["hostname"], int(h["port"])] for name, h in hosts.items()}))
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "wan.py"), "--ms", str(ms),
                                         "--targets", str(targets)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        started = json.loads(self.process.stdout.readline())
        for name, host in hosts.items():
            host["hostname"], host["port"] = "127.0.0.1", started["ports"][name]
        with hosts_file.open("w") as out:
            yaml.dump(hosts, out)
        self.control = socket.create_connection(("127.0.0.1", started["control"]))
        self.replies = self.control.makefile("r")

    def take(self) -> dict[str, tuple[int, int]]:
        self.control.sendall(b"take\n")
        return {name: (int(c), int(t)) for name, (c, t) in json.loads(self.replies.readline()).items()}

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.control.close()
        self.process.kill()
        self.process.wait()


class CommandCount:
    """ikefleet's command exchanges per host (`Device._exchange` calls) while installed: a turn the relay
    counts that is not one of these is the login's (key exchange, authentication, the login's read)."""

    def __init__(self) -> None:
        from ikefleet.connection.session import Device

        self.by_host: dict[str, int] = {}
        self._original = Device._exchange
        counts = self.by_host
        original = self._original

        def counted(device: Any, command: str) -> str:
            counts[device.host] = counts.get(device.host, 0) + 1
            return str(original(device, command))

        Device._exchange = counted  # type: ignore[method-assign,assignment]

    def take(self) -> dict[str, int]:
        taken = dict(self.by_host)
        self.by_host.clear()
        return taken


def round_trips(turns: dict[str, tuple[int, int]], commands: dict[str, int] | None = None) -> dict[str, Any]:
    """Per-router figures of one phase: the hub's and the branches' median and most, of connections, turns
    (sequential round trips) and, given ikefleet's command counts, the login's turns per connection."""
    branches = [name for name in turns if name != "hub"]
    hub = turns.get("hub", (0, 0))
    out: dict[str, Any] = {"hub_connections": hub[0], "hub_turns": hub[1]}
    if branches:
        out["branch_connections"] = statistics.median(turns[b][0] for b in branches)
        out["branch_turns"] = statistics.median(turns[b][1] for b in branches)
        out["branch_turns_max"] = max(turns[b][1] for b in branches)
    if commands is not None:
        out["hub_commands"] = commands.get("hub", 0)
        if branches:
            out["branch_commands"] = statistics.median(commands.get(b, 0) for b in branches)
            out["login_turns"] = statistics.median((turns[b][1] - commands.get(b, 0)) / max(1, turns[b][0])
                                                   for b in branches)
    return out


# ----------------------------------------------------------------------------------------- the floor


async def _read_until_prompt(proc: Any, buffer: str = "") -> str:
    while not PROMPT_END.search(buffer):
        chunk = await proc.stdout.read(65536)
        if not chunk:
            raise EOFError("session closed before the prompt")
        buffer += chunk
    return buffer


async def _gather_one(target: tuple[str, int], user: str, password: str, command: str) -> int:
    """Log in, wait for the prompt, send the batch line, read to the prompt after its output; bytes read."""
    import asyncssh

    host, port = target
    async with asyncssh.connect(host, port=port, username=user + LOGIN_OPTIONS, password=password,
                                known_hosts=None) as conn:
        proc = await conn.create_process(term_type="vt100", term_size=(511, 4098), encoding="utf-8")
        await _read_until_prompt(proc)
        proc.stdin.write(command + "\r")
        # the console redraws the line on Enter ("...command\r\n"): the reply is what follows that
        buffer = ""
        while "\n" not in buffer:
            buffer += await proc.stdout.read(65536)
        reply = await _read_until_prompt(proc, buffer.split("\n", 1)[1])
        proc.stdin.write("quit\r")
        proc.close()
        return len(reply)


async def _floor(targets: list[tuple[str, int, str]], user: str, password: str, workers: int) -> int:
    gate = asyncio.Semaphore(workers)

    async def one(target: tuple[str, int, str]) -> int:
        host, port, command = target
        async with gate:
            return await _gather_one((host, port), user, password, command)

    return sum(await asyncio.gather(*(one(t) for t in targets)))


def floor_command(batch: str) -> str:
    """verify's reads on one line: the version read its login makes (`/system resource print`, see
    tasks/device.py) joined to the gather's batch line, as a minimal client would."""
    from ikefleet.routeros.console import VERSION_COMMAND, marked

    return f"{marked('resource', VERSION_COMMAND)}; {batch}"


def floor_targets(config: Path) -> tuple[dict[str, tuple[str, int, str]], str, str, int]:
    """({host: (address, port, verify's reads)}, user, password, Nornir's num_workers) for the floor."""
    from ikefleet.inventory import load_inventory
    from ikefleet.nornir_init import init_nornir
    from ikefleet.plan import build_plan
    from ikefleet.verify.expected import route_reads
    from ikefleet.verify.gather import batch_command

    nr = init_nornir(config)
    fleet = load_inventory(config)
    routes = route_reads(fleet, build_plan(fleet))  # each host's route read, as verify sends it
    workers = int(nr.config.runner.options.get("num_workers", 20))
    hosts = list(nr.inventory.hosts.values())
    targets = {h.name: (h.hostname, int(h.port or 22), floor_command(batch_command(routes=routes[h.name])))
               for h in hosts}
    return targets, hosts[0].username, hosts[0].password, workers


def lower_bound(config: Path) -> tuple[float, int]:
    """(seconds, workers): the verify gather's reads with a bare asyncssh client at Nornir's concurrency."""
    targets, user, password, workers = floor_targets(config)
    start = time.perf_counter()
    asyncio.run(_floor(list(targets.values()), user, password, workers))
    return time.perf_counter() - start, workers


# ------------------------------------------------------------------------------------------ measuring


def parse_2000_sa_ms() -> float:
    from parse_bench import hub_output

    from ikefleet.parsers import parse_installed_sa

    text = hub_output(2000)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        parse_installed_sa(text)
        runs.append(time.perf_counter() - start)
    return min(runs) * 1000


def measure(branches: int, wan_ms: float | None = None, ros: str = "6") -> dict[str, Any]:
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions
    from ikefleet.runbooks.verify import Verify, VerifyOptions

    lab = LabProcess(branches, ros)
    start = time.perf_counter()
    lab.up()
    figures: dict[str, Any] = {"branches": branches, "routers": branches + 1, "ros": ros,
                               "key_size": KEY_SIZE, "lab_time_scale": TIME_SCALE,
                               "lab_up_s": round(time.perf_counter() - start, 2),
                               "load_before": round(os.getloadavg()[0], 2)}
    wan = commands_sent = None
    if wan_ms is not None:
        wan, commands_sent = Wan(lab, wan_ms), CommandCount()
        figures["wan_ms"] = wan_ms
    turns: dict[str, Any] = {}

    def phase(name: str) -> None:
        """The relay's counts of the phase that just ended (WAN mode), kept under `name` when named."""
        if wan is not None and commands_sent is not None:
            seen, sent = wan.take(), commands_sent.take()
            if name:
                turns[name] = round_trips(seen, sent if name != "floor" else None)

    try:
        start = time.perf_counter()
        first = Rollout(RolloutOptions(config=lab.config)).run()
        figures["rollout_s"] = round(time.perf_counter() - start, 2)
        figures["rollout_failed"] = len(first.failed)
        phase("")

        reruns, commands, changed = [], 0, 0
        for _ in range(REPEATS):  # each re-run on the converged fleet must send nothing
            start = time.perf_counter()
            again = Rollout(RolloutOptions(config=lab.config)).run()
            reruns.append(time.perf_counter() - start)
            commands = max(commands, sum(o.commands for o in again.hosts.values()))
            changed = max(changed, sum(o.status != "unchanged" for o in again.hosts.values()))
            phase("rerun")
        figures["rerun_s"] = round(statistics.median(reruns), 2)
        figures["rerun_runs_s"] = [round(t, 2) for t in reruns]
        figures["rerun_config_commands"], figures["rerun_changed"] = commands, changed

        # The lab builds a router's routing table on its first route print after a change (SPF over the
        # whole fleet, per router): one untimed pass of the floor's reads pays that, so verify and the
        # floor below both read a warm lab, as they would read real routers.
        figures["warm_up_s"] = round(lower_bound(lab.config)[0], 2)
        phase("")

        # verify and the floor take turns, REPEATS times each: the figures are medians, so one slow moment
        # of a shared machine moves neither the ratio nor the growth (each run's time is kept too).
        runs: list[dict[str, Any]] = []
        for _ in range(REPEATS):
            run: dict[str, Any] = {}
            start, own, lab_cpu = time.perf_counter(), own_cpu_s(), lab.cpu_s()
            report = Verify(VerifyOptions(config=lab.config)).run()
            run["verify_s"] = time.perf_counter() - start
            run["verify_ok"] = _report_ok(report)
            # CPU seconds of the two processes sharing the machine: where verify's time went.
            run["verify_cpu_s"] = own_cpu_s() - own
            run["verify_lab_cpu_s"] = lab.cpu_s() - lab_cpu
            phase("verify")
            lab_cpu = lab.cpu_s()
            run["lower_bound_s"], figures["num_workers"] = lower_bound(lab.config)
            run["lower_bound_lab_cpu_s"] = lab.cpu_s() - lab_cpu
            phase("floor")
            runs.append(run)
        figures["verify_ok"] = all(r["verify_ok"] for r in runs)
        for key in ("verify_s", "lower_bound_s", "verify_cpu_s", "verify_lab_cpu_s", "lower_bound_lab_cpu_s"):
            figures[key] = round(statistics.median(r[key] for r in runs), 2)
        figures["verify_runs_s"] = [round(r["verify_s"], 2) for r in runs]
        figures["lower_bound_runs_s"] = [round(r["lower_bound_s"], 2) for r in runs]
        figures["ratio"] = round(figures["verify_s"] / figures["lower_bound_s"], 2)
        figures["rerun_vs_verify"] = round(figures["rerun_s"] / figures["verify_s"], 2)
        figures["rerun_vs_floor"] = round(figures["rerun_s"] / figures["lower_bound_s"], 2)
        if wan_ms:
            rtt = 2 * wan_ms / 1000  # the run's wall time in round trips of the link
            for key in ("rerun_s", "verify_s", "lower_bound_s"):
                figures[key.replace("_s", "_wall_rtts")] = round(figures[key] / rtt, 1)
        if turns:
            figures["round_trips"] = turns
    finally:
        if wan is not None:
            wan.stop()
        figures["lab_peak_rss_mib"] = lab.peak_rss_mib()
        lab.down()
    figures["load_after"] = round(os.getloadavg()[0], 2)  # 1-minute load: was the machine idle?
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["parse_2000_sa_ms"] = round(parse_2000_sa_ms(), 1)
    return figures


def _report_ok(report: Any) -> bool | None:
    for name in ("compliant", "ok", "passed"):
        value = getattr(report, name, None)
        if isinstance(value, bool):
            return value
        if callable(value):
            try:
                return bool(value())
            except TypeError:
                continue
    return None


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{platform.system()}")


# ------------------------------------------------------------------------------------------- printing

ROWS = [
    ("rollout_s", "first rollout (s), 2048-bit keys"),
    ("rerun_s", "idempotent re-run (s)"),
    ("rerun_config_commands", "re-run configuration commands"),
    ("verify_s", "verify (s)"),
    ("lower_bound_s", "asyncssh lower bound (s)"),
    ("ratio", "verify / lower bound"),
    ("rerun_vs_verify", "re-run / verify"),
    ("rerun_vs_floor", "re-run / lower bound"),
    ("wan_ms", "WAN delay each way (ms)"),
    ("rerun_wall_rtts", "re-run wall time in RTTs"),
    ("verify_wall_rtts", "verify wall time in RTTs"),
    ("lower_bound_wall_rtts", "lower bound wall time in RTTs"),
    ("peak_rss_mib", "peak RSS (MiB)"),
    ("parse_2000_sa_ms", "parse 2,000 SAs (ms)"),
    ("num_workers", "Nornir num_workers"),
    ("lab_up_s", "lab up (s, not ikefleet)"),
    ("lab_peak_rss_mib", "lab peak RSS (MiB, not ikefleet)"),
    ("load_before", "1-min load average before"),
    ("load_after", "1-min load average after"),
]


def table(results: list[dict[str, Any]]) -> str:
    head = f"{'':34}" + "".join(f"{r['branches']:>10}" for r in results)
    lines = [f"machine: {machine()}", head + "  (branches)"]
    for key, label in ROWS:
        lines.append(f"{label:34}" + "".join(f"{r.get(key, '-')!s:>10}" for r in results))
    for r in results:  # WAN mode: sequential round trips per router, the relay's count (bench/wan.py)
        for name, per_router in r.get("round_trips", {}).items():
            shown = ", ".join(f"{k} {v}" for k, v in per_router.items())
            lines.append(f"round trips, {name} ({r['branches']} branches, per router): {shown}")
    return "\n".join(lines)


def growth(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for small, big in itertools.pairwise(results):
        for key in ("rollout_s", "rerun_s", "verify_s", "peak_rss_mib"):
            if small.get(key) and big.get(key):
                fleet = big["branches"] / small["branches"]
                lines.append(f"{key} {big['branches']}/{small['branches']} branches: "
                             f"{big[key] / small[key]:.2f}x (fleet {fleet:.1f}x)")
    return lines


def lab_capacity() -> int:
    """Branches the lab can address (its WAN ranges); the sweep skips sizes beyond it."""
    from ikefleet.lab import manager

    for attr in ("MAX_BRANCHES", "BRANCH_LIMIT"):
        if isinstance(getattr(manager, attr, None), int):
            return int(getattr(manager, attr))
    count = 1
    while True:  # the address plan raises past its last address
        try:
            manager.wan_address(count + 1)
        except Exception:
            return count
        count += 1
        if count > 100_000:
            return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="one JSON object (a list with --sweep)")
    parser.add_argument("--sweep", action="store_true", help=f"run {', '.join(map(str, SWEEP))} branches")
    parser.add_argument("--sizes", type=lambda v: tuple(int(n) for n in v.split(",")), default=SWEEP,
                        help="branch counts of --sweep, comma-separated")
    parser.add_argument("--wan-ms", type=float, default=None, metavar="N",
                        help="put N ms each way in front of every router (ikefleet and the floor alike) and "
                             "count the round trips per router (bench/wan.py); 0 counts without delay")
    parser.add_argument("--ros", default="6",
                        help="the lab's RouterOS major: 6 (default), 7, or a mix like 7,6 (lab up --ros)")
    args = parser.parse_args(argv)
    if args.sweep:
        cap = lab_capacity()
        sizes = [n for n in args.sizes if n <= cap]
        results = []
        for n in sizes:
            results.append(_isolated(n, args.wan_ms, args.ros))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # a long sweep shows progress
        if args.json:
            print(json.dumps(results, indent=1))
        else:
            print(table(results))
            print("\n".join(growth(results)))
            if len(sizes) < len(args.sizes):
                print(f"skipped {[n for n in args.sizes if n > cap]}: the lab holds at most {cap} branches")
        return 0
    result = measure(args.branches, args.wan_ms, args.ros)
    result["machine"] = machine()
    print(json.dumps(result) if args.json else table([result]))
    return 0


def _isolated(branches: int, wan_ms: float | None = None, ros: str = "6") -> dict[str, Any]:
    """One size in a fresh process, so each peak RSS is that size's own."""
    wan = ["--wan-ms", str(wan_ms)] if wan_ms is not None else []
    args = ["--branches", str(branches), "--json", "--ros", ros, *wan]
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    sys.exit(main())
