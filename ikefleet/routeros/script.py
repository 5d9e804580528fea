"""RouterOS `/export`, `/export terse` and export-style script text -> `Config`.

The diff engine compares the router's configuration (read with `/export terse`) with the intended one
(rendered from templates in `/export` style); both go through this parser so they land in the same model.
An incomplete read (`#interrupted`, or a dangling `\\` continuation) raises: a partial export diffed against
the intent would look like missing items and make the remediation remove them.

Item conventions (shared with `ikefleet.diff`): `comment=` goes to `Item.comment`, `disabled=` to
`Item.disabled`, `[ find default=yes ]` to `Item.default`; other selectors become values of the item
(`[ find default-name=ether1 ]` -> `default-name=ether1`, `set telnet ...` -> `name=telnet`,
`set 0 ...` -> `.number=0`), so they identify the item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from ikefleet.routeros.config import Config, Item

VERBS = frozenset({"add", "set"})
OTHER_VERBS = frozenset(
    {"remove", "enable", "disable", "move", "unset", "comment", "edit", "print", "export", "find", "get"}
)
_MENU_END = VERBS | OTHER_VERBS  # a word that ends a line's menu path
NUMBER = ".number"  # pseudo-field for `set 0 ...` (a print number)
_ESCAPES = {'"': '"', "\\": "\\", "$": "$", "?": "?", "n": "\n", "r": "\r", "t": "\t", "_": " ", "a": "\a"}
_PROMPT = re.compile(r"^\[[^\]@]+@[^\]]+\] ?(<SAFE>)?[^>]*> ")
_HEX = frozenset("0123456789abcdefABCDEF")
# The character scanner's word or key, up to a blank, `=`, quote or `[` (one regex match).
_WORD_RUN = re.compile(r'[^ \t="\[]*')
# One word of a line without escapes or `[`: key=value (quoted or bare), a quoted word, or a bare word (which
# may hold a quote after its first character, as _bare reads it). An unterminated quote matches nothing.
_PLAIN_TOKEN = re.compile(
    r'[ \t]*(?:([^ \t="\[]*)=(?:"([^"]*)"|(?!")([^ \t]*))|"([^"]*)"|([^ \t="]+(?:"[^ \t]*)?))'
)
# A word of a line as `tokenize` returns it: (key, value), (None, word), or ("[", the sub-command's words).
Token = tuple[str | None, str] | tuple[str, "list[Token]"]


class ScriptError(ValueError):
    """Text that is not a complete export/script; the message names the 1-based line."""


class ExportInterrupted(ScriptError):
    """The export ended early (`#interrupted` or a dangling continuation): never diff it."""


@dataclass(slots=True)
class Command:
    """One logical line: path, verb, selector conditions, positional words and `key=value` arguments
    (in the order written; a repeated key keeps its last value, as RouterOS does). Not frozen: a frozen
    dataclass's __init__ sets each field through object.__setattr__, 0.7 us a line of every export."""

    line: int
    path: str
    verb: str
    where: tuple[tuple[str, str], ...] = ()  # from `[ find k=v ... ]`
    positional: tuple[str, ...] = ()
    args: dict[str, str] = field(default_factory=dict)
    selected: bool = False  # a `[ find ... ]` selector was given (even one without conditions)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join `\\` + 4-space continuations (even mid-value); drop comments, blanks and prompt echoes."""
    lines = text.replace("\r\n", "\n").replace("\r", "").split("\n")
    if "\\" not in text:
        return _single_lines(lines)
    out: list[tuple[int, str]] = []
    pending: str | None = None
    start = 0
    for number, raw in enumerate(lines, start=1):
        if pending is not None:
            if not raw.strip():
                raise ExportInterrupted(f"line {start}: export ends inside a continued line")
            piece = raw[4:] if raw.startswith("    ") else raw.lstrip(" ")
            pending += piece
        else:
            stripped = raw.strip()
            if not stripped or (stripped[0] in "#[" and _not_content(raw, stripped, number)):
                continue
            pending, start = raw.rstrip(" "), number
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        out.append((start, pending.strip()))
        pending = None
    if pending is not None:
        raise ExportInterrupted(f"line {start}: export ends inside a continued line")
    return out


def _single_lines(lines: list[str]) -> list[tuple[int, str]]:
    """logical_lines of a text without a backslash: no line goes on (a `/export terse`, the usual
    export), so each is kept or dropped by itself, without the continuation's bookkeeping."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or (stripped[0] in "#[" and _not_content(raw, stripped, number)):
            continue
        out.append((number, stripped))
    return out


def _not_content(raw: str, stripped: str, number: int) -> bool:
    """A comment line, or a console prompt left in the text (asked only of a line starting with `#` or
    `[`: not a call a line); ExportInterrupted on RouterOS's `#interrupted` mark."""
    if stripped[0] == "#":
        if stripped.startswith("#interrupted"):
            raise ExportInterrupted(f"line {number}: export was interrupted (#interrupted)")
        return True
    return raw[0] == "[" and _PROMPT.match(raw) is not None


