"""`where` expressions of `print`/`find`: parsed once per command, compiled to one test per item.

`a=b`, `a!=b`, `a~"re"`, `a<n`, bare flags and properties, `!`/`not`, `and`/`or`/`&&`/`||`, `( )` and
`a in prefix`. Every condition is evaluated for every item, as RouterOS reports an unknown property whatever
the other conditions say; unless none can fail or run anything (known properties, literal values, no
regex): then `and`/`or` stop at the first false/true, prefix tests first. A right-hand side that is a
literal or a variable is resolved once per command; a `[...]` substitution runs for each item. A branch's
route read (`ospf and (dst-address in ...)`) tests every route of a fleet-sized table, so the tests are
closures built once, not a tree walked per item, and the flag is asked only of the routes in the prefixes.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Any, Protocol

from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import Flag, Menu

from .errors import CommandError
from .render import format_id
from .syntax import Token, Value

# A parsed `where`: ("or"|"and", [nodes]), ("not", node), ("in", field token, container token), ("is", token).
Node = tuple[Any, ...]
Test = Callable[[Item], bool]
ITEM_ATTRIBUTES: dict[str, Callable[[Item], str]] = {  # fields an item holds as attributes, not values
    "disabled": lambda item: "yes" if item.disabled else "no",
    "dynamic": lambda item: "yes" if item.dynamic else "no",
    "default": lambda item: "yes" if item.default else "no",
    "comment": lambda item: item.comment,
    ".id": lambda item: format_id(item.id),
}
TRUE, FALSE = ("true", "yes"), ("false", "no")


def col_error(kind: str, col: int) -> CommandError:
    return CommandError(f"{kind} (line 1 column {col})")


class Console(Protocol):
    """What a test needs from the console session it runs in."""

    def effective_value(self, menu: Menu, item: Item, name: str) -> str | None: ...

    def has_flag(self, menu: Menu, item: Item, flag: Flag) -> bool: ...

    def resolve(self, value: Value | None, menu: Menu, local: dict[str, str]) -> str: ...

    def normal(self, menu: Menu, name: str, raw: str) -> str: ...


@functools.lru_cache(maxsize=1 << 16)
def inside(inner_text: str, outer_text: str) -> bool:
    """`inner in outer` for addresses and prefixes; cached: a route read asks it of every route."""
    try:
        outer = ipaddress.ip_network(outer_text, strict=False)
        inner = ipaddress.ip_network(inner_text, strict=False)
    except ValueError:
        return False
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1 << 16)
def inside_any(inner_text: str, outer_texts: tuple[str, ...]) -> bool:
    return any([inside(inner_text, outer) for outer in outer_texts])


def _one_field_in(nodes: list[Node]) -> bool:
    """Every node is `<field> in <container>`, on the same field."""
    return all(node[0] == "in" for node in nodes) and len({node[1].word for node in nodes}) == 1


def _literal(value: Value | None) -> bool:
    """Text as written: no variable, no `[...]` (nothing to resolve that could fail)."""
    if value is None or value.kind not in ("word", "quoted"):
        return False
    return all(isinstance(part, str) for part in value.parts)


def _prefix_test(node: Node) -> bool:
    return node[0] == "in" or (node[0] == "or" and _one_field_in(node[1]))


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> Node:
        tree = self._or()
        if self.pos < len(self.tokens):
            raise col_error("expected end of command", self.tokens[self.pos].col)
        return tree

    def _peek(self) -> str | None:
        return self.tokens[self.pos].word if self.pos < len(self.tokens) else None

    def _or(self) -> Node:
        nodes = [self._and()]
        while self._peek() in ("or", "||"):
            self.pos += 1
            nodes.append(self._and())
        return ("or", nodes) if len(nodes) > 1 else nodes[0]

    def _and(self) -> Node:
        nodes = [self._not()]
        while self.pos < len(self.tokens) and self._peek() not in ("or", "||", ")"):
            if self._peek() in ("and", "&&"):
                self.pos += 1
            nodes.append(self._not())
        return ("and", nodes) if len(nodes) > 1 else nodes[0]

    def _not(self) -> Node:
        if self._peek() in ("!", "not"):
            self.pos += 1
            return ("not", self._not())
        if self._peek() == "(":
            self.pos += 1
            node = self._or()
            if self._peek() != ")":
                raise col_error("syntax error", self.tokens[self.pos - 1].col)
            self.pos += 1
            return node
        if self.pos >= len(self.tokens):
            col = self.tokens[-1].col if self.tokens else 1
            raise col_error("syntax error", col)
        token = self.tokens[self.pos]
        self.pos += 1
        if token.word is not None and self._peek() == "in" and self.pos + 1 < len(self.tokens):
            container = self.tokens[self.pos + 1]
            self.pos += 2
            node: Node = ("in", token, container)
        else:
            node = ("is", token)
        return ("not", node) if token.negated else node


def parse_where(tokens: list[Token]) -> Node | None:
    """The expression of `where <tokens>`, parsed once for the test and the narrowing (None when empty);
    raises the console's syntax error."""
    return Parser(tokens).parse() if tokens else None


