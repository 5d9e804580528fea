"""Shared fixtures: labs (simulated RouterOS routers over real SSH on loopback) and a tiny stand-in console.

`lab` serves routers with the real console engine when it exists; `fake_lab` always uses `FakeSession`,
which knows a handful of commands and lets SSH-layer tests stay independent of the engine's output format.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import converge

from ikefleet.lab.clock import TIME_SCALE_ENV
from ikefleet.lab.manager import Lab
from ikefleet.lab.router import Router
from ikefleet.lab.sshd import ConsoleSession, SessionFactory, engine_session_factory
from ikefleet.routeros.config import Config

# Key generation in every lab, console and router the tests make (and `ikefleet lab up` they start) takes
# 1/1000 of a real router's time (ikefleet/routeros/keygen_timing.yaml): real waits, kept short. Tests of the
# timing itself pass their own `time_scale`.
TEST_TIME_SCALE = "0.001"
os.environ.setdefault(TIME_SCALE_ENV, TEST_TIME_SCALE)

HAVE_ENGINE = importlib.util.find_spec("ikefleet.lab.engine") is not None


class FakeSession:
    """Stand-in for `ikefleet.lab.engine.Session`: identity, `/ip address`, `/file`, resource, safe mode."""

    def __init__(self, router: Router, user: str, width: int = 80) -> None:
        self.router, self.user, self.width = router, user, width
        self.safe: Config | None = None

    @property
    def prompt(self) -> str:
        name = next(iter(self.router.config.find("/system identity")), None)
        identity = name.get("name") if name else self.router.name
        return f"[{self.user}@{identity}] {'<SAFE>' if self.safe else '>'} "

    def execute(self, line: str, refuse: tuple[str, str] | None = None) -> str:
        line = line.strip()
        if refuse is not None and re.search(refuse[0], line):  # one statement per line here
            return refuse[1]
        if m := re.fullmatch(r"/?system identity set name=(\S+)", line):
            items = self.router.config.items("/system identity")
            items.clear()
            self.router.config.add("/system identity", {"name": m[1]})
            self.router.changed()
            return ""
        if line in ("/system identity print", "system identity print"):
            return f"  name: {self.prompt.split('@')[1].split(']')[0]}"
        if m := re.fullmatch(r"/?ip address add address=(\S+) interface=(\S+)", line):
            self.router.config.add("/ip address", {"address": m[1], "interface": m[2]})
            self.router.changed()
            return ""
        if re.fullmatch(r"/?ip address print( without-paging)?", line):
            rows = [f" {i} {it.get('address')} {it.get('interface')}"
                    for i, it in enumerate(self.router.config.items("/ip address"))]
            return "\n".join(["Flags: X - disabled, I - invalid, D - dynamic", *rows])
        if m := re.fullmatch(r'/?file print detail where name="([^"]+)"', line):
            if not self.router.files.exists(m[1]):
                return ""
            size = len(self.router.files.read(m[1]))
            return f' 0 name="{m[1]}" type=".txt file" size={size} creation-time=jan/02/1970 00:00:00'
        if line in ("system resource print without-paging", "/system resource print without-paging"):
            return "             uptime: 1h\n        free-memory: 900.0MiB\n       total-memory: 1024.0MiB"
        word = line.lstrip("/").split(" ")[0]
        return f"bad command name {word} (line 1 column {line.find(word) + 1})"

    def toggle_safe_mode(self) -> str:
        if self.safe is None:
            self.safe = copy.deepcopy(self.router.config)
            return "[Safe Mode taken]"
        self.safe = None
        return "[Safe Mode released]"

    def close(self, dropped: bool) -> None:
        if dropped and self.safe is not None:
            self.router.config = self.safe
            self.router.changed()
        self.safe = None


def fake_session_factory(router: Router, user: str, width: int) -> ConsoleSession:
    return FakeSession(router, user, width)


def console_factory() -> SessionFactory:
    """The real engine once it exists, the fake until then."""
    return engine_session_factory if HAVE_ENGINE else fake_session_factory


@pytest.fixture(scope="module")
def fake_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A hub and two branches served with `FakeSession` (SSH-layer behaviour only)."""
    with Lab.start(tmp_path_factory.mktemp("fakelab"), branches=2, session_factory=fake_session_factory,
                   convergence_delay=0.05) as lab:
        yield lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A hub and two branches with the real console engine (or the fake until the engine exists)."""
    with Lab.start(tmp_path_factory.mktemp("lab"), branches=2, session_factory=console_factory(),
                   convergence_delay=0.05) as lab:
        yield lab


@pytest.fixture(scope="session")
def console() -> SessionFactory:
    """The console the `lab` fixture uses: the real engine once it exists, `FakeSession` until then."""
    return console_factory()


@pytest.fixture(scope="session")
def fake_console() -> SessionFactory:
    """The `FakeSession` factory, for tests that start their own `Lab`."""
    return fake_session_factory


@pytest.fixture
def converged(lab: Lab) -> Lab:
    """The module's `lab` rolled out and compliant, whatever the test before left (faults cleared)."""
    converged_lab: Lab = converge(lab)
    return converged_lab


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    return tmp_path / "lab"
