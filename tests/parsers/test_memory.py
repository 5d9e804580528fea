"""A route print is read once, line by line: parsing it holds the routes it returns and little more (no
copy of the text, no list of its lines, no raw records beside the typed ones), and `iter_route` holds
one route at a time. Memory is counted by tracemalloc (allocations, not time: no flakiness)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

from ikefleet.parsers import iter_route, parse_route


def route_print(routes: int) -> str:
    """v6 `/ip route print` of OSPF routes, as a hub with many branch LANs prints it."""
    lines = ["Flags: X - disabled, A - active, D - dynamic, C - connect, S - static, o - ospf",
             " #      DST-ADDRESS        PREF-SRC        GATEWAY            DISTANCE"]
    lines += [f"{i:>2} ADo  10.{i // 256 % 256}.{i % 256}.0/24{'':24}198.51.100.2{'':10}110"
              for i in range(routes)]
    return "\r\n".join(lines) + "\r\n"


def traced(work: Callable[[], object]) -> tuple[object, int, int]:
    """(result, bytes still held by it, peak bytes during the work)."""
    tracemalloc.start()
    try:
        result = work()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, kept, peak


def least(work: Callable[[], object]) -> tuple[object, int, int]:
    """`traced` of the run with the lowest peak of three."""
    return min((traced(work) for _ in range(3)), key=lambda measure: measure[2])


def test_parsing_a_route_print_holds_little_more_than_its_routes() -> None:
    text = route_print(3000)
    routes, kept, peak = traced(lambda: parse_route(text))
    assert len(routes) == 3000  # type: ignore[arg-type]
    assert peak < 1.25 * kept, (peak, kept)  # was 1.8x: the lines, a joined copy and the raw records


def test_reading_routes_one_at_a_time_holds_one_route() -> None:
    small, large = route_print(1000), route_print(8000)
    # tracemalloc counts every thread's allocations (a lab thread another test left may still allocate):
    # the least of three runs is the parser's own.
    count, _, peak_small = least(lambda: sum(1 for _ in iter_route(small)))
    count_large, _, peak_large = least(lambda: sum(1 for _ in iter_route(large)))
    assert (count, count_large) == (1000, 8000)
    growth = peak_large - peak_small  # a list of the routes would grow by about the text's growth
    assert growth < (len(large) - len(small)) / 20, (peak_small, peak_large)
    assert peak_large < len(large) / 20, (peak_large, len(large))
    assert list(iter_route(small)) == parse_route(small)
