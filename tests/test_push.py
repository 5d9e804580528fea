"""Pushing several commands per console line: fewer round trips, the same router afterwards, and a refused
command stops its line there (RouterOS runs a line's commands one by one until one fails), so safe mode
and the restore see the same partial change as with one command per line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import branch, hub, write_inventory
from hypothesis import given
from hypothesis import strategies as st

from ikefleet.connection.session import DeviceError
from ikefleet.diff import remediate
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.parsers.errors import detect_error
from ikefleet.plan import build_plan
from ikefleet.routeros.console import MAX_V6_LINE, MAX_V7_LINE, pack, stepped
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script
from ikefleet.tasks.converge import PushFailed, _push

SCHEMA = load_schema(6)


@given(st.lists(st.text(alphabet="abc =/", min_size=1, max_size=120), max_size=40),
       st.integers(min_value=20, max_value=500))
def test_pack_keeps_order_and_the_limit(commands: list[str], limit: int) -> None:
    lines = pack(commands, limit)
    assert [c for line in lines for c in line] == commands
    for line in lines:
        assert len("; ".join(line)) <= limit or len(line) == 1  # a longer command has a line of its own


class Console:
    """A Device over a lab console: counts round trips, raises on RouterOS errors like Device.send."""

    def __init__(self, session: Session) -> None:
        self.session, self.lines = session, 0
        self.refuse: tuple[str, str] | None = None

    def send(self, line: str) -> str:
        self.lines += 1
        out = self.session.execute(line, self.refuse)
        if detect_error(out) is not None:
            raise DeviceError("R1", line, out, out)
        return out

    @contextmanager
    def safe_mode_window(self) -> Iterator[None]:
        yield


def hub_router(tmp_path: Path, branches: int) -> tuple[Session, Any]:
    """A factory hub and its intended configuration for `branches` branches."""
    hosts = {"R1": hub(), **{f"R{n}": branch(n) for n in range(2, branches + 2)}}
    fleet = load_inventory(write_inventory(tmp_path / "fleet", hosts=hosts))
    intended = parse_script(render_host(fleet, build_plan(fleet), "R1"))
    spec = RouterSpec("R1", "responder", "127.0.0.1", 1, "admin", "pw", "203.0.113.1/24", "192.168.1.0/24")
    session = Session(Router(spec, tmp_path / "R1", config=initial_config(spec)), "admin", width=250)
    for name in ["ca", "hub-server", *(f"R{n}-client" for n in range(2, branches + 2))]:
        assert session.execute(f"/certificate add name={name} common-name={name}") == ""
    return session, intended


@pytest.mark.parametrize("major", [6, 7])
def test_packed_push_converges_in_fewer_round_trips(tmp_path: Path, major: int) -> None:
    session, intended = hub_router(tmp_path, 8)
    commands = remediate(parse_script(session.execute("/export terse")), intended, SCHEMA).commands
    console, sent = Console(session), [0]
    _push(console, commands, lambda: None, sent, major)  # type: ignore[arg-type]
    assert not remediate(parse_script(session.execute("/export terse")), intended, SCHEMA)
    assert sent[0] == len(commands)
    limit = MAX_V7_LINE if major >= 7 else MAX_V6_LINE
    # each command after its place in the line (names a refusal): a few more lines than `pack`'s
    assert console.lines == len(stepped(commands[:80], limit)) + len(stepped(commands[80:], limit))
    assert len(pack(commands[:80], limit)) <= len(stepped(commands[:80], limit))
    assert console.lines * (3 if major < 7 else 2) < len(commands)  # one round trip per command before


def test_a_refused_command_stops_its_line_there(tmp_path: Path) -> None:
    session, intended = hub_router(tmp_path, 2)
    commands = remediate(parse_script(session.execute("/export terse")), intended, SCHEMA).commands
    target = next(i for i, c in enumerate(commands) if c.startswith("/interface eoip add"))
    first_line = stepped(commands, MAX_V6_LINE)[0]
    assert 0 < target < len(first_line) - 1, "the refused command sits inside the first packed line"
    console = Console(session)
    console.refuse = ("^/interface eoip add", "failure: simulated")
    with pytest.raises(PushFailed, match="simulated") as refused:
        _push(console, commands, lambda: None, [0], 6)  # type: ignore[arg-type]
    assert refused.value.command == commands[target]  # issue 21.7: the refused command, not its line
    after = parse_script(session.execute("/export terse"))
    assert console.lines == 1
    # the commands before the refused one ran, the refused one and those after it in its line did not
    assert commands[0].startswith("/interface bridge add") and "ipsec" in {
        i.values.get("name") for i in after.items("/interface bridge")}
    assert not after.items("/interface eoip")
    later = commands[target + 1 : len(first_line)]
    assert any(c.startswith("/ip ipsec policy group add") for c in later)
    assert not after.items("/ip ipsec policy group")


def test_a_runtime_error_mid_line_keeps_what_ran_before_it(tmp_path: Path) -> None:
    session, _ = hub_router(tmp_path, 1)
    out = session.execute("/interface bridge add name=first; /ip address add address=192.0.2.1/24 "
                          "interface=no-such; /interface bridge add name=second")
    assert detect_error(out) is not None
    bridges = parse_script(session.execute("/export terse")).items("/interface bridge")
    names = {i.values.get("name") for i in bridges}
    assert "first" in names and "second" not in names
