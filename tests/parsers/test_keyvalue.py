"""key=value bodies: `split_pairs` reads them with `str.split` where nothing can be read two ways, else with
`re.split` (for speed); what it returns and the errors it raises are those of the plain findall reading it
replaced, kept here as the reference."""

from __future__ import annotations

import random
import re

import pytest

from ikefleet.parsers.detail import _joined
from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.keyvalue import _plain_pairs, split_pairs, split_wrapped
from ikefleet.parsers.values import is_secret, unquote

_REFERENCE_RE = re.compile(
    r'(\s*+)(\.?[A-Za-z][\w.\-]*+)=("[^"\\]*+(?:\\.[^"\\]*+)*+"?|[^\s"]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^\s"]*+)*+)'
    r"((?: ++(?!\.?[A-Za-z][\w.\-]*=)[^ ]++)*+)"
)


def reference(body: str) -> dict[str, str] | str:
    """The pairs, or the text an error names, as the findall reading gave them."""
    body = body.replace("\t", " ")
    values: dict[str, str] = {}
    last = ""
    pairs = _REFERENCE_RE.findall(body)
    for _, key, value, more in pairs:
        if key == "port" and last.endswith("-address"):
            key = last[: -len("address")] + "port"
        last = key
        if key in values or is_secret(key):
            continue
        value += more
        values[key] = unquote(value) if value[:1] == '"' else value
    if sum(map(len, map("".join, pairs))) + len(pairs) != len(body):
        pos = 0
        for match in _REFERENCE_RE.finditer(body):
            if match.start() != pos:
                break
            pos = match.end()
        if body[pos:].strip():
            return f"expected key=value, got {body[pos:].strip()[:40]!r}"
    return values


def read(body: str) -> dict[str, str] | str:
    try:
        return split_pairs(body, "/x print", 1)
    except ParseError as exc:
        return exc.message


FRAGMENTS = ["a=1", "name=\"x y\"", "via", " ", "  ", "\t", "=", "1=2", "CN=c", "key=\"s\"", "\"", "\\\"",
             "local-address=10.0.0.1", "port=4500", "q=\"open", "é=1", ".id=*1", "x", "b=", "c=\"a\\\"b\"d",
             'comment="a = b  c "', 'n=""',
             # a quoted value after a word that is no key (its key is checked with the pairs')
             'CN="v"', '1="v w"', 'a:b="v"', '-a="v"', 'x y="v"']


def test_split_pairs_reads_as_the_findall_reading_did() -> None:
    rng = random.Random(22)
    for _ in range(3000):
        body = "".join(rng.choice(FRAGMENTS) + rng.choice(["", " "]) for _ in range(rng.randrange(0, 9)))
        assert read(body) == reference(body), body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("gateway-status=10.0.0.2 reachable via  ether1 distance=1",
         {"gateway-status": "10.0.0.2 reachable via  ether1", "distance": "1"}),
        ("local-address=A port=4500 remote-address=B port=500",
         {"local-address": "A", "local-port": "4500", "remote-address": "B", "remote-port": "500"}),
        ('spii=1 spii=2 auth-key="0a" name="a \\"b\\""', {"spii": "1", "name": 'a "b"'}),
        ("state=mature   ", {"state": "mature"}),
        ("!! state=mature", "expected key=value, got '!! state=mature'"),
    ],
)
def test_pairs_continuations_renames_secrets_and_errors(body: str, expected: dict[str, str] | str) -> None:
    assert read(body) == expected


# secrets (quoted, wrapped, holding "=" or spaces, glued to text), values with "=" and spaces, odd keys
SECRET_FRAGMENTS = ['auth-key="0a1b"', 'enc-key="ab==', 'cd"', 'secret="x y"', 'psk=""', 'auth-key="a"b',
                    "auth-key=plain", "enc-key=", "spi=0x1", "addtime=nov/27/2026 00:40:46", "issuer=CN=CA",
                    "x", "=", "1=2", "-a=1", ".id=*1", "port=4500", "local-address=1", 'name="n"', "\n",
                    "a\x0bb=1", "\u00e9=1", "\u00a0", "c=1\u2028d=2", "q=\"open"]


def test_split_pairs_with_secrets_reads_as_the_findall_reading_did() -> None:
    rng = random.Random(30)
    plain = 0
    for _ in range(6000):
        body = "".join(rng.choice(SECRET_FRAGMENTS) + rng.choice(["", " ", " ", "  "])
                       for _ in range(rng.randrange(1, 9)))
        assert read(body) == reference(body), body
        plain += _plain_pairs(body, False) is not None
    assert plain > 300  # the str.split reading is compared, not only the pattern's


def test_an_sa_body_is_read_by_str_split_its_secrets_emptied() -> None:
    body = ('spi=0x1 src-address=192.0.2.1:4500 auth-key="0123" enc-key="ab==cd" addtime=nov/27/2026 '
            "00:40:46 replay=128")
    assert _plain_pairs(body, False) == (
        ["spi", "src-address", "auth-key", "enc-key", "addtime", "replay"],
        ["0x1", "192.0.2.1:4500", '""', '""', "nov/27/2026 00:40:46", "128"])
    assert split_pairs(body, "/x print", 1) == {"spi": "0x1", "src-address": "192.0.2.1:4500",
                                               "addtime": "nov/27/2026 00:40:46", "replay": "128"}
    assert _plain_pairs('name="a=b c" mtu=1', False) == (["name", "mtu"], ["a=b c", "1"])


@pytest.mark.parametrize("body", ['name="a" b mtu=1', 'name="a"b', 'name=a"b"', 'x="a"\n  "b" y=1'])
def test_words_glued_to_a_quoted_value_are_left_to_the_pattern(body: str) -> None:
    assert _plain_pairs(body, "\n" in body) is None


def test_a_quoted_value_wrapped_over_lines_is_left_to_the_join() -> None:
    assert _plain_pairs('name="a\n      b" mtu=1', True) is None
    assert split_wrapped('name="a\n      b" mtu=1', _joined, "/x print", 1) == {"name": "ab", "mtu": "1"}


def read_wrapped(body: str) -> dict[str, str] | str:
    try:
        return split_wrapped(body, _joined, "/x print", 1)
    except ParseError as exc:
        return exc.message


def test_a_wrapped_body_is_read_as_its_joined_lines() -> None:
    # (_joined joins lines as the line reader does: tests/parsers/test_detail_reader.py compares them)
    rng = random.Random(7)
    lines = ["spi=0x1 src-address=192.0.2.1:4500", 'auth-key="0123"', 'enc-key="ab==',
             'cd" addtime=nov/27 00:40', "state=mature", 'name="a', 'b" x=1', "x y=1", "a=1  ", "c=CN=d",
             "port=1 local-address=2 port=3", 'comment="a = b  c "', 'n=""', 'c=CN="d e"', 'a:b="v" c=1',
             'x y="v"', '1="v']
    wrapped = 0
    for _ in range(3000):
        picked = [rng.choice(lines) for _ in range(rng.randrange(1, 6))]
        body = rng.choice(["\n", "\r\n"]).join(
            line if at == 0 else " " * rng.randrange(1, 8) + line for at, line in enumerate(picked))
        wrapped += _plain_pairs(body, True) is not None
        assert read_wrapped(body) == read(_joined(body)), body
    assert wrapped > 300
