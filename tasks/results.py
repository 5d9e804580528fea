"""Reading Nornir's results: why a host's task failed, in one line an operator can act on."""

from __future__ import annotations

from nornir.core.task import AggregatedResult, MultiResult

from ikefleet.connection.session import describe
from ikefleet.redact import scrub


def failure_of(multi: MultiResult) -> str:
    """The innermost failure (a parent task's exception is only NornirSubTaskError), secrets masked."""
    failed = next((r for r in reversed(multi) if r.failed and r.exception), None)
    failed = failed or next((r for r in multi if r.failed), multi[0])
    return scrub(describe(failed.exception) if failed.exception else str(failed.result))


def failure(result: AggregatedResult, host: str) -> str:
    """Why `host`'s task failed (`failure_of` its results)."""
    return failure_of(result[host])
