"""ikefleet uses netmiko through its public API: no `_private` method or attribute of netmiko's
connection classes is touched, except by ikefleet's own subclass of the RouterOS driver (a subclass may
call the hooks it inherits)."""

from __future__ import annotations

import ast
from pathlib import Path

from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsSSH

ROOT = Path(__file__).resolve().parent.parent
SUBCLASS = Path("ikefleet/connection/driver.py")


def private_names() -> set[str]:
    return {name for name in dir(MikrotikRouterOsSSH) if name.startswith("_") and not name.startswith("__")}


def private_uses(root: Path) -> list[str]:
    """`file:line: .name` for every attribute access to a private netmiko name outside the driver subclass."""
    names, found = private_names(), []
    for folder in ("ikefleet", "tasks", "runbooks"):
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root)
            if relative == SUBCLASS or relative.parts[:2] == ("ikefleet", "lab"):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in names:
                    found.append(f"{relative}:{node.lineno}: .{node.attr}")
    return found


def test_netmiko_has_private_names_to_look_for() -> None:
    assert {"_open", "_modify_connection_params", "_sanitize_output"} <= private_names()


def test_no_private_netmiko_api_outside_the_driver_subclass() -> None:
    assert private_uses(ROOT) == []
