"""`ikefleet lab up|status|down|fault|upgrade`: the built-in lab, one background process per lab directory."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ikefleet.lab import control
from ikefleet.lab.clock import check_time_scale
from ikefleet.lab.manager import BACKENDS, DEFAULT_VERSION, FAULTS

START_TIMEOUT_S = 60.0
VERSIONS = {"6": DEFAULT_VERSION, "7": "7.16.1"}


def ros_versions(text: str) -> str:
    """`--ros 7` or a mix `--ros 7,6` (hub on the first, branches in turn) -> the lab's version list."""
    try:
        return ",".join(VERSIONS[part.strip()] for part in text.split(","))
    except KeyError:
        known = ", ".join(sorted(VERSIONS))
        raise argparse.ArgumentTypeError(f"RouterOS major versions are {known}") from None


def time_scale(text: str) -> float:
    """`--time-scale`: a number >= 0."""
    try:
        return check_time_scale(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: a number >= 0, e.g. 0.01 (1 = real timing)") from exc


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lab = subparsers.add_parser("lab", help="run the built-in RouterOS lab (simulated routers over SSH)")
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    up = sub.add_parser("up", help="start a hub and N branches in the background")
    up.add_argument("--branches", type=int, default=None, help="number of branches (default 3, or as before)")
    up.add_argument("--ros", type=ros_versions, default="6",
                    help="RouterOS major: 6, 7, or a mix like 7,6 (hub on the first, branches in turn)")
    up.add_argument("--backend", choices=BACKENDS, default=None,
                    help="model (default: computed state) or netns (real strongSwan + FRR; root only)")
    up.add_argument("--time-scale", type=time_scale, default=None, metavar="SCALE",
                    help="how long key generation takes, as a fraction of a real router's time "
                         "(ikefleet/routeros/keygen_timing.yaml): 1 (default) = real, 0.01 = 100x faster")
    _dir(up)
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="where the routers are")
    status.add_argument("--json", action="store_true", help="machine-readable, with credentials")
    _dir(status)
    status.set_defaults(func=cmd_status)

    down = sub.add_parser("down", help="stop the lab (configuration stays on disk)")
    _dir(down)
    down.set_defaults(func=cmd_down)

    fault = sub.add_parser("fault", help="switch a fault on (or --clear all faults) on one router")
    fault.add_argument("router")
    fault.add_argument("fault", nargs="?", choices=sorted(FAULTS), metavar="FAULT",
                       help=f"one of: {', '.join(FAULTS)}")
    fault.add_argument("value", nargs="?", help="ms, count, pattern, seconds or bytes, as the fault needs")
    fault.add_argument("error", nargs="?", help="fail-command: the RouterOS error text to answer with")
    fault.add_argument("--clear", action="store_true", help="clear all faults of ROUTER")
    _dir(fault)
    fault.set_defaults(func=cmd_fault)

    upgrade = sub.add_parser("upgrade", help="upgrade one router to RouterOS 7 as RouterOS's upgrade does "
                             "(configuration converted, router rebooted)")
    upgrade.add_argument("router")
    upgrade.add_argument("--ros", required=True, metavar="VERSION", help="target version, e.g. 7.16.1")
    _dir(upgrade)
    upgrade.set_defaults(func=cmd_upgrade)


def _dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("lab"), help="lab directory (default ./lab)")