def narrowing(tree: Node | None, menu: Menu, console: Console, local: dict[str, str]
              ) -> tuple[str, tuple[str, ...]] | None:
    """(field, containers) when the `where` expression `tree` passes only items whose field lies inside one
    of the containers (literal prefixes) and testing an item can neither fail nor run anything: a print may
    then leave the other items out untested (`where_index`). None otherwise."""
    if tree is None or not _Compiler(menu, console, local)._pure(tree):
        return None
    group = tree if _prefix_test(tree) else None
    if group is None and tree[0] == "and":
        group = next((child for child in tree[1] if _prefix_test(child)), None)
    if group is None:
        return None
    nodes = [group] if group[0] == "in" else group[1]
    try:
        return nodes[0][1].word, tuple(console.resolve(node[2].value, menu, local) for node in nodes)
    except CommandError:
        return None


def compile_where(tree: Node | None, menu: Menu, console: Console, local: dict[str, str]) -> Test:
    """The test of one item against the `where` expression `tree` (everything passes an empty one)."""
    if tree is None:
        return lambda item: True
    return _Compiler(menu, console, local).node(tree)


class _Compiler:
    def __init__(self, menu: Menu, console: Console, local: dict[str, str]) -> None:
        self.menu, self.console, self.local = menu, console, local

    def node(self, node: Node) -> Test:
        kind = node[0]
        if kind == "is":
            return self._condition(node[1])
        if kind == "in":
            return self._inside([node])
        if kind == "not":
            inner = self.node(node[1])
            return lambda item: not inner(item)
        if kind == "or" and _one_field_in(node[1]):
            return self._inside(node[1])
        if self._pure(node):  # may stop early and go in any order: prefix tests first
            tests = [self.node(child) for child in sorted(node[1], key=lambda n: not _prefix_test(n))]
            if kind == "or":
                return lambda item: any(test(item) for test in tests)
            if len(tests) == 2:
                first, second = tests
                return lambda item: first(item) and second(item)
            return lambda item: all(test(item) for test in tests)
        children = [self.node(child) for child in node[1]]
        # `&`/`|` of two tests, like all/any of a list, work out both: no short-circuit (see the docstring)
        if len(children) == 2:
            first, second = children
            if kind == "or":
                return lambda item: first(item) | second(item)
            return lambda item: first(item) & second(item)
        if kind == "or":
            return lambda item: any([child(item) for child in children])
        return lambda item: all([child(item) for child in children])

    def _pure(self, node: Node) -> bool:
        """Can the test neither fail nor run anything, whatever the item (see the module docstring)?"""
        kind = node[0]
        if kind in ("and", "or"):
            return all(self._pure(child) for child in node[1])
        if kind == "not":
            return self._pure(node[1])
        if kind == "in":
            return self._known(node[1].word) and _literal(node[2].value)
        token = node[1]
        if token.name is None:
            return token.word is not None and self._known(token.word)
        return token.op != "~" and self._known(token.name) and _literal(token.value)

    def _known(self, name: str | None) -> bool:
        menu = self.menu
        return name is not None and (
            name in ITEM_ATTRIBUTES or name in menu.fields or any(f.name == name for f in menu.flags)
        )

    def _inside(self, nodes: list[Node]) -> Test:
        """`f in A or f in B ...` (one field, containers without `[...]`): the field read once per item
        and tested against all containers in one cached call; a branch's route read is this."""
        get = self._field(nodes[0][1].word, nodes[0][1].col)
        operands = [self._operand(node[2].value) for node in nodes]
        if len(operands) == 1:
            operand = operands[0]
            return lambda item: inside(get(item), operand())
        if any(node[2].value is not None and node[2].value.kind == "sub" for node in nodes):
            return lambda item: any([inside(get(item), operand()) for operand in operands])
        kept: list[tuple[str, ...]] = []

        def test(item: Item) -> bool:
            if not kept:
                kept.append(tuple(operand() for operand in operands))
            return inside_any(get(item), kept[0])

        return test

    def _operand(self, value: Value | None, then: Callable[[str], str] = str) -> Callable[[], str]:
        """A right-hand side, passed through `then`: worked out at first use (never for an empty table),
        then kept, unless it is a `[...]` substitution."""
        console, menu, local = self.console, self.menu, self.local
        if value is not None and value.kind == "sub":
            return lambda: then(console.resolve(value, menu, local))
        kept: list[str] = []

        def once() -> str:
            if not kept:
                kept.append(then(console.resolve(value, menu, local)))
            return kept[0]

        return once

    def _field(self, name: str, col: int) -> Callable[[Item], str]:
        """The item's value of `name` as `print detail` shows it; an unknown name fails when first read."""
        if name in ITEM_ATTRIBUTES:
            return ITEM_ATTRIBUTES[name]
        menu, effective = self.menu, self.console.effective_value
        known = name in menu.fields or any(f.name == name for f in menu.flags)

        def get(item: Item) -> str:
            value = effective(menu, item, name)
            if value is not None:
                return value
            if name in item.values:
                return item.values[name]
            if name in item.status:
                return item.status[name]
            if known:
                return ""
            raise col_error("expected end of command", col)

        return get

    def _condition(self, token: Token) -> Test:
        menu = self.menu
        if token.name is None:
            word = token.word
            if word is None:
                return _failing(col_error("syntax error", token.col))
            flag = next((f for f in menu.flags if f.name == word), None)
            get = self._field(word, token.col)
            fld = menu.fields.get(word)
            set_not_empty = word == "comment" or (fld is not None and fld.type != "bool")
            has_flag = self.console.has_flag

            def bare(item: Item) -> bool:
                if flag is not None and has_flag(menu, item, flag):
                    return True
                value = get(item)
                # a bare non-boolean property: set and not empty (unverified)
                return value != "" if set_not_empty else value in TRUE

            return bare
        name, op = token.name, token.op
        have = self._field(name, token.col)
        raw = self._operand(token.value)
        normal = self._operand(token.value, lambda text: self.console.normal(menu, name, text))
        if op == "=":

            def equal(item: Item) -> bool:
                value, want = have(item), normal()
                return (
                    value == want
                    or (want in TRUE and value in TRUE)
                    or (want in FALSE and value in (*FALSE, ""))
                )

            return equal
        if op == "!=":
            return lambda item: have(item) != normal()
        if op == "~":

            def matches(item: Item) -> bool:
                value = have(item)
                try:
                    return re.search(raw(), value) is not None
                except re.error:
                    raise col_error("syntax error", token.col) from None

            return matches
        compare = COMPARISONS[op]

        def ordered(item: Item) -> bool:
            value, want = have(item), normal()
            try:
                return compare(float(value), float(want))
            except ValueError:
                return compare(value, want)

        return ordered


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


def _failing(error: CommandError) -> Test:
    def fail(item: Item) -> bool:
        raise error

    return fail
