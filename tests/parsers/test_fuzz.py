"""Fuzzing seeded with the real captures: truncated, cut, spliced or shuffled output of each command
never raises anything but ParseError (a verification run reports it instead of crashing), and its parse
time grows linearly with its size.

The time budget compares an input with itself made GROWTH times longer, on the same machine at the same
moment: linear parsing takes about GROWTH times as long, quadratic GROWTH squared. The budget is 3 x GROWTH
times the short input's time (at least 5 ms: below that a time is noise), measured again before failing,
so a loaded machine slows both sides alike and one descheduled run does not fail the build. Hypothesis
inputs grow 8 times (lines repeated, each line repeated along itself), and so do the worst shapes of real
output below.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
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
        finally:
            assert_linear(parser, text)
        assert isinstance(records, list)
        json.dumps(records)

    check()


GROWTH = 8  # how much longer the long input is
FLOOR_S = 0.005  # below this a time is noise (a loaded 2-core machine: page faults, other processes)


def seconds(parse: Callable[[str], object], text: str) -> float:
    """The parse's CPU time: the work it does, not how much of the machine other processes took meanwhile
    (wall time failed this test at 60x under a load average of 8)."""
    start = time.process_time()
    with contextlib.suppress(ParseError):
        parse(text)
    return time.process_time() - start


def assert_linear(parse: Callable[[str], object], text: str, longer: Callable[[str], list[str]] | None = None,
                  growth: int = GROWTH) -> None:
    """`parse` of each longer form of `text` (default: lines repeated, each line repeated along itself),
    `growth` times longer, stays within 3 x `growth` times its time on `text`.

    A failed comparison is measured again, both sides afresh and side by side: the other test worker may
    have shared the CPU's core or cache with one side only (a 51x once failed a 48x budget that way)."""
    budget = 3 * growth  # linear: `growth` times the time (a little more: caches), quadratic: squared
    for long in (longer or grown)(text):
        for attempt in range(4):
            base = max(min(seconds(parse, text) for _ in range(3)), FLOOR_S)
            took = min(seconds(parse, long) for _ in range(1 + min(attempt, 1)))
            if took <= budget * base:
                break
        assert took <= budget * base, (
            f"{len(long)} characters took {took:.3f} s, {took / base:.0f}x the {base:.4f} s of {len(text)}: "
            f"not linear (budget {budget}x) on {text[:200]!r}"
        )


def grown(text: str) -> list[str]:
    lines = text.split("\n")
    return [text * GROWTH, "\n".join(line * GROWTH for line in lines)]


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
    finally:
        assert_linear(lambda t: parse_generic(t, "/any print"), text)
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


# Shapes of real output at their worst: (parser, text of about n KiB, n); each is parsed at n and 8n KiB,
# sizes where a quadratic cost shows and the long input still fits the CPU caches (past them a linear
# parse's ratio grows too).
# (detail-long-values and route-rows were linear already: they keep them so. A line of 100,000s of flag
# letters is left to bench/growth.py: its old cost was quadratic only past sizes where the caches blur the
# ratio of a linear parse.)
def _wide_table(kb: int) -> str:
    columns = kb * 1024 // 10  # a print on a very wide terminal: one row under thousands of columns
    header = " #  " + "".join(f"COL{i:<7}" for i in range(columns))
    return f"Flags: X - disabled\n{header}\n 0  " + "".join(f"v{i:<9}" for i in range(columns)) + "\n"


def _long_detail(kb: int) -> str:
    words = " ".join(f"w{i}" for i in range(kb * 1024 // 6))
    return ("Flags: R - responder; N - natt-peer\n"
            f' 0 R  id="CN={words}" local-address=203.0.113.1 port=4500 remote-address=198.51.100.2\n'
            "      port=4500 state=established side=responder uptime=1m ph2-total=1\n")


def _wrapped_cell(kb: int) -> str:
    rows = ["    abcdefghij"] * (kb * 1024 // 15)
    return "\n".join(["Flags: X - disabled", " #  NAME       TYPE", " 0  abcdefghij ether", *rows]) + "\n"


def _routes(kb: int) -> str:
    lines = ["Flags: X - disabled, A - active, D - dynamic, C - connect, S - static, o - ospf",
             " #      DST-ADDRESS        PREF-SRC        GATEWAY            DISTANCE"]
    lines += [f"{i:>2} ADo  10.{i // 256 % 256}.{i % 256}.0/24{'':24}198.51.100.2{'':10}110"
              for i in range(kb * 1024 // 80)]
    return "\n".join(lines) + "\n"


def _many_word_cell(kb: int) -> str:
    return "Flags: X - disabled\n #  NAME  COMMENT\n 0  x     " + "ab " * (kb * 341) + "\n"


def _long_legend(kb: int) -> str:
    lines = "".join(f" Y - y{i},\n" for i in range(kb * 1024 // 12))
    return f"Flags: X - disabled,\n{lines} 0 X name=a\n"


def _blank_run(kb: int) -> str:
    return "  time-zone-name: a" + " " * kb * 1024 + "b\n"


def _generic(text: str) -> object:
    return parse_generic(text, "/x print")


SHAPES: dict[str, tuple[Callable[[str], object], Callable[[int], str], int]] = {
    "table-header-width": (_generic, _wide_table, 8),
    "detail-long-values": (PARSER_BY_NAME["parse_active_peers"], _long_detail, 8),
    "echo-like-first-line": (_generic, lambda kb: "ip " + "p " * kb * 512 + "x=1\n", 2),
    "prompt-like-line": (_generic, lambda kb: "[" + "a@" * kb * 512 + "\n", 4),
    "table-wrapped-cell": (_generic, _wrapped_cell, 16),
    "settings-blank-run": (PARSER_BY_NAME["parse_clock"], _blank_run, 8),
    "route-rows": (PARSER_BY_NAME["parse_route"], _routes, 16),
    "legend-over-many-lines": (_generic, _long_legend, 8),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_parse_time_grows_linearly_with_the_worst_shapes(shape: str) -> None:
    parse, make, kb = SHAPES[shape]
    assert_linear(parse, make(kb), lambda _: [make(kb * GROWTH)])


def test_a_table_cell_of_many_words_is_read_in_linear_time() -> None:
    """(Its old cost, rebuilding the cell at each word, showed only past 160 KB: grown 16 times here.)"""
    assert_linear(_generic, _many_word_cell(40), lambda _: [_many_word_cell(640)], growth=16)