def _unquote(text: str, i: int, number: int) -> tuple[str, int]:
    """Parse a quoted value starting at the opening quote; returns (value, index after closing quote)."""
    out: list[str] = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if i + 2 < len(text) and nxt in _HEX and text[i + 2] in _HEX:
                out.append(chr(int(text[i + 1 : i + 3], 16)))
                i += 3
                continue
            out.append(nxt)  # unknown escape: RouterOS keeps the character
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ScriptError(f"line {number}: unterminated quoted value")


def _bare(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text) and text[i] not in " \t":
        if text[i] == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out), i


def tokenize(text: str, number: int = 0) -> list[Token]:
    """Words of a line: ("key", value) for `key=value`, (None, word) for bare words, ("[", words) for a
    `[ ... ]` sub-command."""
    plain = _plain_tokens(text)
    return plain if plain is not None else _scan_tokens(text, number)


def _plain_tokens(text: str) -> list[Token] | None:
    """`tokenize` of a line without escapes, tabs or sub-commands (nearly every export line), read with C's
    `str.split` and `str.partition`: no regex match nor character loop a word. None when the line needs
    `_scan_tokens` (escapes, quotes with a `[`, a quote glued to a word, or an error to report)."""
    if "\\" in text or "\t" in text:
        return None
    if "[" in text:
        return _selected_tokens(text)
    if '"' not in text:
        return _words(text)
    parts = text.split('"')  # outside, quoted, outside, ...: a quoted value holds no quote (no escapes)
    if len(parts) % 2 == 0:
        return None  # a quote left open: the scanner reports it
    tokens: list[Token] = []
    for at in range(1, len(parts), 2):
        before = parts[at - 1]
        if at > 1 and before[:1] not in ("", " "):
            return None  # a word glued to a closing quote
        head, _, last = before.rpartition(" ")
        tokens += _words(head)
        if not last:
            tokens.append((None, parts[at]))  # a quoted word
        elif last[-1] == "=" and last.count("=") == 1:
            tokens.append((last[:-1], parts[at]))  # key="value"
        else:
            return None  # a quote inside a bare word or value
    rest = parts[-1]
    if len(parts) > 1 and rest[:1] not in ("", " "):
        return None
    tokens += _words(rest)
    return tokens


def _selected_tokens(text: str) -> list[Token] | None:
    """`tokenize` of a line with one `[ ... ]` standing apart and no quotes (`set [ find default=yes ] ...`:
    a line of every export), by `_words` on either side and inside; None for any other."""
    if '"' in text or text.count("[") != 1 or text.count("]") != 1:
        return None
    start, end = text.index("["), text.index("]")
    if end < start or (start and text[start - 1] != " ") or text[end + 1 : end + 2] not in ("", " "):
        return None
    return [*_words(text[:start]), ("[", _words(text[start + 1 : end])), *_words(text[end + 1 :])]


def _words(text: str) -> list[Token]:
    """The words of text without quotes, escapes, tabs or `[`: key=value or bare."""
    tokens: list[Token] = []
    for word in text.split(" "):
        if word:
            key, sep, value = word.partition("=")
            tokens.append((key, value) if sep else (None, word))
    return tokens


def _scan_tokens(text: str, number: int) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if ch == "[":
            depth, j = 0, i
            in_quote = False
            while j < len(text):
                c = text[j]
                if c == "\\" and in_quote:
                    j += 2
                    continue
                if c == '"':
                    in_quote = not in_quote
                elif not in_quote and c == "[":
                    depth += 1
                elif not in_quote and c == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(text):
                raise ScriptError(f"line {number}: unclosed [")
            tokens.append(("[", tokenize(text[i + 1 : j], number)))
            i = j + 1
            continue
        if ch == '"':
            value, i = _unquote(text, i, number)
            tokens.append((None, value))
            continue
        j = _WORD_RUN.match(text, i).end()  # type: ignore[union-attr]
        if j < len(text) and text[j] == "=":
            key = text[i:j]
            j += 1
            if j < len(text) and text[j] == '"':
                value, i = _unquote(text, j, number)
            else:
                value, i = _bare(text, j)
            tokens.append((key, value))
        else:
            word, i = _bare(text, i)
            tokens.append((None, word))
    return tokens


