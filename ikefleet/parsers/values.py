"""Value conversions shared by every parser: RouterOS strings to ints, seconds, booleans, byte counts."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache, lru_cache
from typing import NewType

Seconds = NewType("Seconds", int)
Milliseconds = NewType("Milliseconds", int)
Bytes = NewType("Bytes", int)
Percent = NewType("Percent", int)
CommaList = NewType("CommaList", list[str])

# Field names whose values are secrets: dropped at parse time, never returned.
SECRET_FIELDS = frozenset(
    {
        "auth-key",
        "enc-key",
        "secret",
        "secrets",
        "passphrase",
        "password",
        "authentication-key",
        "ipsec-secret",
        "private-key",
        "pre-shared-key",
        "wpa-pre-shared-key",
        "wpa2-pre-shared-key",
        "pin-number",
        "tcp-md5-key",
        "key",
        "psk",
    }
)


@cache
def is_secret(name: str) -> bool:
    """True for a secret field, whatever the output form named it (`auth-key`, `AUTHENTICATION-KEY`)."""
    key = name.lower().lstrip(".").replace("_", "-")
    return key in SECRET_FIELDS or key.endswith(("-secret", "-pre-shared-key", "-private-key", "-passphrase"))


# "5w3d22h25m43s", "6h24m8s", "1d2h3m", "12s", "0.2sec", "1sec", "250ms", "1s500ms"
_UNITS_RE = re.compile(
    r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s(?:ec)?)?(?:(?P<ms>\d+(?:\.\d+)?)ms)?(?:(?P<us>\d+)us)?$"
)
# "00:30:00", "1d 00:30:00", "2d00:30:00.5"
_CLOCK_RE = re.compile(r"^(?:(?P<d>\d+)d\s*)?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)$")
_FACTORS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


@lru_cache(maxsize=8192)
def duration(text: str) -> float:
    """Seconds in a RouterOS duration, either form; ValueError when it is not one.

    Cached: a hub prints the same lifetimes and intervals thousands of times.
    """
    value = text.strip()
    match = _CLOCK_RE.match(value) or _UNITS_RE.match(value)
    if not match or not value:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(v) * _FACTORS[k] for k, v in match.groupdict().items() if v)


def seconds(text: str) -> int:
    return int(duration(text))


def milliseconds(text: str) -> int:
    return round(duration(text) * 1000)


_BOOLS = {"yes": True, "true": True, "no": False, "false": False}


def boolean(text: str) -> bool:
    try:
        return _BOOLS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"not a boolean: {text!r}") from None


# "40.2MiB", "1196.0KiB", "64.0MiB", "1024", "1.5GiB"
_BYTES_RE = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]i?B|B)?$")
_BYTE_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
_BYTE_UNITS.update({"KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4})


def byte_count(text: str) -> int:
    match = _BYTES_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match["n"]) * _BYTE_UNITS[match["unit"]])


def percent(text: str) -> int:
    return int(text.strip().rstrip("%"))


def integer(text: str) -> int:
    if text.isdigit():  # (the common case: int() alone, as fast as it gets)
        return int(text)
    value = text.strip()
    return int(value, 16) if value.lower().startswith("0x") else int(value)


def comma_list(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


# '\"' '\\' '\n' '\t' '\_' (space) '\$' '\?' '\1F' (a byte in hex)
_ESCAPE_RE = re.compile(r"\\([0-9A-Fa-f]{2}|.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "_": " "}


def unquote(text: str) -> str:
    """A RouterOS value without its double quotes and escapes; unquoted values come back unchanged."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        if "\\" not in inner:
            return inner

        def _one(match: re.Match[str]) -> str:
            code = match.group(1)
            if len(code) == 2:
                return chr(int(code, 16))
            return _ESCAPES.get(code, code)

        return _ESCAPE_RE.sub(_one, inner)
    return text


# "jan/01/1970 00:00:01", "Dec/03/2021 12:15:05" (v6), "2024-04-17 12:47:58" (v7)
_V6_DATETIME_RE = re.compile(
    r"^(?P<mon>[A-Za-z]{3})/(?P<day>\d\d)/(?P<year>\d{4})\s+(?P<time>\d\d:\d\d:\d\d)$"
)
_V7_DATETIME_RE = re.compile(r"^(?P<date>\d{4}-\d\d-\d\d)\s+(?P<time>\d\d:\d\d:\d\d)$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}


@lru_cache(maxsize=4096)
def timestamp(text: str) -> str:
    """A RouterOS date and time as ISO 8601 ("jan/19/2038 03:14:07" -> "2038-01-19T03:14:07").

    RouterOS prints the router's local time without a zone; the result carries none either. Remembered:
    every router of a fleet prints its CA's and the hub's certificates with the same dates.
    """
    value = text.strip()
    match = _V7_DATETIME_RE.match(value)
    if match:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}").isoformat()
    match = _V6_DATETIME_RE.match(value)
    month = _MONTHS.get(match["mon"].lower()) if match else None
    if match is None or month is None:
        raise ValueError(f"not a date and time: {text!r}")
    day = datetime(int(match["year"]), month, int(match["day"]))  # validates the day of the month
    return f"{day.date().isoformat()}T{match['time']}"
