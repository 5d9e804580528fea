"""A print's `Flags:` legend: flag letters to names. Shared by the engine's reader and the detail reader."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

# "Flags: X - disabled, A - active, D - dynamic,"  /  "Flags: D - DYNAMIC; X - DISABLED, I - INACTIVE"
LEGEND_RE = re.compile(r"^\s*Flags:\s*(?P<rest>.*)$")
# "X - disabled, A - active; D - dynamic": pairs split on "," (v6) and ";" (v7 groups)
_LEGEND_SEP_RE = re.compile(r"[,;]")
# "K - private-key"  /  "+ - ecmp"  /  "y - COPY"
_LEGEND_PAIR_RE = re.compile(r"^\s*+(?P<letter>\S)\s++-\s++(?P<name>\S.*+)$")  # the name rstripped after


def parse_legend(text: str) -> dict[str, str]:
    """Flag letter -> lower-case name from a legend's text (the part after `Flags:`, lines joined)."""
    legend: dict[str, str] = {}
    for piece in _LEGEND_SEP_RE.split(text):
        match = _LEGEND_PAIR_RE.match(piece)
        if match:
            legend[match["letter"]] = match["name"].rstrip().lower()
    return legend


_CACHED_LEGEND = 1024  # longer texts are read each time (nothing that long is a legend; memory stays small)


@lru_cache(maxsize=256)
def _remembered(text: str) -> Mapping[str, str]:
    return parse_legend(text)


def legend_of(text: str) -> Mapping[str, str]:
    """parse_legend, remembered (every router of a fleet prints the same few legends), not to be changed."""
    return _remembered(text) if len(text) <= _CACHED_LEGEND else parse_legend(text)
