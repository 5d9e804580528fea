"""RouterOS value quoting, as `/export` writes values and as commands must spell them."""

from __future__ import annotations

from functools import lru_cache

# Characters that let a value stand bare; `!` too: negated matchers export bare (`in-interface-list=!LAN`),
# and `%`: an address with its interface stands bare (v7 export `address=10.100.100.2%wg0`, chr-7.21.4; v7
# terse `address=10.1.1.1%ether2`, harness-A1M).
BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/,@+!%")
ESCAPES = {'"': '\\"', "\\": "\\\\", "$": "\\$", "?": "\\?", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@lru_cache(maxsize=8192)
def quote(value: str) -> str:
    """Bare when safe, else "..." with RouterOS escapes. Remembered: the intent of every router of a fleet
    writes the same few thousand values (24,000 quotes, most alike, in a 200-branch verify's judge)."""
    if value and BARE.issuperset(value):  # (every character bare; one C loop, not a generator's)
        return value
    return quoted(value)


def quoted(value: str) -> str:
    """Always "..." with RouterOS escapes."""
    return '"' + "".join(ESCAPES.get(c, c) for c in value) + '"'
