"""The folders show the flow (inventory -> plan -> intent -> diff -> push -> gather -> parse -> checks ->
report): a step imports only what comes before it or shared RouterOS knowledge (`ikefleet/routeros/`), so
the push side can be read, changed and reused without the verify side, and the intent without the diff.
Imports are read from the AST, at module and at function level alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Installed names of the top-level folders (pyproject.toml's package-dir).
PACKAGES = {"ikefleet": "ikefleet", "tasks": "ikefleet.tasks", "runbooks": "ikefleet.runbooks"}

# The push side: what renders, diffs and pushes a router's configuration and its certificates. It runs
# before verify and must work (and be reusable) without it.
PUSH_MODULES = (
    "ikefleet/connection/opening.py",
    "ikefleet/connection/session.py",
    "ikefleet/diff.py",
    "ikefleet/intent.py",
    "tasks/converge.py",
    "tasks/pki.py",
    "tasks/device.py",
    "tasks/version.py",
)
# Not listed: runbooks/*.py. A runbook composes push tasks and verify's checks: the rollout's gate must run
# verify's own reads and checks (issue 17.8), so a wave that passes it is followed by a clean verify.
# tasks/gather.py and tasks/state.py are verify's reads as Nornir tasks (the gate's), not push modules.
# file -> packages it must not import (a package stands for everything under it).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    **{path: ("ikefleet.verify",) for path in PUSH_MODULES},
    # The intent is what the diff compares against: it comes first and never needs the diff.
    "ikefleet/intent.py": ("ikefleet.verify", "ikefleet.diff"),
}
# The lab stands in for real routers: only its command line (`ikefleet lab`) and the tests may import it,
# so nothing ikefleet does on a real router can depend on it.
LAB_USERS = ("ikefleet/lab/", "ikefleet/cli/")
PRODUCT = sorted(
    str(file.relative_to(ROOT)) for top in PACKAGES for file in (ROOT / top).rglob("*.py")
    if not str(file.relative_to(ROOT)).startswith(LAB_USERS)
)
for _path in PRODUCT:
    FORBIDDEN[_path] = (*FORBIDDEN.get(_path, ()), "ikefleet.lab")


def module_name(path: str) -> str:
    top, *rest = Path(path).with_suffix("").parts
    return ".".join([PACKAGES[top], *rest])


def imported(source: str, module: str) -> set[str]:
    """Every module (and `from` package's name) `source` imports, anywhere in it, relative ones resolved
    against `module`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(path: str) -> list[str]:
    found = imported((ROOT / path).read_text(), module_name(path))
    return sorted(name for name in found for banned in FORBIDDEN[path]
                  if name == banned or name.startswith(banned + "."))


@pytest.mark.parametrize("path", sorted(FORBIDDEN))
def test_flow_only_goes_forward(path: str) -> None:
    assert (ROOT / path).is_file(), f"{path} is gone: update FORBIDDEN"
    assert violations(path) == [], f"{path} imports a later step of the flow"


def test_imports_are_found_anywhere_in_any_form() -> None:
    """The reader itself: function-level, relative and `from package import module` imports all count."""
    source = '''
import os
def f():
    from ..verify.gather import marked
def g():
    from ikefleet import verify
    import ikefleet.diff as d
'''
    names = imported(source, "ikefleet.tasks.version")
    assert {"ikefleet.verify.gather.marked", "ikefleet.verify", "ikefleet.diff", "os"} <= names


# What reaching a router takes lives in ikefleet/connection/; it stands on these shared modules only, so a
# session can be opened and read without anything above it (inventory, intent, diff, tasks, runbooks).
CONNECTION_MAY_IMPORT = ("ikefleet.connection", "ikefleet.interrupt", "ikefleet.parsers", "ikefleet.private",
                         "ikefleet.problems", "ikefleet.redact", "ikefleet.routeros")


def test_the_connection_folder_imports_only_itself_and_shared_modules() -> None:
    outside: dict[str, list[str]] = {}
    for file in sorted((ROOT / "ikefleet" / "connection").glob("*.py")):
        path = str(file.relative_to(ROOT))
        ours = {name for name in imported(file.read_text(), module_name(path))
                if name == "ikefleet" or name.startswith(("ikefleet.", "tasks", "runbooks"))}
        bad = sorted(name for name in ours if name != "ikefleet"
                     and not any(name == ok or name.startswith(ok + ".") for ok in CONNECTION_MAY_IMPORT))
        if bad:
            outside[path] = bad
    assert len(list((ROOT / "ikefleet" / "connection").glob("*.py"))) >= 10  # the folder was found
    assert outside == {}
