"""The console line grammar: words, name=value, quoting, variables, sub-commands, blocks, columns."""

from __future__ import annotations

import pytest

from ikefleet.lab.errors import CommandError
from ikefleet.lab.syntax import Var, tokenize


def test_words_and_arguments_with_columns() -> None:
    [st] = tokenize("/ip address add address=10.0.0.1/30 interface=ether1")
    assert [t.word for t in st.tokens[:3]] == ["/ip", "address", "add"]
    assert [t.col for t in st.tokens] == [1, 5, 13, 17, 37]
    arg = st.tokens[3]
    assert (arg.name, arg.op, arg.value.literal, arg.value.col) == ("address", "=", "10.0.0.1/30", 25)


def test_quoted_value_escapes_and_interpolation() -> None:
    [st] = tokenize(r':put "a\"b\\c $name\_d\41"')
    value = st.tokens[1].value
    assert value.kind == "quoted"
    assert value.parts == ('a"b\\c ', Var("name"), " dA")


def test_variable_value_and_quoted_variable_name() -> None:
    [st] = tokenize('/certificate add name=$certca common-name=$"my-var"')
    assert st.tokens[2].value.kind == "var" and st.tokens[2].value.parts == (Var("certca"),)
    assert st.tokens[3].value.parts == (Var("my-var"),)


def test_sub_command_keeps_source_and_inner_column() -> None:
    [st] = tokenize("/certificate sign [find where name=$certca] ca=$certca once do={}")
    sub = st.tokens[2].value
    assert (sub.kind, sub.source, sub.col, sub.inner_col) == ("sub", "find where name=$certca", 19, 20)
    inner = tokenize(sub.source, sub.inner_col)[0]
    assert inner.tokens[2].col == 31  # columns inside [ ] count from the start of the whole line
    block = st.tokens[5].value
    assert (st.tokens[5].name, block.kind, block.source) == ("do", "block", "")
    assert st.tokens[4].word == "once"


def test_nested_brackets_and_braces() -> None:
    [st] = tokenize(':put [/ip address get [find interface="a]b"] address]')
    assert st.tokens[1].value.source == '/ip address get [find interface="a]b"] address'


def test_statements_split_on_semicolons() -> None:
    statements = tokenize(":local y 5; :put $y")
    assert len(statements) == 2
    assert statements[1].col == 13 and statements[1].tokens[0].word == ":put"


def test_expression_operators_and_negation() -> None:
    [st] = tokenize('print where name~"^a" and !disabled or mtu>1400 and comment!="x"')
    ops = [(t.name, t.op, t.negated) for t in st.tokens if t.name]
    assert ops == [("name", "~", False), ("mtu", ">", False), ("comment", "!=", False)]
    flag = st.tokens[4]
    assert flag.negated and flag.word == "disabled"


def test_parentheses_are_tokens() -> None:
    [st] = tokenize("print where (a=1 or b=2)")
    assert [t.word for t in st.tokens][2] == "("
    assert st.tokens[-1].word == ")"
    assert st.tokens[-2].value.literal == "2"


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ('/system identity set name="R1', 30),
        ("/ip address print ]", 19),
        (":put $", 6),
        (r':put "\q"', 7),
    ],
)
def test_syntax_errors_carry_columns(line: str, column: int) -> None:
    with pytest.raises(CommandError) as exc:
        tokenize(line)
    assert str(exc.value) == f"syntax error (line 1 column {column})"


def test_empty_and_blank_lines() -> None:
    assert tokenize("") == []
    assert tokenize("   ") == []
    assert tokenize(" ; ;") == []


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("/ip address print where [find", "expected closing bracket (line 1 column 30)"),
        (":put {", "expected closing brace (line 1 column 7)"),
        ("/system backup save once do={:put [find]", "expected closing brace (line 1 column 41)"),
    ],
)
def test_unclosed_blocks(line: str, error: str) -> None:
    with pytest.raises(CommandError) as exc:
        tokenize(line)
    assert str(exc.value) == error
