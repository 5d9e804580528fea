"""Recorded batch replies of a converged hub + 3 branches (tests/verify/data), turned into HostStates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ikefleet.inventory import load_inventory
from ikefleet.plan import build_plan
from ikefleet.routeros.console import split_sections
from ikefleet.verify.checks import router_time
from ikefleet.verify.engine import Report, evaluate
from ikefleet.verify.expected import Expected, expected_state
from ikefleet.verify.gather import HostState, parse_sections

DATA = Path(__file__).parent / "data"
HOSTS = ("hub", "br1", "br2", "br3")


def expected() -> Expected:
    fleet = load_inventory(DATA / "config.yaml")
    return expected_state(fleet, build_plan(fleet))


def raw(host: str) -> str:
    return (DATA / f"{host}.txt").read_text()


def state(host: str, edit: Callable[[str], str] | None = None) -> HostState:
    text = raw(host)
    s = parse_sections(host, split_sections(edit(text) if edit else text))
    s.read_at = router_time(s)  # the recording's own clock: no drift
    return s


def report(edits: dict[str, Callable[[str], str]] | None = None, **states: HostState) -> Report:
    edits = edits or {}
    all_states = {h: states.get(h) or state(h, edits.get(h)) for h in HOSTS}
    return evaluate(expected(), all_states)
