"""Benchmark: how parse and validation time grow with their input. Each shape is run at doubling sizes and
the ratio per doubling is printed (about 2: linear; about 4: quadratic). Also the memory a route print
takes (tracemalloc peak), read whole (`parse_route`) and one route at a time (`iter_route`).

Run: .venv/bin/python bench/growth.py [--quick] [--route-mb 50]

Times are the best of 3 runs (a busy machine only adds to a run). Nothing is asserted: benchmarks are not
tests (tests/parsers/test_fuzz.py holds the growth check that fails a build).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ikefleet.parsers import (
    ParseError,
    iter_route,
    parse_active_peers,
    parse_clock,
    parse_generic,
    parse_route,
)
from ikefleet.validate import overlaps

Shape = tuple[Callable[[int], Any], Callable[[Any], object], str]  # make(size), work(input), unit


def wide_table(kb: int) -> str:
    """One table row under a header of kb*1024/10 columns (a print on a very wide terminal)."""
    columns = kb * 1024 // 10
    header = " #  " + "".join(f"COL{i:<7}" for i in range(columns))
    row = " 0  " + "".join(f"v{i:<9}" for i in range(columns))
    return f"Flags: X - disabled\n{header}\n{row}\n"


def long_detail(kb: int) -> str:
    """v7 `/ip ipsec active-peers print detail without-paging`: one item whose values fill kb KiB."""
    words = " ".join(f"w{i}" for i in range(kb * 1024 // 6))
    return ("Flags: R - responder; N - natt-peer\n"
            f' 0 R  id="CN={words}" local-address=203.0.113.1 port=4500 remote-address=198.51.100.2\n'
            "      port=4500 state=established side=responder uptime=1m ph2-total=1\n")


def long_first_line(kb: int) -> str:
    """A first line of words that could be an echoed command, and an "=" at its end."""
    return "ip " + "p " * (kb * 512) + "x=1\n"


def prompt_like(kb: int) -> str:
    """A line that starts like a prompt and never closes its bracket."""
    return "[" + "a@" * (kb * 512) + "\n"


def flags_line(kb: int) -> str:
    return " 0 " + "A " * (kb * 512) + "\n"


def wrapped_cell(kb: int) -> str:
    """A table value that fills its column and wraps over kb*1024/15 rows."""
    rows = ["    abcdefghij" for _ in range(kb * 1024 // 15)]
    return "\n".join(["Flags: X - disabled", " #  NAME       TYPE", " 0  abcdefghij ether", *rows]) + "\n"


def many_word_cell(kb: int) -> str:
    """A table value of single-space-separated words, kb KiB of them."""
    return "Flags: X - disabled\n #  NAME  COMMENT\n 0  x     " + "ab " * (kb * 341) + "\n"


def long_legend(kb: int) -> str:
    """A `Flags:` legend going on over kb*1024/12 lines."""
    lines = "".join(f" Y - y{i},\n" for i in range(kb * 1024 // 12))
    return f"Flags: X - disabled,\n{lines} 0 X name=a\n"


def long_setting(kb: int) -> str:
    """A settings print whose value has a kb KiB run of blanks inside."""
    return f"  time-zone-name: a{' ' * (kb * 1024)}b\n            time: 00:18:21\n"


def route_table(kb: int) -> str:
    """v6 `/ip route print` of OSPF /32s, kb KiB, its columns as wide as a 7-digit index needs."""
    lines = ["Flags: X - disabled, A - active, D - dynamic, C - connect, S - static, o - ospf",
             f"{'#':>7}      {'DST-ADDRESS':<19}{'PREF-SRC':<16}{'GATEWAY':<19}{'DISTANCE':>8}"]
    size, i = 0, 0
    while size < kb * 1024:
        dst = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}/32"
        line = f"{i:>7} ADo  {dst:<19}{'':16}{'198.51.100.2':<19}{110:>8}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines) + "\n"


def shared_wan(sites: int) -> list[tuple[str, str, IPv4Network]]:
    """What check_fleet hands the overlap check: the pools, each site's LAN and its WAN subnet, all the
    sites on one WAN subnet (a lab or a provider's shared segment)."""
    named = [("fleet", "pools.ipsec", IPv4Network("10.255.0.0/16")),
             ("fleet", "pools.eoip", IPv4Network("10.254.0.0/16"))]
    wan = IPv4Network("198.51.100.0/22")
    for n in range(sites):
        named.append((f"br{n}", "lan_prefixes", IPv4Network(((10 << 24) + (n << 8), 24))))
        named.append((f"br{n}", "wan_address", wan))
    return named


def parse(parser: Callable[..., object], *args: str) -> Callable[[str], object]:
    def run(text: str) -> object:
        try:
            return parser(text, *args)
        except ParseError:
            return None
    return run


SHAPES: dict[str, Shape] = {
    "table: header width": (wide_table, parse(parse_generic, "/x print"), "KiB"),
    "detail: long values": (long_detail, parse(parse_active_peers), "KiB"),
    "first line (echo?)": (long_first_line, parse(parse_generic, "/x print"), "KiB"),
    "prompt-like line": (prompt_like, parse(parse_generic, "/x print"), "KiB"),
    "flags line": (flags_line, parse(parse_generic, "/x print"), "KiB"),
    "table: wrapped cell": (wrapped_cell, parse(parse_generic, "/x print"), "KiB"),
    "table: cell of words": (many_word_cell, parse(parse_generic, "/x print"), "KiB"),
    "legend: many lines": (long_legend, parse(parse_generic, "/x print"), "KiB"),
    "settings: long value": (long_setting, parse(parse_clock), "KiB"),
    "table: rows (route)": (route_table, parse(parse_route), "KiB"),
    "validate: shared WAN": (shared_wan, overlaps, "sites"),
}


def best_of(work: Callable[[Any], object], data: Any, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work(data)
        best = min(best, time.perf_counter() - start)
    return best


def growth(sizes: list[int], validate_sizes: list[int]) -> None:
    print(f"{'shape':24} {'size':>12} {'seconds':>9} {'x per doubling':>15}")
    for name, (make, work, unit) in SHAPES.items():
        previous = None
        for size in validate_sizes if unit == "sites" else sizes:
            seconds = best_of(work, make(size))
            ratio = f"{seconds / previous:.1f}" if previous else ""
            print(f"{name:24} {size:>6} {unit:5} {seconds:9.4f} {ratio:>15}", flush=True)
            previous = max(seconds, 1e-6)


def memory(megabytes: list[int]) -> None:
    """A route print read whole and one route at a time (only counted): the time of an untraced run, then
    the peak memory of a run under tracemalloc (which slows it about tenfold); parse_route's peak includes
    the list it returns."""
    print(f"\n{'route print':24} {'MiB text':>9} {'routes':>8} {'seconds':>8} {'peak MiB':>9}")
    readers: dict[str, Callable[[str], int]] = {
        "parse_route": lambda text: len(parse_route(text)),
        "iter_route": lambda text: sum(1 for _ in iter_route(text)),
    }
    for mb in megabytes:
        text = route_table(mb * 1024)
        for how, read in readers.items():
            start = time.perf_counter()
            read(text)
            seconds = time.perf_counter() - start
            tracemalloc.start()
            count = read(text)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            mib = len(text) / 2**20
            print(f"{how:24} {mib:9.1f} {count:8} {seconds:8.1f} {peak / 2**20:9.1f}", flush=True)
        del text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a minute, not several)")
    parser.add_argument("--route-mb", type=int, default=50, help="largest route print for the memory figures")
    args = parser.parse_args()
    sizes = [10, 20, 40, 80] if args.quick else [10, 20, 40, 80, 160]
    validate_sizes = [625, 1250, 2500, 5000] if args.quick else [1250, 2500, 5000, 10000]
    growth(sizes, validate_sizes)
    top = 4 if args.quick else args.route_mb
    memory(sorted({max(1, top // 4), max(1, top // 2), top}))


if __name__ == "__main__":
    main()
