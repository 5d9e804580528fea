"""mypy --strict on ikefleet (the lab aside), tasks/ and runbooks/, with pyproject.toml's [tool.mypy]: the
test command runs it, so a change that breaks the types fails like any other test (issue 20)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("ikefleet", "tasks", "runbooks")  # installed as ikefleet, ikefleet.tasks, ikefleet.runbooks


def run_mypy() -> subprocess.CompletedProcess[str]:
    """mypy as a developer runs it from the repository's root (its cache in the git-ignored .mypy_cache)."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )


def test_mypy_strict_passes_on_every_module() -> None:
    proc = run_mypy()
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"mypy --strict reports errors (pyproject.toml [tool.mypy]):\n{output}", pytrace=False)
    # A green run must have read every module: a folder dropped from `packages` (or a broken link in .mypy/)
    # would otherwise pass unchecked.
    found = re.search(r"no issues found in (\d+) source files", output)
    assert found, output
    modules = sum(1 for top in CHECKED for _ in (ROOT / top).rglob("*.py"))
    assert int(found.group(1)) >= modules, f"mypy checked {found.group(1)} files of {modules}:\n{output}"
