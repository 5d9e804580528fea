"""A RouterOS router's own time: its dates (`nov/24/2036 00:24:24`) are local time, `/system clock`'s
`gmt-offset` says how far from UTC. The rollout (certificate validity against the router's clock) and the
verify checks (clock skew, certificate expiry) both read it, so it is RouterOS knowledge, not a check's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ikefleet.parsers import detect_error, parse_clock

MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<h>\d{1,2}):(?P<m>\d{2})$")


def ros_datetime(text: str) -> datetime | None:
    """RouterOS `nov/24/2036 00:24:24` (or date and time given apart) as an aware UTC datetime."""
    try:
        date, _, clock = text.strip().partition(" ")
        mon, day, year = date.split("/")
        hh, mm, ss = (int(x) for x in (clock or "00:00:00").split(":"))
        return datetime(int(year), MONTHS[mon.lower()], int(day), hh, mm, ss, tzinfo=UTC)
    except (ValueError, KeyError):
        return None


def to_utc(clock: Mapping[str, Any] | None, local: datetime | None) -> datetime | None:
    """A time the router printed (its local time, as every RouterOS date is) in UTC, by the `gmt-offset` of
    its parsed `/system clock` record (`clock`; none: taken as UTC)."""
    m = _OFFSET.match(str(clock.get("gmt_offset", "+00:00"))) if clock else None
    if local is None or m is None:
        return local
    offset = timedelta(hours=int(m["h"]), minutes=int(m["m"]))
    return local - offset if m["sign"] == "+" else local + offset


def clock_utc(clock: Mapping[str, Any] | None) -> datetime | None:
    """The time a parsed `/system clock` record shows, in UTC (None: no record or no readable time)."""
    if not clock:
        return None
    return to_utc(clock, ros_datetime(f"{clock.get('date', '')} {clock.get('time', '')}"))


def read_clock(text: str) -> datetime | None:
    """`/system clock print` as the router answered it, in UTC; None when it refused or printed nothing
    readable (the caller says the clock could not be checked, never that it is right)."""
    try:
        if detect_error(text) is not None:
            return None
        return clock_utc(next(iter(parse_clock(text)), None))
    except Exception:  # an unparsable reply is "unknown", as gather's parse_sections makes it
        return None
