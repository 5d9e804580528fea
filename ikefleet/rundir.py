"""Run directories and the rollout lock.

Every run leaves a directory an operator can read after the fact: the plan, per-host diffs and backups, and
one JSON line per host result. The lock is an `flock` on a file in the data directory: the kernel drops
it when the process dies, even on SIGKILL, so a killed rollout never blocks the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ikefleet import private


class LockedError(RuntimeError):
    """Another rollout holds the lock."""


@contextmanager
def exclusive(data_dir: Path, name: str = "rollout") -> Iterator[None]:
    """Hold `<data_dir>/<name>.lock` for the duration, or raise LockedError naming the holder."""
    private.directory(data_dir)
    path = data_dir / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, private.FILE_MODE)
    try:
        os.fchmod(fd, private.FILE_MODE)
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


DEFAULT_KEEP_RUNS = 100  # run directories kept (config.yaml `ikefleet: runs: keep:`)


class SettingError(ValueError):
    """A bad `ikefleet: runs:` value in config.yaml: the message names the field and the fix."""


def keep_runs(section: Any, source: str = "config.yaml") -> int:
    """How many run directories to keep, from config.yaml's `ikefleet: runs:` mapping."""
    if section is None:
        return DEFAULT_KEEP_RUNS
    if not isinstance(section, dict) or set(section) - {"keep"}:
        raise SettingError(f"{source}: ikefleet.runs: expected `keep: N` (the run directories to keep)")
    keep = section.get("keep", DEFAULT_KEEP_RUNS)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise SettingError(f"{source}: ikefleet.runs.keep: {keep!r} is not a whole number >= 1; "
                           f"write e.g. `keep: {DEFAULT_KEEP_RUNS}`")
    return keep


def prune_runs(data_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` run directories (dry runs included); returns what was removed."""
    runs = data_dir / "runs"
    if not runs.is_dir():
        return []
    # Names start with the UTC time to the microsecond, so the name order is the time order.
    old = sorted(p for p in runs.iterdir() if p.is_dir())[:-keep]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


class RunDir:
    """`<data_dir>/runs/<UTC time>-<command>/`: plan.json, diffs/, backups/, results.jsonl.

    The directory is 0700 and every file in it 0600: backups and exports describe the routers in detail.
    Opening one prunes the oldest beyond `keep` (this one counted)."""

    def __init__(
        self, data_dir: Path, command: str, *, now: datetime | None = None, keep: int = DEFAULT_KEEP_RUNS
    ) -> None:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = data_dir / "runs" / f"{stamp}-{command}"
        private.directory(private.directory(data_dir) / "runs")
        self.path.mkdir(exist_ok=False, mode=private.DIR_MODE)
        prune_runs(data_dir, keep)

    def open(self, name: str, mode: str = "w") -> IO[Any]:
        """`name` opened owner-only (0600, also when it existed), its folders created (0700)."""
        path = self.path / name
        folder = self.path
        for part in Path(name).parts[:-1]:
            folder = private.directory(folder / part)
        return private.open_file(path, mode)

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")

    def write_text(self, name: str, text: str) -> Path:
        with self.open(name) as out:
            out.write(text)
        return self.path / name

    def write_bytes(self, name: str, data: bytes) -> Path:
        with self.open(name, "wb") as out:
            out.write(data)
        return self.path / name

    def append_result(self, record: dict[str, Any]) -> None:
        """One JSON line per host result, flushed at once so a killed run keeps what it did."""
        self.append_results([record])

    def append_results(self, records: list[dict[str, Any]]) -> None:
        """`append_result` of several results known at once: one write, one flush to the disk."""
        if not records:
            return
        with self.open("results.jsonl", "a") as out:
            out.write("".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records))
            out.flush()
            os.fsync(out.fileno())
