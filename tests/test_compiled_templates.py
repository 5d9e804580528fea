"""The templates' compiled code is kept between processes: a second process renders the same scripts without
compiling (issue 22: ~40 ms of every verify), the entries are owner-only under any umask, and a damaged or
unwritable cache costs a compile, never the run."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import write_inventory
from jinja2 import Environment

from ikefleet import intent
from ikefleet.fleet import Fleet
from ikefleet.inventory import load_inventory
from ikefleet.plan import Plan, build_plan

HOSTS = ("R1", "R2")  # the seed's responder and initiator: all four v6 templates


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Fleet, Plan]:
    loaded = load_inventory(write_inventory(tmp_path / "fleet"))
    return loaded, build_plan(loaded)


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache of its own, and intent's environment built afresh before and after (a new process's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    intent.environment.cache_clear()
    yield tmp_path / "cache"
    intent.environment.cache_clear()


def _render(fleet: tuple[Fleet, Plan]) -> list[str]:
    intent.environment.cache_clear()  # as a new process: nothing compiled in memory
    return [intent.render_host(*fleet, host) for host in HOSTS]


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a template was compiled")

    monkeypatch.setattr(Environment, "compile", refuse)


def _entries(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "ikefleet" / "templates").glob("*.jinja"))


def test_a_second_process_renders_the_same_scripts_without_compiling(
    fleet: tuple[Fleet, Plan], cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _render(fleet)
    assert len(_entries(cache_home)) == 3  # _common, initiator, responder
    _no_compiling(monkeypatch)
    assert _render(fleet) == compiled


def test_entries_are_owner_only_under_any_umask(fleet: tuple[Fleet, Plan], cache_home: Path) -> None:
    old = os.umask(0)
    try:
        _render(fleet)
    finally:
        os.umask(old)
    assert stat.S_IMODE((cache_home / "ikefleet" / "templates").stat().st_mode) == 0o700
    assert {stat.S_IMODE(e.stat().st_mode) for e in _entries(cache_home)} == {0o600}


def test_a_damaged_entry_is_compiled_again_and_replaced(
    fleet: tuple[Fleet, Plan], cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _render(fleet)
    for entry in _entries(cache_home):
        entry.write_bytes(entry.read_bytes()[:40])  # cut short after the magic
    assert _render(fleet) == compiled
    _no_compiling(monkeypatch)  # the entries were written again, whole
    assert _render(fleet) == compiled


def test_an_unwritable_cache_still_renders(
    fleet: tuple[Fleet, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the directory should be
    try:
        first = _render(fleet)
        assert _render(fleet) == first
    finally:
        intent.environment.cache_clear()


def test_other_environment_options_use_other_entries(tmp_path: Path) -> None:
    from ikefleet.compiled_templates import CompiledTemplates

    tags = {CompiledTemplates(options).tag
            for options in (intent.OPTIONS, {**intent.OPTIONS, "trim_blocks": False})}
    assert len(tags) == 2