def _selector(sub: list[Token], number: int) -> tuple[tuple[str, str], ...]:
    words = list(sub)
    if not words or words[0] != (None, "find"):
        raise ScriptError(f"line {number}: only [ find ... ] selectors are supported")
    conditions = []
    for key, value in words[1:]:
        if key is None and value in ("where", "and"):
            continue
        if key is None or key == "[" or isinstance(value, list):  # a "[" key's value is the list
            raise ScriptError(f"line {number}: unsupported find condition {value!r}")
        conditions.append((key, value))
    return tuple(conditions)


def parse_commands(text: str) -> list[Command]:
    """Export/terse/script text -> commands with their paths (sections carry over to following lines)."""
    return [Command(c[LINE], c[PATH], c[VERB], c[WHERE], c[POSITIONAL], dict(c[PAIRS]), c[SELECTED])
            for c in _commands(text)]


# A command as `_commands` reads it, a plain tuple (a NamedTuple's construction cost 10 % of an export's
# parse, bench/HISTORY.md 2026-12-07 h55); its fields, by these names:
# LINE: the 1-based line number; PATH: the menu; VERB: add or set; WHERE: the `[ find k=v ]` conditions;
# POSITIONAL: the bare words; PAIRS: the key=value arguments in order; SELECTED: a `[ find ]` was given;
# SPLIT: a plain line's pairs as `split_flags` splits them (shared by the lines that repeat it: read-only),
# else None.
Line = tuple[int, str, str, tuple[tuple[str, str], ...], tuple[str, ...], Sequence[tuple[str, str]], bool,
             "tuple[dict[str, str], dict[str, bool | str]] | None"]
LINE: Final = 0
PATH: Final = 1
VERB: Final = 2
WHERE: Final = 3
POSITIONAL: Final = 4
PAIRS: Final = 5
SELECTED: Final = 6
SPLIT: Final = 7


def _commands(text: str) -> list[Line]:
    """parse_commands' reading without a Command each (parse_script needs none). Whole before any is used:
    the first error of the text's reading is the one raised, before parse_script's own."""
    commands: list[Line] = []
    path = "/"
    for number, line in logical_lines(text):
        plain = _plain_line(line)
        head: Sequence[Token]
        rest: Sequence[Token] = ()  # the words after the verb, for the character scanner's lines
        split: tuple[dict[str, str], dict[str, bool | str]] | None = None
        if plain is not None:
            menu, head, positional, pairs, split = plain
        else:
            menu, words = _menu(line, tokenize(line, number))
            head, rest, positional, pairs = words[:1], words[1:], (), ()
        if menu is not None:
            path = menu
            if not head:
                continue  # a section header: `/ip ipsec peer`
        if not head or head[0][0] is not None:
            raise ScriptError(f"line {number}: expected a command, got {line[:40]!r}")
        verb = str(head[0][1])
        if verb not in VERBS:
            raise ScriptError(f"line {number}: unsupported command {verb!r} (only add and set)")
        if path == "/":
            raise ScriptError(f"line {number}: {verb} outside any menu section")
        where: tuple[tuple[str, str], ...] = ()
        selected = False
        if rest:
            loose: list[str] = []
            args: dict[str, str] = {}
            for key, value in rest:
                if key is None:
                    loose.append(str(value))
                elif key == "[":
                    where, selected = _selector(value, number), True  # type: ignore[arg-type]
                else:
                    args[key] = str(value)
            positional, pairs = tuple(loose), tuple(args.items())
        commands.append((number, path, verb, where, positional, pairs, selected, split))
    return commands


def _menu(line: str, words: Sequence[Token]) -> tuple[str | None, Sequence[Token]]:
    """(the menu path a line starting with "/" names, the words after it); (None, all words) for others.
    `/ip ipsec peer` (a section) or `/ip ipsec peer add ...` (terse, a one-line script)."""
    if line[:1] != "/":
        return None, words
    idx = 0
    for key, word in words:
        if key is not None or word in _MENU_END:
            break
        idx += 1
    return "/" + " ".join([part for _, word in words[:idx] if (part := str(word).lstrip("/"))]), words[idx:]


# A plain line, read: (the menu it names or None, its verb's word, positional words, key=value pairs, the
# pairs as `split_flags` splits them: shared by every router's parse_script, which copies them).
_PlainLine = tuple[str | None, tuple[Token, ...], tuple[str, ...], tuple[tuple[str, str], ...],
                   tuple[dict[str, str], dict[str, bool | str]]]


