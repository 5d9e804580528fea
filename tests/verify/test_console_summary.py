"""The console report's router table is drawn by ikefleet (rich's Table took 50 ms of CPU for 200 routers) and
must be what rich's Table draws, byte for byte, in colour and without, at any console width: rich's own
Table (`_rich_table`, also the fallback) is the reference."""

from __future__ import annotations

import io
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from ikefleet.reports.console import LABEL, Row, _rich_table, _summary

NAMES = st.text(st.sampled_from("abr-_.019[]/é世 "), min_size=1, max_size=24)
CAUSES = st.sampled_from(["", "ospf: ospf.neighbor", "reachability: host.reachable (+12 explained)",
                          "pki: cert.valid [x]"])
ROWS = st.lists(st.tuples(NAMES, st.sampled_from(sorted(LABEL)), st.integers(0, 999).map(str), CAUSES),
                max_size=12)


Draw = Callable[[Console, list[Row]], None]


def _drawn(draw: Draw, rows: list[Row], width: int, color: str | None, encoding: str) -> str:
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding=encoding, errors="replace", write_through=True)
    console = Console(file=stream, width=width, force_terminal=color is not None, color_system=color)
    draw(console, rows)
    return buffer.getvalue().decode(encoding, errors="replace")


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, width=st.integers(20, 160), color=st.sampled_from([None, "standard", "256", "truecolor"]),
       encoding=st.sampled_from(["utf-8", "ascii"]))
def test_the_summary_is_what_rich_table_draws(rows: list[Row], width: int, color: str | None,
                                              encoding: str) -> None:
    assert _drawn(_summary, rows, width, color, encoding) == _drawn(_rich_table, rows, width, color, encoding)


def test_a_compliant_fleet_of_200_is_drawn_without_rich_table() -> None:
    rows: list[Row] = [(f"br{n}", "pass", "17", "") for n in range(1, 201)]
    drawn = _drawn(_summary, rows, 120, "truecolor", "utf-8")
    assert drawn == _drawn(_rich_table, rows, 120, "truecolor", "utf-8")
    assert drawn.count("\n") == 205 and "│ br200  │ \x1b[32mOK\x1b[0m     │ 17   │       │\n" in drawn
