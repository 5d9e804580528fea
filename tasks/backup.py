"""Read a router's configuration as `/export terse hide-sensitive` prints it, for the git backups."""

from __future__ import annotations

from nornir.core.task import Result, Task

from ikefleet.redact import scrub

from .device import close, device

EXPORT = "/export terse hide-sensitive"


def read_export(task: Task) -> Result:
    """The export text (secrets scrubbed); the session is closed after, as a backup reads each router once.
    A router that cannot be read fails this task with the reason, never an empty backup."""
    try:
        text = device(task).send(EXPORT)
    finally:
        close(task.host)
    if not text.strip():
        return Result(host=task.host, failed=True, result="the export came back empty")
    return Result(host=task.host, result=scrub(text))
