"""argparse types for numeric options: a value that would hang or misbehave a run is refused at parse time.

argparse turns an ArgumentTypeError into `ikefleet <cmd>: error: argument --opt: <message>` and exit 2,
before the inventory is read or any router contacted; each message says what to give instead.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def seconds(option: str, example: str) -> Callable[[str], float]:
    """A finite number of seconds above 0 (`nan` would never time out, a negative one at once)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of seconds above 0; fix: give e.g. {option} {example}")
        return value

    return parse


def count(option: str, example: str, minimum: int = 0) -> Callable[[str], int]:
    """A whole number >= `minimum` (a negative count slices lists from their end)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number of at least {minimum}; fix: give e.g. {option} {example}")
        return value

    return parse
