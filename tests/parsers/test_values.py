"""Value conversions: every duration form RouterOS prints, sizes, booleans, quoting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikefleet.parsers import schema
from ikefleet.parsers.values import (
    boolean,
    byte_count,
    duration,
    integer,
    is_secret,
    milliseconds,
    percent,
    seconds,
    timestamp,
    unquote,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6h24m8s", 23048),
        ("1d2h3m", 93780),
        ("00:30:00", 1800),
        ("1d 00:30:00", 88200),
        ("5w3d22h25m43s", 3363943),
        ("12s", 12),
        ("3h", 10800),
        ("2m", 120),
        ("0s", 0),
    ],
)
def test_seconds(text: str, expected: int) -> None:
    assert seconds(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("0.2sec", 200), ("1sec", 1000), ("250ms", 250), ("1s500ms", 1500)]
)
def test_milliseconds(text: str, expected: int) -> None:
    assert milliseconds(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "1x", "h", "12:3", "never"])
def test_duration_rejects_non_durations(text: str) -> None:
    with pytest.raises(ValueError):
        duration(text)


def test_minutes_are_not_milliseconds() -> None:
    assert seconds("1m") == 60 and milliseconds("1ms") == 1


@pytest.mark.parametrize(
    ("text", "expected"), [("40.2MiB", 42152755), ("1196.0KiB", 1224704), ("1024", 1024), ("1.0GiB", 1 << 30)]
)
def test_byte_count(text: str, expected: int) -> None:
    assert byte_count(text) == expected


def test_booleans_and_numbers() -> None:
    assert boolean("yes") is True and boolean("false") is False
    with pytest.raises(ValueError):
        boolean("maybe")
    assert percent("17%") == 17
    assert integer("0x10") == 16 and integer("42") == 42


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"plain"', "plain"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\E4\EB"', "\xe4\xeb"),
        ("unquoted", "unquoted"),
        ('""', ""),
    ],
)
def test_unquote(text: str, expected: str) -> None:
    assert unquote(text) == expected


@pytest.mark.parametrize(
    "name",
    ["auth-key", "enc-key", "secret", "passphrase", "authentication-key", "ipsec-secret", "private-key"],
)
def test_secret_names(name: str) -> None:
    assert is_secret(name) and is_secret(name.upper()) and is_secret(name.replace("-", "_"))


def test_non_secret_names() -> None:
    assert not is_secret("auth-algorithm") and not is_secret("name") and not is_secret("key-size")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jan/19/2038 03:14:07", "2038-01-19T03:14:07"),
        ("Dec/03/2021 12:15:05", "2021-12-03T12:15:05"),
        ("2024-04-17 12:47:58", "2024-04-17T12:47:58"),
    ],
)
def test_timestamp(text: str, expected: str) -> None:
    assert timestamp(text) == expected


@pytest.mark.parametrize("text", ["feb/30/2024 00:00:00", "foo/01/2024 00:00:00", "2024-04-17", "never"])
def test_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        timestamp(text)


@given(st.text(alphabet=" \t\n+-_0123456789abcdefxX\u0663\u00b2\u2003", max_size=8))
def test_int_reads_a_number_as_integer_does_where_it_reads_one(text: str) -> None:
    # schema converts an int field with C's int() first (`_FAST`), with `integer` where int() fails
    try:
        fast = int(text)
    except ValueError:
        return
    assert schema._FAST[integer] is int and integer(text) == fast
