"""key=value text (detail, terse and the v6 default print): pairs, quoting and mid-value wrapping."""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable

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
    plain = _plain_pairs(body, False)
    if plain is not None:
        return _pairs(*plain)
    # [skipped, key, value, skipped, key, value, ..., skipped]: what lies between pairs is "" when the
    # body is pairs only
    parts = _PAIRS_RE.split(body)
    keys = parts[1::3]
    shape = tuple(keys)
    secrets, renames = _LAYOUTS.get(shape) or _learn_layout(shape)
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
    values = _renamed(keys, parts[2::3])
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


def split_wrapped(body: str, join: Callable[[str], str], command: str, lineno: int) -> dict[str, str]:
    """split_pairs of an item's body as printed, over lines (each line end followed by an indent, no
    whitespace but spaces and line ends): read as it stands where the str.split reading can, else joined
    by `join` (so no line is joined that need not be)."""
    plain = _plain_pairs(body, True)
    if plain is not None:
        return _pairs(*plain)
    return split_pairs(join(body), command, lineno)


def _pairs(keys: list[str], found: list[str]) -> dict[str, str]:
    """The pairs of the str.split reading: its keys and values (unquoted already), less the secrets."""
    shape = tuple(keys)
    secrets, renames = _LAYOUTS.get(shape) or _learn_layout(shape)
    if renames:
        return _renamed(keys, found)
    values = dict(zip(keys, found, strict=False))  # (one value a key: strict's check costs a third more)
    for key in secrets:
        del values[key]
    return values


def _renamed(keys: list[str], found: list[str]) -> dict[str, str]:
    """Pairs whose keys come twice or name a v7 port: the first of a key wins, secrets dropped."""
    values: dict[str, str] = {}
    last = ""
    for key, value in zip(keys, found, strict=True):
        if key == "port" and last.endswith("-address"):
            # v7 active-peers: "local-address=A port=4500 remote-address=B port=4500"
            key = last[: -len("address")] + "port"
        last = key
        if key in values or is_secret(key):
            continue  # v7 prints some keys twice (`spii=`, `spir=`): the first wins
        values[key] = unquote(value) if value[:1] == '"' else value
    return values


# a whole key, as _PAIRS_RE reads one; and keys seen to be whole (a print repeats a few dozen names)
_KEY_RE = re.compile(r"\.?[A-Za-z][\w.\-]*+")
_KEYS: set[str] = set()
_MAX_KEYS = 4096
_ENDS, _ENDS_WRAPPED = ("", " "), ("", " ", "\r", "\n")  # what may follow a closing quote
_BEFORE, _SPACE, _AFTER = operator.itemgetter(0), operator.itemgetter(1), operator.itemgetter(2)
_SPACES = itertools.repeat(" ")  # (str.rpartition's argument, as many as map asks)


def _plain_pairs(body: str, wrapped: bool) -> tuple[list[str], list[str]] | None:
    """The keys and values `_PAIRS_RE.split` finds in `body`, found by C's `str.split` (about half the
    time), when nothing in it can be read another way: every "=" follows a whole key after a space (or
    starts the body), and quoted values (without escapes) stand alone between a key's "=" and a space.
    None otherwise: the pattern reads the body. `wrapped`: the body is an item's lines as
    printed, each line end followed by an indent (then a line end is only space before a key)."""
    if not wrapped and not body.isprintable():
        return None  # whitespace besides spaces: the pattern treats it apart
    quoted: list[str] = []
    if '"' in body:
        if "\\" in body:
            return None  # (an escaped quote does not close a value)
        parts = body.split('"')
        if len(parts) % 2 == 0:
            return None  # a value left open
        ends = _ENDS_WRAPPED if wrapped else _ENDS
        for at in range(1, len(parts), 2):
            # (its key is one of the pairs' below, whose keys are checked there: a word that is no key
            # before its "=" is read there, or leaves its `""` glued to a value `_unquoted` declines)
            if not parts[at - 1].endswith("=") or parts[at + 1][:1] not in ends:
                return None  # a quote inside a value, or text glued to a closing quote
        quoted = parts[1::2]
        parts[1::2] = [""] * len(quoted)  # (a quoted value may hold "=" and spaces: read apart, below)
        body = '"'.join(parts)
    pieces = body.split("=")
    if len(pieces) < 2:
        return None
    # each piece between two "=": the value before, its last word the key after ("v1 k2"); C's map and
    # itemgetter, not a loop, as this runs for every pair of a hub's SAs
    cut = [*map(str.rpartition, pieces[1:-1], _SPACES)]
    last = pieces[-1]
    if not all(map(_SPACE, cut)):
        cut, last = _rejoined(cut, last)  # a value holding "=" ("issuer=CN=CA")
    keys = [pieces[0], *map(_AFTER, cut)]
    values = [*map(_BEFORE, cut), last]
    if wrapped:  # (a line's end and the next one's indent before a key are no part of a value)
        values = [*map(str.rstrip, values)]
        if "\n" in "".join(values):
            return None  # a line going on with a value: joined, a space is its part
    elif "  " in body:  # (spaces before a key, or after the last value, are no part of a value)
        values = [value.rstrip(" ") for value in values]
    else:
        values[-1] = values[-1].rstrip(" ")
    if not _KEYS.issuperset(keys) and not all(map(_whole_key, keys)):
        return None
    if quoted and not _unquoted(keys, values, quoted):
        return None
    return keys, values


