"""Benchmark: console lines (round trips) of a hub's first push, packed as before and with each command's
place printed before it (`routeros.console.stepped`: a refused command is named), on v6 (1,000-character
lines) and v7 (450). Counts, not times: a round trip costs what the link costs.

Run: .venv/bin/python bench/push_lines.py [BRANCHES]   (default 60: the EoIP pool of the test inventory)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fleet_factory import branch, hub, write_inventory

from ikefleet.connection.session import SAFE_MODE_BATCH
from ikefleet.diff import remediate
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.plan import build_plan
from ikefleet.routeros.console import MAX_V6_LINE, MAX_V7_LINE, pack, stepped
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script


def main(branches: int) -> None:
    hosts = {"R1": hub(), **{f"R{n}": branch(n) for n in range(2, branches + 2)}}
    fleet = load_inventory(write_inventory(Path(tempfile.mkdtemp()) / "fleet", hosts=hosts))
    intended = parse_script(render_host(fleet, build_plan(fleet), "R1"))
    commands = remediate(parse_script(""), intended, load_schema(6)).commands
    windows = [commands[i : i + SAFE_MODE_BATCH] for i in range(0, len(commands), SAFE_MODE_BATCH)]
    for limit in (MAX_V6_LINE, MAX_V7_LINE):
        plain = sum(len(pack(w, limit)) for w in windows)
        marked = sum(len(stepped(w, limit)) for w in windows)
        print(f"push_lines_{limit}: hub of {branches} branches, {len(commands)} commands: {plain} lines "
              f"packed, {marked} with places printed ({marked / plain - 1:+.0%})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