@lru_cache(maxsize=4096)
def _plain_line(line: str) -> _PlainLine | None:
    """A line `_plain_tokens` reads (no `[` selector), remembered, as immutable tuples. A fleet's exports
    (and the intended configurations) repeat most lines from router to router (72 % of a 200-branch
    verify's), so most lines are read once a run."""
    if '"' not in line and "[" not in line and "\\" not in line and "\t" not in line:
        return _bare_line(line)
    tokens = _plain_tokens(line) if "[" not in line else None  # (a selector: _commands reads it)
    if tokens is None:
        return None
    menu, words = _menu(line, tokens)
    positional = tuple(str(value) for key, value in words[1:] if key is None)
    pairs = tuple((key, str(value)) for key, value in words[1:] if key is not None)
    return menu, tuple(words[:1]), positional, pairs, split_flags(dict(pairs).items())


def _bare_line(line: str) -> _PlainLine:
    """_plain_line of a line without quotes (most of an export's): its words by one `str.split`, read as
    `_words` and `_menu` read them (a word holding "=" is a key=value pair), without a token a word."""
    words = [word for word in line.split(" ") if word]
    menu = None
    if line[:1] == "/":
        at = 0
        for word in words:
            if "=" in word or word in _MENU_END:
                break
            at += 1
        menu = "/" + " ".join([part for word in words[:at] if (part := word.lstrip("/"))])
        words = words[at:]
    head = tuple(_words(words[0])) if words else ()
    cut = [word.partition("=") for word in words[1:]]
    positional = tuple([key for key, sep, _ in cut if not sep])
    pairs = tuple([(key, value) for key, sep, value in cut if sep])
    return menu, head, positional, pairs, split_flags(pairs)


def split_flags(args: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, bool | str]]:
    """Command arguments -> (item values, item attributes `comment`/`disabled`); `place-before` says where
    to insert, it is not stored."""
    values: dict[str, str] = {}
    flags: dict[str, bool | str] = {}
    for key, value in args:
        if key == "comment":
            flags["comment"] = value
        elif key == "disabled":
            flags["disabled"] = value.lower() in ("yes", "true")
        elif key == "place-before":  # where to insert, not a stored value
            continue
        else:
            values[key] = value
    return values, flags


def _identity(where: tuple[tuple[str, str], ...], positional: tuple[str, ...]) -> tuple[dict[str, str], bool]:
    """(identifying values, is-default) of a `set` target."""
    default = False
    ident: dict[str, str] = {}
    for key, value in where:
        if key == "default":
            default = value.lower() in ("yes", "true")
        else:
            ident[key] = value
    for word in positional:
        ident[NUMBER if word.isdigit() else "name"] = word
    return ident, default


def add(config: Config, path: str, values: dict[str, str], flags: dict[str, bool | str]) -> Item:
    """A new item of `path` (what `add` does), its attributes by name: `Config.add(**flags)` would pass them
    through a dict of keywords, which costs as much as the item."""
    return config.add(path, values, disabled=flags.get("disabled") is True,
                      comment=str(flags.get("comment", "")))


def apply(item: Item, values: dict[str, str], flags: dict[str, bool | str]) -> None:
    """Set values and attributes on an item of the model (what `set` does)."""
    item.values.update(values)
    if "comment" in flags:
        item.comment = str(flags["comment"])
    if "disabled" in flags:
        item.disabled = bool(flags["disabled"])


def parse_script(text: str) -> Config:
    """`/export`, `/export terse` or export-style script text -> Config (raises ScriptError)."""
    config = Config()
    for number, path, verb, where, positional, pairs, selected, split in _commands(text):
        values, flags = split if split is not None else split_flags(dict(pairs).items())
        if verb == "add":
            if selected or positional:
                raise ScriptError(f"line {number}: add takes no selector")
            add(config, path, values, flags)  # (copies the values: `split` is shared)
            continue
        ident, default = _identity(where, positional)
        items = config.items(path)
        target = None
        if not ident and not default:  # settings menu: the single item
            target = items[0] if items else None
        else:
            for item in items:
                if item.default == default and all(item.values.get(k) == v for k, v in ident.items()):
                    target = item
                    break
        if target is None:
            target = config.add(path, dict(ident), default=default)
        apply(target, values, flags)
    return config


def export_version(text: str) -> str | None:
    """The RouterOS version from an export header (`# ... by RouterOS 6.49.19`), if present."""
    found = re.search(r"^# .* by RouterOS (\S+)", text, re.MULTILINE)
    return found.group(1) if found else None


__all__ = [
    "NUMBER",
    "Command",
    "ExportInterrupted",
    "ScriptError",
    "add",
    "apply",
    "export_version",
    "logical_lines",
    "parse_commands",
    "parse_script",
    "split_flags",
    "tokenize",
]
