"""Golden tests, pyATS-style: every real capture beside the records it must parse to.

`golden/<sample>.txt` is the capture byte for byte (line 1 is the command or a `# (...)` note);
`golden/<sample>.expected.json` names the command and holds the expected records (or the error reply).
Set IKEFLEET_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change, then review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ikefleet.parsers import detect_error, parse_generic, parse_generic_settings, parser_for
from ikefleet.parsers.values import SECRET_FIELDS

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.expected.json"))
UPDATE = os.environ.get("IKEFLEET_UPDATE_GOLDEN") == "1"


def sample_text(case: dict[str, Any], expected_path: Path) -> str:
    name = case.get("sample") or expected_path.name.removesuffix(".expected.json")
    with open(GOLDEN / f"{name}.txt", encoding="utf-8", newline="") as handle:
        text = handle.read()
    if "lines" in case:
        first, last = case["lines"]
        return "".join(text.splitlines(keepends=True)[first - 1 : last])
    head, _, rest = text.partition("\n")
    return rest if head.startswith("# (") else text


def actual(case: dict[str, Any], text: str) -> Any:
    if "error" in case:
        error = detect_error(text)
        return dataclasses.asdict(error) if error else None
    if case.get("generic") == "settings":
        return parse_generic_settings(text, case["command"])
    if case.get("generic"):
        return parse_generic(text, case["command"])
    parser = parser_for(case["command"])
    assert parser is not None, f"no parser for {case['command']}"
    return parser(text)


@pytest.mark.parametrize("path", CASES, ids=[p.name.removesuffix(".expected.json") for p in CASES])
def test_golden(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    result = json.loads(json.dumps(actual(case, sample_text(case, path)), ensure_ascii=False))
    key = "error" if "error" in case else "records"
    if UPDATE:
        case[key] = result
        text = json.dumps(case, indent=1, sort_keys=True, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
    assert result == case[key]


def test_every_sample_has_an_expected_file() -> None:
    samples = {p.stem for p in GOLDEN.glob("*.txt")}
    covered = {
        json.loads(p.read_text()).get("sample") or p.name.removesuffix(".expected.json") for p in CASES
    }
    assert samples == covered


def _keys(value: Any) -> set[str]:
    """Keys holding data (a boolean `private_key` flag says a key exists; it is not key material)."""
    if isinstance(value, dict):
        own = {k for k, v in value.items() if not isinstance(v, bool)}
        return own | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.mark.parametrize("path", CASES, ids=[p.name.removesuffix(".expected.json") for p in CASES])
def test_no_secret_survives_parsing(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    if "error" in case:
        return
    records = actual(case, sample_text(case, path))
    keys = {k.replace("_", "-").lstrip(".") for k in _keys(records)}
    assert not keys & SECRET_FIELDS
    dumped = json.dumps(records)
    # masked secrets in the captures (same-length X runs) and the author's placeholder password
    assert "XXXXXXXX" not in dumped and "your_pw" not in dumped
