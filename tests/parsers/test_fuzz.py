"""Fuzzing seeded with the real captures: truncated, cut, spliced or shuffled output of each command
never raises anything but ParseError (a verification run reports it instead of crashing)."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikefleet.parsers import ParseError, parse_generic, parser_for
from ikefleet.parsers.registry import PARSERS

from .test_golden import sample_text

GOLDEN = Path(__file__).parent / "golden"


def _seeds() -> dict[str, list[str]]:
    seeds: dict[str, list[str]] = defaultdict(list)
    for path in sorted(GOLDEN.glob("*.expected.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if case.get("command") and not case.get("generic") and "error" not in case:
            parser = parser_for(case["command"])
            assert parser is not None
            seeds[parser.__name__].append(sample_text(case, path))
    return seeds


# no real capture of these two menus exists in the corpus (SOURCES.md): seeded in the v6 layout instead
_SETTINGS_SEEDS = {
    "parse_clock": [
        "                  time: 00:18:21\n                  date: nov/27/2026\n"
        "  time-zone-autodetect: yes\n        time-zone-name: manual\n            gmt-offset: +00:00\n"
        "            dst-active: no\n"
    ],
    "parse_ntp_client": [
        "           enabled: yes\n       primary-ntp: 192.0.2.10\n     secondary-ntp: 0.0.0.0\n"
        "  server-dns-names: \n              mode: unicast\n  last-update-from: 192.0.2.10\n"
        "last-update-before: 1m2s\n   last-adjustment: 1ms\n"
    ],
}
SEEDS = {**_seeds(), **_SETTINGS_SEEDS}
PARSER_BY_NAME = {f.__name__: f for f in PARSERS.values()}
NOISE = st.text(alphabet=' aZ09=";\\\n\r\t*#-:/.,[]>%<{}', min_size=1, max_size=8)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "cut", "insert", "shuffle", "json"]))
        a = draw(st.integers(0, len(text)))
        if op == "truncate":
            text = text[:a]
        elif op == "cut":
            text = text[:a] + text[a + draw(st.integers(1, 30)) :]
        elif op == "insert":
            text = text[:a] + draw(NOISE) + text[a:]
        elif op == "shuffle":
            lines = text.splitlines(keepends=True)
            text = "".join(draw(st.permutations(lines)))
        else:
            text = "[{" + text[:a]
    return text


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_mutated_samples_raise_only_parse_errors(name: str) -> None:
    parser = PARSER_BY_NAME[name]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(SEEDS[name]))
    def check(text: str) -> None:
        try:
            records = parser(text)
        except ParseError:
            return
        assert isinstance(records, list)
        json.dumps(records)

    check()


def test_every_parser_is_fuzzed() -> None:
    assert set(PARSER_BY_NAME) == set(SEEDS)


def _generic_seeds() -> list[str]:
    seeds = []
    for path in sorted(GOLDEN.glob("*.expected.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if "error" not in case:
            seeds.append(sample_text(case, path))
    return seeds


GENERIC_SEEDS = _generic_seeds()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(GENERIC_SEEDS))
def test_generic_parser_raises_only_parse_errors(text: str) -> None:
    try:
        records = parse_generic(text, "/any print")
    except ParseError:
        return
    assert all(set(r) <= {"index", "object_id", "comment", "flags", "values"} for r in records)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
def test_any_json_document_raises_only_parse_errors(data: object) -> None:
    for parser in PARSER_BY_NAME.values():
        with contextlib.suppress(ParseError):
            parser(json.dumps(data))
