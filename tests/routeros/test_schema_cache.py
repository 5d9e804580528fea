"""The menu schema's JSON cache gives exactly the YAML's data, survives a corrupt cache file, and the
remembered normalisation answers as the computation does (refusals included)."""

from __future__ import annotations

import os
import stat
from importlib import resources
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ikefleet.routeros import schema


def _yaml_data(major: int) -> list[tuple[str, object]]:
    base = resources.files("ikefleet.routeros") / "menus" / f"v{major}"
    yaml = YAML(typ="safe", pure=True)
    entries = sorted((e for e in base.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    return [(e.name, yaml.load(e.read_text(encoding="utf-8"))) for e in entries]


@pytest.mark.parametrize("major", [6, 7])
def test_cached_menu_data_is_the_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, major: int) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    base = resources.files("ikefleet.routeros") / "menus" / f"v{major}"
    first = schema._menu_files(base)  # loads the YAML, writes the cache
    cached = list((tmp_path / "ikefleet").glob("menus-*.json"))
    assert len(cached) == 1
    assert schema._menu_files(base) == first == _yaml_data(major)  # second read from the cache
    cached[0].write_text("{not json", encoding="utf-8")  # a corrupt cache is ignored and rewritten
    assert schema._menu_files(base) == first


def test_unwritable_cache_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the directory should be
    base = resources.files("ikefleet.routeros") / "menus" / "v6"
    assert schema._menu_files(base) == _yaml_data(6)


def test_remembered_normalisation_matches_and_refuses_alike() -> None:
    menu = schema.load_schema(6).menu("/ip ipsec peer")
    cases = (("passive", "true", "yes"), ("port", "0x1f4", "500"), ("address", "10.0.0.7", None))
    for name, raw, stored in cases:
        fld = menu.fields[name]
        first = schema.normalize_value(fld, raw)
        assert first == schema.normalize_value(fld, raw) == schema._normalize(fld, raw)  # second from memo
        assert stored is None or first == stored
    for _ in range(2):  # a refused value is refused every time (refusals are not remembered)
        with pytest.raises(schema.ValueProblem):
            schema.normalize_value(menu.fields["passive"], "maybe")


def test_the_cache_is_owner_only_under_any_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ikefleet writes is owner-only (README), its cache too: a umask-000 shell makes no 0666 entry."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    old = os.umask(0)
    try:
        schema._menu_files(resources.files("ikefleet.routeros") / "menus" / "v7")
    finally:
        os.umask(old)
    (cached,) = (tmp_path / "ikefleet").glob("menus-*.json")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert stat.S_IMODE(cached.parent.stat().st_mode) == 0o700
    assert not list(cached.parent.glob("*.tmp")) and not list(cached.parent.glob(".*.tmp"))


def test_a_field_s_stored_forms_are_its_own_and_go_with_it() -> None:
    """The memo of stored forms lives on the field: a field made for one value (the lab's `disabled`) is
    freed with its memo, and two fields of the same name and type never share one."""
    import gc
    import weakref

    first = schema.Field("x", "bool", "no")
    assert schema.normalize_value(first, "true") == "yes"
    assert first.stored_forms == {"true": "yes"}
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None  # (a table keyed by the field's id kept every such field alive)
    other = schema.Field("x", "time", "0s")
    assert schema.normalize_value(other, "00:30:00") == "30m"
    assert other.stored_forms == {"00:30:00": "30m"}
