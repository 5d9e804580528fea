"""key=value text (detail, terse and the v6 default print): pairs, quoting and mid-value wrapping."""

from __future__ import annotations

import re
from functools import lru_cache

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.values import is_secret, unquote

# 'name="eoip1000"', 'issuer=CN=CA', '.ext-communities=rt:1.1.1.1:111', 'options=' (empty),
# 'gateway-status=10.0.0.2 reachable via  ether1' (words continuing an unquoted value, in the value's group).
# Possessive quantifiers: no backtracking, this runs over every byte of a hub's SA table. Two groups, read
# with `split` (a flat list, no tuple per pair): each group copied out costs time.
_PAIRS_RE = re.compile(
    r'\s*+(\.?[A-Za-z][\w.\-]*+)=((?:"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[^\s"]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^\s"]*+)*+)'
    r"(?: ++(?!\.?[A-Za-z][\w.\-]*+=)[^ ]++)*+)"
)

# '\"' and '\\' inside quoted values: escapes, not quotes
_ESCAPED_RE = re.compile(r"\\.")


def split_pairs(body: str, command: str, lineno: int) -> dict[str, str]:
    """key=value pairs of one item's joined body; an unquoted value may hold spaces."""
    if "\t" in body:
        body = body.replace("\t", " ")  # words continue a value across spaces only
    # [skipped, key, value, skipped, key, value, ..., skipped]: what lies between pairs is "" when the
    # body is pairs only
    parts = _PAIRS_RE.split(body)
    keys = parts[1::3]
    secrets, renames = _layout(tuple(keys))
    if not renames and not any(parts[0::3]):
        # the usual body (pairs only, each key once, no v7 port): its pairs at once, less the secrets
        values = dict(zip(keys, parts[2::3], strict=True))
        quotes = body.count('"')
        for key in secrets:
            quotes -= values.pop(key).count('"')
        if quotes:  # (a quote outside the secrets: a value may be quoted)
            for key, value in values.items():
                if value[:1] == '"':
                    values[key] = unquote(value)
        return values
    values = {}
    last = ""
    for key, value in zip(keys, parts[2::3], strict=True):
        if key == "port" and last.endswith("-address"):
            # v7 active-peers: "local-address=A port=4500 remote-address=B port=4500"
            key = last[: -len("address")] + "port"
        last = key
        if key in values or is_secret(key):
            continue  # v7 prints some keys twice (`spii=`, `spir=`): the first wins
        values[key] = unquote(value) if value[:1] == '"' else value
    if any(parts[0::3]):
        # split passes over what is not a pair: the first text it skipped is the culprit
        pos = 0
        for match in _PAIRS_RE.finditer(body):
            if match.start() != pos:
                break
            pos = match.end()
        if body[pos:].strip():
            raise ParseError(command, f"expected key=value, got {body[pos:].strip()[:40]!r}", lineno)
    return values


@lru_cache(maxsize=256)
def _layout(keys: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """(the secret keys, whether a key comes twice or a v7 `port` may need its address's name): a command's
    items repeat their keys, so this is worked out once per command and key order."""
    return tuple(k for k in keys if is_secret(k)), len(set(keys)) != len(keys) or "port" in keys


def quotes_open(part: str) -> bool:
    """True when `part` holds an odd number of unescaped double quotes (it opens or closes a value)."""
    if '"' not in part:
        return False
    if "\\" in part:
        part = _ESCAPED_RE.sub("", part)
    return part.count('"') % 2 == 1