def _rejoined(cut: list[tuple[str, str, str]], last: str) -> tuple[list[tuple[str, str, str]], str]:
    """The pieces between two "=" (each cut at its last space) and the last piece, joined back where an "="
    is in a value: a key follows a space, so a piece without one ("issuer=CN=CA": "CN") goes on with the
    value, as the pattern reads it. (The held text has no space: each piece keeps its own last one.)"""
    joined: list[tuple[str, str, str]] = []
    held = ""
    for before, space, after in cut:
        if space:
            joined.append((held + before, space, after))
            held = ""
        else:
            held += after + "="
    return joined, held + last


def _unquoted(keys: list[str], values: list[str], quoted: list[str]) -> bool:
    """Put back the quoted values `_plain_pairs` emptied (`""`), in their order, as the pattern's reading
    unquotes them. False where it reads them otherwise: words after a closing quote go on with the value,
    and a quoted value wrapped over lines is joined; a secret's value needs neither, it is dropped.
    (Each quoted value starts a value of its own: one per value holding a quote. So when as many values
    are `""` as there were quoted ones, no other value holds a quote, and the n-th `""` is the n-th.)"""
    if values.count('""') != len(quoted):
        return False  # (a secret's with words after it too: the pattern reads that, and drops it)
    at = -1
    for content in quoted:
        at = values.index('""', at + 1)
        if not is_secret(keys[at]):  # (a secret's is left `""`, to be dropped)
            if "\n" in content:
                return False
            values[at] = content
    return True


def _whole_key(key: str) -> bool:
    """True when `key` is a whole key as the pattern reads one (remembered: a print repeats its keys; and
    only such words reach `is_secret`'s cache)."""
    if key in _KEYS:
        return True
    if not _KEY_RE.fullmatch(key):
        return False
    if len(_KEYS) < _MAX_KEYS:
        _KEYS.add(key)
    return True


# a command's items repeat their keys: each key order's layout is worked out once (`_learn_layout`) and
# read from here (a dict: read without a call)
_LAYOUTS: dict[tuple[str, ...], tuple[tuple[str, ...], bool]] = {}


def _learn_layout(keys: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """(the secret keys, whether a key comes twice or a v7 `port` may need its address's name), remembered
    in _LAYOUTS for the next item with these keys."""
    if len(_LAYOUTS) >= 256:
        _LAYOUTS.clear()  # (memory stays bounded)
    layout = _LAYOUTS[keys] = (tuple(k for k in keys if is_secret(k)),
                               len(set(keys)) != len(keys) or "port" in keys)
    return layout


def quotes_open(part: str) -> bool:
    """True when `part` holds an odd number of unescaped double quotes (it opens or closes a value)."""
    if '"' not in part:
        return False
    if "\\" in part:
        part = _ESCAPED_RE.sub("", part)
    return part.count('"') % 2 == 1
