"""docs/fidelity.md stays true: every command ikefleet reads has a row (v6 and v7), every capture it names
exists and is of the version its column says, every capture in the samples is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ikefleet.parsers.registry import menu_of
from ikefleet.routeros.console import VERSION_COMMAND
from ikefleet.verify import gather

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "docs" / "fidelity.md"
COPIES = (ROOT / "tests" / "parsers" / "golden", ROOT / "tests" / "data")
SHARED = Path("/work/shared/routeros-samples")
# where commands ikefleet sends live; the lab and the parsers only answer and read them
SOURCES = ("tasks", "runbooks", "ikefleet")
NOT_SENDERS = ("lab", "parsers")
# a command literal that reads: "/ip ipsec policy print detail ...", "/export terse hide-sensitive"
_READ_RE = re.compile(r"""["'](/(?:[a-z][a-z0-9-]*[ /])*(?:print|export)(?:\s[^"']*)?)["']""")
_CAPTURE_RE = re.compile(r"\b((?:v6|v7|unk)__[\w.-]+?__[\w.-]+?)(?=[\s,;)]|$)")
_ROW_RE = re.compile(r"^\| `([^`]+)`[^|]*\|([^|]*)\|([^|]*)\|\s*$")


def key(command: str) -> str:
    """The matrix row a command reads under: `/ip route print detail`, `/ip route print as-value (json)`."""
    if re.match(r"^/export\b", command):
        return "/export terse"
    menu = menu_of(command)
    assert menu, f"not a print: {command}"
    if ":serialize" in command:
        return f"/{menu} print as-value (json)"
    form = next((f for f in ("detail", "count-only") if re.search(rf"\bprint\b.*\b{f}\b", command)), "")
    return f"/{menu} print" + (f" {form}" if form else "")


def rows() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for line in MATRIX.read_text().splitlines():
        match = _ROW_RE.match(line)
        if match:
            table[match[1]] = (match[2].strip(), match[3].strip())
    return table


def commands_read() -> set[str]:
    """Every read: the gather's tables (both dialects, JSON and text) and the literals of the senders."""
    found = {VERSION_COMMAND, gather.ROUTE_READ}
    for major in (6, 7):
        for json in (True, False):
            found |= set(gather.commands(major, json=json).values())
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if not any(part in NOT_SENDERS for part in path.relative_to(ROOT).parts):
                found |= {m[1] for m in _READ_RE.finditer(path.read_text())}
    return found


def test_every_read_has_a_row_for_both_versions() -> None:
    table = rows()
    reads = commands_read()
    assert len(reads) > 20  # the gather and the push side were found
    missing = sorted({key(c) for c in reads} - set(table))
    assert not missing, f"add these reads to docs/fidelity.md: {missing}"
    for read, cells in table.items():
        for version, cell in zip(("v6", "v7"), cells, strict=True):
            assert cell, (read, version)
            cited = _CAPTURE_RE.findall(cell)
            assert cited or cell.startswith(("unverified", "n/a")), (read, version, cell)


def test_key_follows_the_read_form() -> None:
    assert key("/ip route print detail without-paging where ospf") == "/ip route print detail"
    as_json = ":put [:serialize to=json [/ip ipsec policy print as-value]]"
    assert key(as_json) == "/ip ipsec policy print as-value (json)"
    assert key('/file print count-only where name="flash"') == "/file print count-only"
    assert key("/export terse hide-sensitive") == "/export terse"


def _exists(name: str) -> bool:
    shared = [SHARED / f"{name}.txt", SHARED / "v7-more" / f"{name}.txt"]
    return any((d / f"{name}.txt").exists() for d in COPIES) or any(p.exists() for p in shared)


def test_captures_named_exist_under_their_version() -> None:
    for read, (v6, v7) in rows().items():
        for version, cell in (("v6", v6), ("v7", v7)):
            for name in _CAPTURE_RE.findall(cell):
                assert _exists(name), (read, name)
                assert name.startswith((version + "__", "unk__")), (read, version, name)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/routeros-samples not available")
def test_every_sample_is_named() -> None:
    named = set(_CAPTURE_RE.findall(MATRIX.read_text()))
    samples = {p.stem for p in SHARED.rglob("*.txt")}
    assert not samples - named, f"name these captures in docs/fidelity.md: {sorted(samples - named)}"
    assert all(_exists(name) for name in named), sorted(n for n in named if not _exists(n))
