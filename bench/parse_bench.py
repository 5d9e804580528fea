"""Benchmark: a hub's 2,000 SAs parsed (goal: under 50 ms), in the two text layouts real captures show:
v6 `installed-sa print detail` (what verify reads on 6.x and 7.11-7.16 prints alike) and the v7 table
(`installed-sa print`, v7__ip_ipsec_installed-sa_print__porotnikov.txt). Wall time of the median and best
of 7, and the best CPU time (on a shared machine the CPU time is the steadier figure).

Run: .venv/bin/python bench/parse_bench.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from ikefleet.parsers import parse_installed_sa
from ikefleet.parsers.detail import read_items
from ikefleet.parsers.ipsec import INSTALLED_SA

KEY = "0123456789abcdef" * 4


def hub_output(count: int = 2000) -> str:
    """v6 detail layout at 80 columns, keys wrapped mid-value, as the hub prints it."""
    lines = ["Flags: H - hw-aead, A - AH, E - ESP"]
    for i in range(count):
        branch = f"198.51.100.{i % 250 + 1}"
        src, dst = ("203.0.113.1", branch) if i % 2 else (branch, "203.0.113.1")
        lines += [
            f"{i:>2}  E spi=0x{0x10000000 + i:08X} src-address={src}:4500 dst-address={dst}:4500",
            "      state=mature auth-algorithm=sha256 enc-algorithm=aes-cbc enc-key-size=256",
            f'      auth-key="{KEY}"',
            f'      enc-key="{KEY[:50]}',
            f'      {KEY[50:]}" addtime=nov/27/2026 00:40:46 expires-in=7h38m19s',
            f"      add-lifetime=24m/30m current-bytes={i * 1500} current-packets={i} replay=128",
            "",
        ]
    return "\r\n".join(lines) + "\r\n"


def v7_table(count: int = 2000) -> str:
    """v7 `installed-sa print` (a table: Flags, Columns, header, one row per SA), laid out as the capture
    v7__ip_ipsec_installed-sa_print__porotnikov.txt: the index column as wide as the largest index, then
    the flags, each column as wide as its widest cell, two spaces apart, the key size right-aligned."""
    rows = []
    for i in range(count):
        branch = f"198.51.100.{i % 250 + 1}:4500"
        src, dst = ("203.0.113.1:4500", branch) if i % 2 else (branch, "203.0.113.1:4500")
        rows.append([f"0x{0x10000000 + i:X}", "mature", src, dst, "sha256", "aes-cbc", "256"])
    names = ["SPI", "STATE", "SRC-ADDRESS", "DST-ADDRESS", "AUTH-ALGORITHM", "ENC-ALGORITHM", "ENC-KEY-SIZE"]
    widths = [max(len(n), *(len(r[c]) for r in rows)) for c, n in enumerate(names)]
    index = len(str(count - 1))

    def line(first: str, cells: list[str]) -> str:
        out = [cell.rjust(w) if c == len(cells) - 1 else cell.ljust(w)
               for c, (cell, w) in enumerate(zip(cells, widths, strict=True))]
        return (first + "  ".join(out)).rstrip()

    lines = ["Flags: S - SEEN-TRAFFIC; H - HW-AEAD; E - ESP", "Columns: " + ", ".join(names),
             line("#".ljust(index) + "     ", names)]
    lines += [line(f"{i:<{index}} SHE ", r) for i, r in enumerate(rows)]
    return "\r\n".join(lines) + "\r\n"

def timed(text: str,
          parse: Callable[[str], Sequence[object]] = parse_installed_sa) -> tuple[float, float, float]:
    """(median wall, best wall, best CPU) milliseconds of 7 parses of `text` (2,000 records each)."""
    walls, cpus = [], []
    for _ in range(7):
        start, cpu = time.perf_counter(), time.process_time()
        records = parse(text)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    assert len(records) == 2000
    return statistics.median(walls) * 1000, min(walls) * 1000, min(cpus) * 1000


def reader(text: str) -> str:
    """Which reader read `text`: the fast key=value reader to its end, or the line reader (from where)."""
    items = read_items(text, INSTALLED_SA.command, INSTALLED_SA.legend)
    try:
        while True:
            next(items)
    except StopIteration as stop:
        if stop.value is None:
            return "key=value reader"
        return f"line reader from line {stop.value.lineno}" if stop.value.offset else "line reader"


def main() -> None:
    for name, text in (("v6 print detail", hub_output()), ("v7 print (table)", v7_table())):
        median, best, cpu = timed(text)
        print(f"installed-sa {name}, 2000 SAs ({len(text) // 1024} KiB): "
              f"median {median:.1f} ms, best {best:.1f} ms, best CPU {cpu:.1f} ms ({reader(text)})")


if __name__ == "__main__":
    main()
