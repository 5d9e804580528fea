"""key=value bodies: `split_pairs` reads them with `re.split` (for speed); what it returns and the errors it
raises are those of the plain findall reading it replaced, kept here as the reference."""

from __future__ import annotations

import random
import re

import pytest

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.keyvalue import split_pairs
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
             "local-address=10.0.0.1", "port=4500", "q=\"open", "é=1", ".id=*1", "x", "b=", "c=\"a\\\"b\"d"]


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
