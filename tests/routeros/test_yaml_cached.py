"""The YAML data files a verify reads (menu schemas, menus/rules.yaml, checks.yaml) are kept as JSON in the
user's cache: the next process reads JSON, gets the same data, and never data JSON would change."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ikefleet.routeros import schema
from ikefleet.verify import engine


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "ikefleet"


def _counting(calls: list[str]) -> Any:
    def load(text: str) -> Any:
        calls.append(text)
        return YAML(typ="safe", pure=True).load(text)
    return load


def test_the_second_read_is_the_cache_s_and_the_same_data(cache_home: Path) -> None:
    calls: list[str] = []
    texts = [("a.yaml", "order: [x, y]\nnested: {k: 1, f: 1.5, t: true, n: null}\n")]
    first = schema.yaml_cached("demo", texts, _counting(calls))
    second = schema.yaml_cached("demo", texts, _counting(calls))
    data = {"order": ["x", "y"], "nested": {"k": 1, "f": 1.5, "t": True, "n": None}}
    assert first == second == [("a.yaml", data)]
    assert len(calls) == 1
    (kept,) = cache_home.glob("demo-*.json")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # an edited text is another entry, not the old data
    edited = schema.yaml_cached("demo", [("a.yaml", "order: [z]\n")], _counting(calls))
    assert edited == [("a.yaml", {"order": ["z"]})]


def test_data_json_would_change_is_not_kept(cache_home: Path) -> None:
    calls: list[str] = []
    texts = [("a.yaml", "1: one\n")]  # an int key: JSON would give back "1"
    for _ in range(2):
        assert schema.yaml_cached("demo", texts, _counting(calls)) == [("a.yaml", {1: "one"})]
    assert len(calls) == 2
    assert not list(cache_home.glob("demo-*.json"))


def test_rules_and_checks_from_the_cache_are_the_files(cache_home: Path) -> None:
    rules_text = (Path(schema.__file__).parent / "menus" / schema.RULES_FILE).read_text(encoding="utf-8")
    from_yaml = schema.parse_rules(YAML(typ="safe", pure=True).load(rules_text))
    checks_before = engine._checks()
    for _ in range(2):  # the first loads the YAML and keeps it, the second reads the cache
        schema.load_rules.cache_clear()
        engine._checks.cache_clear()
        assert schema.load_rules() == from_yaml
        assert engine._checks() == checks_before
    assert len(list(cache_home.glob("rules-*.json"))) == len(list(cache_home.glob("checks-*.json"))) == 1