def cmd_up(args: argparse.Namespace) -> int:
    directory = args.dir.resolve()
    try:
        control.request(directory, {"op": "status"}, timeout=5)
        print(f"a lab is already running in {directory}: `ikefleet lab status --dir {args.dir}` shows it, "
              f"`ikefleet lab down --dir {args.dir}` stops it", file=sys.stderr)
        return 2
    except control.ControlError:
        pass
    if (args.backend or _saved_backend(directory)) == "netns":  # a netns lab comes back as one
        from ikefleet.lab.netns.backend import check_host
        from ikefleet.lab.netns.namespaces import NetnsError

        try:
            check_host()
        except NetnsError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    directory.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "ikefleet.lab.manager", "serve", str(directory),
           "--version", args.ros]
    if args.backend:
        cmd += ["--backend", args.backend]
    if args.branches is not None:
        cmd += ["--branches", str(args.branches)]
    if args.time_scale is not None:
        cmd += ["--time-scale", str(args.time_scale)]
    with open(directory / "lab.log", "ab") as logfile:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile,
                                start_new_session=True, cwd=directory)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"the lab failed to start; see {directory / 'lab.log'}", file=sys.stderr)
            return 2
        try:
            answer = control.request(directory, {"op": "status"}, timeout=5)
        except control.ControlError:
            time.sleep(0.1)
            continue
        print(f"lab running in {directory} (pid {proc.pid})")
        _print_table(answer["routers"])
        print(f"inventory: {directory / 'config.yaml'} (credentials in {directory / 'secrets.yaml'})")
        return 0
    proc.terminate()
    print("the lab did not come up in time", file=sys.stderr)
    return 2


def cmd_status(args: argparse.Namespace) -> int:
    try:
        answer = control.request(args.dir.resolve(), {"op": "status"})
    except control.ControlError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer["routers"], indent=1))
    else:
        _print_table(answer["routers"])
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    directory = args.dir.resolve()
    pid_file = directory / "lab.pid"
    try:
        control.request(directory, {"op": "stop"})
    except control.ControlError as exc:
        removed = _netns_leftovers(directory)  # a crashed netns lab: its record says what to remove
        if removed:
            print(f"no lab running in {directory}; removed what a crashed one left: {', '.join(removed)}")
            return 0
        print(str(exc), file=sys.stderr)
        return 2
    deadline = time.monotonic() + 30
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_file.exists():
        pid = int(pid_file.read_text())
        if _alive(pid):
            print(f"lab process {pid} did not stop", file=sys.stderr)
            return 1
    _netns_leftovers(directory)
    print(f"lab in {directory} stopped")
    return 0


def _saved_backend(directory: Path) -> str:
    try:
        return str(json.loads((directory / "lab.json").read_text()).get("backend", "model"))
    except (OSError, ValueError, AttributeError):
        return "model"


def _netns_leftovers(directory: Path) -> list[str]:
    """Namespaces, daemons and mounts a netns lab recorded and did not remove (none for the model backend)."""
    from ikefleet.lab.netns.backend import down

    return down(directory)


def cmd_fault(args: argparse.Namespace) -> int:
    if args.clear:
        message: dict[str, Any] = {"op": "clear", "router": args.router}
    elif args.fault:
        message = {"op": "fault", "router": args.router, "fault": args.fault, "value": args.value,
                   "error": args.error}
    else:
        print("give a FAULT or --clear", file=sys.stderr)
        return 2
    try:
        control.request(args.dir.resolve(), message)
    except control.ControlError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"{args.router}: {'faults cleared' if args.clear else args.fault + ' on'}")
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    """`lab upgrade ROUTER --ros 7.16.1`: what was converted, one line each (docs/v7.md, "Lab upgrade")."""
    message = {"op": "upgrade", "router": args.router, "version": args.ros}
    try:
        answer = control.request(args.dir.resolve(), message, timeout=30)
    except control.ControlError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for note in answer.get("notes") or []:
        print(f"  {note}")
    print(f"{args.router}: upgraded to RouterOS {args.ros} and rebooted")
    return 0


def _print_table(routers: list[dict[str, Any]]) -> None:
    """The routers without their password (that is only in `status --json` and secrets.yaml)."""
    cols = ("name", "role", "address", "port", "username", "wan_address", "lan_prefix", "version")
    rows = [[str(r[c]) for c in cols] + [",".join(f"{k}={v}" for k, v in r.get("faults", {}).items())]
            for r in routers]
    head = [*cols, "faults"]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=False)]
    for row in [head, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
