"""Sample by sample, RouterOS 7: rebuild each real v7 capture's items from the capture, render them with the
v7 layouts, compare the text byte for byte (as tests/lab/test_render_samples.py does for v6).

The captures are the repository's copies (tests/parsers/golden). Normalisations only where the source
changed the text (SOURCES.md): trailing spaces the author stripped. Widths: inside the range the capture's
wrap points allow (the sources do not say).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ikefleet.lab.render import Row, print_detail, print_table
from ikefleet.routeros.schema import load_schema

GOLDEN = Path(__file__).resolve().parents[1] / "parsers" / "golden"
_ITEM = re.compile(r"^ ?(\d+) (.*)$")
_HEAD = re.compile(r"^(.*?)\s*(?:;;; (.*)|([a-z][a-z0-9-]*=.*))$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def items(lines: list[str]) -> list[Row]:
    """Items of a key=value capture: number, flag letters, comment, values (wrapped lines joined)."""
    found: list[dict[str, object]] = []
    for line in lines:
        match = _ITEM.match(line)
        if line.startswith("Flags:") or not line.strip() or (match is None and not found):
            continue
        if match:
            head = _HEAD.match(match[2])
            assert head, line
            found.append({"n": int(match[1]), "flags": head[1].replace(" ", ""), "comment": head[2] or "",
                          "text": (head[3] or "").rstrip(" ") + " "})
        else:
            found[-1]["text"] = str(found[-1]["text"]) + line.strip(" ") + " "
    rows = []
    for item in found:
        pairs = re.split(r" (?=[a-z][a-z0-9-]*=)", str(item["text"]).strip())
        values = {key: _unquote(value) for key, _, value in (p.partition("=") for p in pairs if p)}
        rows.append(Row(number=int(str(item["n"])), values=values, flags=str(item["flags"]),
                        comment=str(item["comment"])))
    return rows


def rstripped(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


CASES = [
    # (capture, its lines, menu, detail?, width, the author stripped trailing spaces?)
    ("v7__routing_bfd_session_print__helpmt-bfd.txt", (2, 10), "/routing bfd session", False, 110, False),
    # itmo: the wrap points allow 76..79 columns
    ("v7__routing_ospf_interface_and_neighbor_print__itmo-lab-chr1_ospf.txt", (3, 10),
     "/routing ospf interface", False, 78, True),
    ("v7__interface_eoip_print__mt-docs-eoip-AP.txt", (2, 6), "/interface eoip", False, 110, False),
    ("v7__ip_ipsec_policy_print_detail__id-blog-hub.txt", (2, 25), "/ip ipsec policy", True, 80, True),
    ("v7__certificate_print_detail__helpmt-certs-templates.txt", (2, 9), "/certificate", True, 150, False),
]


@pytest.mark.parametrize(("name", "span", "path", "detail", "width", "stripped"), CASES,
                         ids=[c[0] for c in CASES])
def test_v7_key_value_capture(name: str, span: tuple[int, int], path: str, detail: bool, width: int,
                              stripped: bool) -> None:
    lines = (GOLDEN / name).read_text().split("\n")[span[0] - 1 : span[1]]
    want = "\n".join(lines).rstrip("\n")
    rows = items(lines)
    assert rows
    got = (print_detail if detail else print_table)(load_schema(7).menu(path), rows, width=width, version=7)
    got = got.rstrip("\n")
    if stripped:
        got, want = rstripped(got), rstripped(want)
    assert got.split("\n") == want.split("\n")


def test_v7_certificate_table_capture() -> None:
    """helpmt-certs (import, then print): the legend names only the flags shown, one group each, columns
    sized to their content, the empty FINGERPRINT and SUBJECT-ALT-NAME columns left out. The doc pads some
    lines with spaces of its own: compared without trailing spaces."""
    lines = (GOLDEN / "v7__certificate_import_and_print__helpmt-certs.txt").read_text().split("\n")[8:13]
    rows = [Row(0, {"name": "name_example", "common-name": "cert"}, flags="KT"),
            Row(1, {"name": "name_example_1", "common-name": "ca"}, flags="T")]
    got = print_table(load_schema(7).menu("/certificate"), rows, width=80, version=7)
    assert rstripped(got).split("\n") == rstripped("\n".join(lines)).rstrip("\n").split("\n")
