"""Run directories and the rollout lock.

Every run leaves a directory an operator can read after the fact: the plan, per-host diffs and backups, and
one JSON line per host result. The lock is an `flock` on a file in the data directory: the kernel drops
it when the process dies, even on SIGKILL, so a killed rollout never blocks the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class LockedError(RuntimeError):
    """Another rollout holds the lock."""


@contextmanager
def exclusive(data_dir: Path, name: str = "rollout") -> Iterator[None]:
    """Hold `<data_dir>/<name>.lock` for the duration, or raise LockedError naming the holder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text().strip() or "unknown"
            raise LockedError(
                f"another {name} is running ({holder}); wait for it to finish, it holds {path}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n".encode())
        yield
    finally:
        os.close(fd)


class RunDir:
    """`<data_dir>/runs/<UTC time>-<command>/`: plan.json, diffs/, backups/, results.jsonl."""

    def __init__(self, data_dir: Path, command: str, *, now: datetime | None = None) -> None:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = data_dir / "runs" / f"{stamp}-{command}"
        self.path.mkdir(parents=True, exist_ok=False, mode=0o700)

    def write_json(self, name: str, data: Any) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def append_result(self, record: dict[str, Any]) -> None:
        """One JSON line per host result, flushed at once so a killed run keeps what it did."""
        with (self.path / "results.jsonl").open("a") as out:
            out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            out.flush()
            os.fsync(out.fileno())
