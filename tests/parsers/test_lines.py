"""Console text to lines: the split is read a chunk at a time (for speed), so a line ending, a carriage
return or a blank line on either side of a chunk's edge must read as it would in one piece."""

from __future__ import annotations

import random

import pytest

from ikefleet.parsers import text as text_module
from ikefleet.parsers.text import iter_clean_lines


def reference(text: str) -> list[str]:
    """The lines as the plain definition gives them: CRLF to LF, split, each line cleaned."""
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if "\r" in raw:
            parts = [p for p in raw.split("\r") if p.strip()]
            raw = parts[-1] if parts else ""
        lines.append(raw.rstrip())
    return lines


def test_lines_across_chunk_edges_read_as_in_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261206)
    pieces = ["a=1", "  b=2 ", "", "\r", "x\ry", "   ", "c=" + "3" * 5000, "d\r\r", "e=\"q\""]
    for _ in range(200):
        lines = [rng.choice(pieces) for _ in range(rng.randrange(1, 60))]
        text = "".join(line + rng.choice(["\n", "\r\n"]) for line in lines) + rng.choice(["", "z", "z\r"])
        # a chunk of 1 to 40 characters puts its edge everywhere, the "\r" of a "\r\n" included
        for chunk in (1, 2, 3, 7, 40, 4096):
            monkeypatch.setattr(text_module, "_CHUNK", chunk)
            assert list(iter_clean_lines("= " + text)) == reference("= " + text), (chunk, text)


def test_a_final_carriage_return_without_a_line_feed_repaints_nothing() -> None:
    assert list(iter_clean_lines("a=1\r\nb=2\r")) == ["a=1", "b=2"]
    assert list(iter_clean_lines("a=1\r\n")) == ["a=1", ""]
