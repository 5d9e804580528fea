"""The lab's one clock: every router, the fabric and the certificate authority read the time from it.

Certificates are signed at the clock's time and checked at the fabric's time, so both must come from the
same clock: a test that holds the lab at a moment (or moves it a year ahead) shares the clock with the lab
instead of mixing a fixed date with the wall clock.

Work that takes time on a real router (making a key: `keygen_timing.yaml`) takes `time_scale` times as long
in the lab, in real seconds on the monotonic clock (`due`), so the lab's event loop waits with `asyncio`
instead of blocking. The default scale comes from IKEFLEET_LAB_TIME_SCALE (1 when unset): the test suite
sets it small once for every lab, console and router it makes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

TIME_SCALE_ENV = "IKEFLEET_LAB_TIME_SCALE"


def default_time_scale() -> float:
    """IKEFLEET_LAB_TIME_SCALE, or 1 (real routers' timing)."""
    raw = os.environ.get(TIME_SCALE_ENV, "1")
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"{TIME_SCALE_ENV}={raw!r}: give a number >= 0, e.g. 0.01") from None
    return check_time_scale(scale)


def check_time_scale(scale: float) -> float:
    if not scale >= 0:
        raise ValueError(f"time scale {scale}: give a number >= 0 (1 = real routers' timing, 0.01 = 100x)")
    return scale


@dataclass
class LabClock:
    """Wall time moved by `shift`; or, when `frozen` is set, that moment and nothing else."""

    shift: timedelta = timedelta(0)
    frozen: datetime | None = None
    time_scale: float = field(default_factory=default_time_scale)

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

    def due(self, real_seconds: float) -> float:
        """The monotonic time at which work taking `real_seconds` on a real router ends in the lab."""
        return time.monotonic() + real_seconds * self.time_scale
