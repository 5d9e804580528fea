"""RouterOS console line -> tokens and statements, with 1-based columns for RouterOS-style errors.

The console grammar is word based: path words and a command, then arguments `name=value` or bare values.
Values may be quoted (`"a b"`, with `\\` escapes and `$var` interpolation), variables (`$name`),
sub-commands (`[ find where name=x ]`) or blocks (`do={ ... }`). `;` separates statements. Sub-commands
and blocks keep their source text and its column, so the engine parses them lazily with the right offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from .errors import CommandError

ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$", "?": "?", "_": " ", "a": "\a"}
OPERATORS = ("!=", "<=", ">=", "=", "~", "<", ">")
VAR_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def syntax_error(col: int) -> CommandError:
    return CommandError(f"syntax error (line 1 column {col})")


@dataclass(frozen=True)
class Var:
    """`$name` inside a value."""

    name: str


@dataclass(frozen=True)
class Value:
    """A value as written. kind: word | quoted | var | sub | block; `parts` mixes text and `Var`s."""

    kind: str
    col: int
    parts: tuple[str | Var, ...] = ()
    source: str = ""  # inner text of a sub-command or block
    inner_col: int = 0  # column of the first inner character

    @cached_property  # asked for every item a `where` tests
    def literal(self) -> str:
        """The text with variables left as `$name` (for command words and checks)."""
        return "".join(p if isinstance(p, str) else f"${p.name}" for p in self.parts) or self.source


@dataclass(frozen=True)
class Token:
    """One word of a statement: `name` set for `name=value` (op holds the operator), else a bare value."""

    col: int
    value: Value | None
    name: str | None = None
    op: str = ""
    negated: bool = False  # `!name` in expressions

    @cached_property
    def word(self) -> str | None:
        """The bare word text when the token is a plain unquoted word without variables."""
        value = self.value
        if self.name is None and value is not None and value.kind == "word":
            return value.literal if all(isinstance(p, str) for p in value.parts) else None
        return None


@dataclass
class Statement:
    tokens: list[Token] = field(default_factory=list)
    col: int = 1


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _closing(text: str, i: int, open_ch: str, close_ch: str, base: int) -> int:
    """Index of the bracket closing the one at `i`, honouring nesting and quotes."""
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == '"':
            j = _quoted_end(text, j, base)
        elif ch == open_ch or (open_ch == "[" and ch == "{") or (open_ch == "{" and ch == "["):
            depth += 1
        elif ch == close_ch or (close_ch == "]" and ch == "}") or (close_ch == "}" and ch == "]"):
            depth -= 1
            if depth == 0:
                if ch != close_ch:
                    raise syntax_error(base + j)
                return j
        j += 1
    # Real v7 capture: "expected closing brace (line N column M)"; the bracket wording is by analogy.
    what = "brace" if close_ch == "}" else "bracket"
    raise CommandError(f"expected closing {what} (line 1 column {base + len(text)})")


def _quoted_end(text: str, i: int, base: int) -> int:
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"':
            return j
        j += 1
    raise syntax_error(base + len(text))


def _var_at(text: str, i: int, base: int) -> tuple[Var, int]:
    """Parse `$name` or `$"name"` starting at the `$`; returns the Var and the index after it."""
    j = i + 1
    if j < len(text) and text[j] == '"':
        end = _quoted_end(text, j, base)
        return Var(text[j + 1 : end]), end + 1
    k = j
    while k < len(text) and text[k] in VAR_CHARS:
        k += 1
    if k == j:
        raise syntax_error(base + i)
    return Var(text[j:k]), k


def _quoted(text: str, i: int, base: int) -> tuple[Value, int]:
    parts: list[str | Var] = []
    buf: list[str] = []
    j = i + 1
    while True:
        if j >= len(text):
            raise syntax_error(base + len(text))
        ch = text[j]
        if ch == '"':
            break
        if ch == "\\":
            nxt = text[j + 1 : j + 2]
            if nxt in ESCAPES:
                buf.append(ESCAPES[nxt])
                j += 2
            elif len(text) >= j + 3 and all(c in "0123456789abcdefABCDEF" for c in text[j + 1 : j + 3]):
                buf.append(chr(int(text[j + 1 : j + 3], 16)))
                j += 3
            else:
                raise syntax_error(base + j)
            continue
        if ch == "$":
            var, j = _var_at(text, j, base)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(var)
            continue
        buf.append(ch)
        j += 1
    if buf or not parts:
        parts.append("".join(buf))
    return Value("quoted", base + i, tuple(parts)), j + 1


def _bare(text: str, i: int, base: int, stop: str) -> tuple[Value, int]:
    """An unquoted value: runs to whitespace or `stop`; `$var`s inside are kept as parts."""
    parts: list[str | Var] = []
    buf: list[str] = []
    j = i
    while j < len(text) and text[j] not in " \t\r\n;" and text[j] not in stop:
        if text[j] == "$":
            var, j = _var_at(text, j, base)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(var)
            continue
        if text[j] == '"':
            raise syntax_error(base + j)
        buf.append(text[j])
        j += 1
    if buf:
        parts.append("".join(buf))
    kind = "var" if len(parts) == 1 and isinstance(parts[0], Var) else "word"
    return Value(kind, base + i, tuple(parts)), j


def _value(text: str, i: int, base: int, stop: str = "") -> tuple[Value, int]:
    if i >= len(text) or text[i] in " \t\r\n;":
        return Value("word", base + i, ("",)), i
    ch = text[i]
    if ch == '"':
        return _quoted(text, i, base)
    if ch in "[{":
        close = "]" if ch == "[" else "}"
        end = _closing(text, i, ch, close, base)
        kind = "sub" if ch == "[" else "block"
        return Value(kind, base + i, (), text[i + 1 : end], base + i + 1), end + 1
    if ch in "]}":
        raise syntax_error(base + i)
    return _bare(text, i, base, stop)


NAME_STOP = '=~<>!"[{(])}$'


def tokenize(text: str, base: int = 1) -> list[Statement]:
    """Split a line (or a sub-command's inner text starting at column `base`) into statements."""
    statements = [Statement(col=base)]
    i = _skip_ws(text, 0)
    while i < len(text):
        ch = text[i]
        if ch == ";":
            i = _skip_ws(text, i + 1)
            statements.append(Statement(col=base + i))
            continue
        tokens = statements[-1].tokens
        col = base + i
        if ch == "!" and text[i + 1 : i + 2] == "(":
            tokens.append(Token(col, Value("word", col, ("!",))))
            i += 1
            continue
        if ch in "()":
            tokens.append(Token(col, Value("word", col, (ch,))))
            i = _skip_ws(text, i + 1)
            continue
        negated = False
        if ch == "!" and i + 1 < len(text) and text[i + 1] not in " \t\r\n=;":
            negated, i = True, i + 1
        j = i
        while j < len(text) and text[j] not in " \t\r\n;" and text[j] not in NAME_STOP:
            j += 1
        op = next((o for o in OPERATORS if text.startswith(o, j)), "") if j > i else ""
        if op:
            value, k = _value(text, j + len(op), base, stop=")")
            tokens.append(Token(col, value, text[i:j], op, negated))
        else:
            value, k = _value(text, i, base, stop=")")
            tokens.append(Token(col, value, None, "", negated))
        if k == i:  # nothing consumed: a stray character the grammar does not allow here
            raise syntax_error(base + i)
        i = _skip_ws(text, k)
    return [s for s in statements if s.tokens]


@lru_cache(maxsize=1024)
def tokenize_line(line: str) -> tuple[Statement, ...]:
    """`tokenize` of a whole console line, kept (statements are never changed once read): every branch of
    a fleet sends the same read lines on every run."""
    return tuple(tokenize(line))
