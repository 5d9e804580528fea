"""The lab's one clock: every router, the fabric and the certificate authority read the time from it.

Certificates are signed at the clock's time and checked at the fabric's time, so both must come from the
same clock: a test that holds the lab at a moment (or moves it a year ahead) shares the clock with the lab
instead of mixing a fixed date with the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass
class LabClock:
    """Wall time moved by `shift`; or, when `frozen` is set, that moment and nothing else."""

    shift: timedelta = timedelta(0)
    frozen: datetime | None = None

    @classmethod
    def held(cls, at: datetime | None = None) -> LabClock:
        """A clock that stays at `at` (default: now, to the second) until moved with `advance`."""
        moment = at or datetime.now(UTC).replace(microsecond=0)
        return cls(frozen=moment.astimezone(UTC))

    def now(self) -> datetime:
        if self.frozen is not None:
            return self.frozen
        return datetime.now(UTC) + self.shift

    def advance(self, delta: timedelta) -> None:
        """Move the clock by `delta` (a held clock moves its moment, a running one its shift)."""
        if self.frozen is not None:
            self.frozen += delta
        else:
            self.shift += delta
