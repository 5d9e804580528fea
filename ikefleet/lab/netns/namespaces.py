"""Network namespaces, links and daemons of one netns lab, every one recorded before it is made, so `cleanup`
removes them after a crash as well: processes (by pid file and by namespace), then the namespaces.

The record is `<state_dir>/netns.json`: {"namespaces": [...], "pidfiles": [...], "dirs": [...]}.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

RECORD = "netns.json"


class NetnsError(RuntimeError):
    """A host command failed; the message carries the command and its stderr (never secrets)."""


def require_root() -> None:
    if os.geteuid() != 0:
        raise NetnsError("the netns lab backend needs root (network namespaces, bind mounts)")


def run(args: list[str], ns: str | None = None, env: dict[str, str] | None = None, check: bool = True) -> str:
    cmd = ["ip", "netns", "exec", ns, *args] if ns else args
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


class Registry:
    """What a lab made, on disk as it is made."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / RECORD

    def load(self) -> dict[str, list[str]]:
        if not self.path.exists():
            return {"namespaces": [], "pidfiles": [], "dirs": []}
        data = json.loads(self.path.read_text())
        return {key: list(data.get(key, [])) for key in ("namespaces", "pidfiles", "dirs")}

    def _note(self, key: str, entry: str) -> None:
        data = self.load()
        if entry not in data[key]:
            data[key].append(entry)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)

    def namespace(self, name: str) -> str:
        """Record, then create, a namespace with its loopback up."""
        self._note("namespaces", name)
        run(["ip", "netns", "add", name])
        run(["ip", "link", "set", "lo", "up"], ns=name)
        return name

    def directory(self, path: Path) -> Path:
        """A directory outside the state dir (FRR's, which must be reachable by the `frr` user)."""
        self._note("dirs", str(path))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pidfile(self, path: Path) -> Path:
        self._note("pidfiles", str(path))
        return path


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def _ns_pids(ns: str) -> list[int]:
    proc = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def cleanup(state_dir: Path) -> list[str]:
    """Stop every recorded daemon and every process left in a recorded namespace, then delete the
    namespaces (their links go with them). Returns what was removed. Safe to run twice."""
    reg = Registry(state_dir)
    data = reg.load()
    pids: set[int] = set()
    for pidfile in data["pidfiles"]:
        with contextlib.suppress(OSError, ValueError):
            pids.add(int(Path(pidfile).read_text().split()[0]))
    existing = set(run(["ip", "netns", "list"], check=False).split())
    for ns in data["namespaces"]:
        if ns in existing:
            pids.update(_ns_pids(ns))
    for pid in pids:
        _kill(pid)
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    removed = []
    for ns in data["namespaces"]:
        if ns in existing:
            run(["ip", "netns", "del", ns], check=False)
            removed.append(ns)
    for directory in data["dirs"]:
        shutil.rmtree(directory, ignore_errors=True)
    reg.path.unlink(missing_ok=True)
    return removed
