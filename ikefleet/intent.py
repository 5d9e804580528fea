"""A host's intended configuration: the RouterOS 6.49 script rendered from `templates/*.j2`.

`render_host(fleet, plan, host)` gives the full script (export-style: section headers, one `add`/`set` per
line, arguments sorted by name); `intended_lines(...)` gives the same as data for the diff engine.
Certificates are not created here (the PKI step does it); the script only refers to the plan's names.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ikefleet.inventory import Fleet
from ikefleet.plan import Plan
from ikefleet.routeros.config import Config
from ikefleet.routeros.schema import load_schema, normalize_value
from ikefleet.validate import parse_host_address

OWNER = "ikefleet"  # comment=ikefleet marks items ikefleet manages
# Menus whose items have no comment field in 6.49 (as far as we know): ikefleet owns these items by the
# names in the plan / defaults (policy group, proposal, profile, one mode-config per branch).
UNMARKED_MENUS = frozenset({"/ip ipsec policy group", "/ip ipsec proposal", "/ip ipsec profile",
                            "/ip ipsec mode-config"})
_BARE = re.compile(r"^[A-Za-z0-9._:/,@+*-]+$")


def ros_value(value: Any) -> str:
    """A value as RouterOS export writes it: bare when safe, else double-quoted with \\ escapes."""
    text = str(value)
    if _BARE.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("?", "\\?")
    return f'"{escaped}"'


def ros_args(args: dict[str, Any], owned: bool = True) -> str:
    """`key=value ...` sorted by key (RouterOS 6 export order); None values are left out."""
    values = {k: v for k, v in args.items() if v is not None}
    if owned:
        values["comment"] = OWNER
    return " ".join(f"{k}={ros_value(v)}" for k, v in sorted(values.items()))


@cache
def environment() -> Environment:
    root = resources.files("ikefleet.templates")
    env = Environment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ros_args"] = ros_args
    return env


def ntp_settings(servers: tuple[str, ...]) -> dict[str, str]:
    """6.49 `/system ntp client`: up to two addresses as primary/secondary-ntp, names in server-dns-names."""
    addresses = [s for s in servers if parse_host_address(s)]
    names = [s for s in servers if not parse_host_address(s)]
    settings = {"enabled": "yes"}
    for key, value in zip(("primary-ntp", "secondary-ntp"), addresses, strict=False):
        settings[key] = value
    if names:
        settings["server-dns-names"] = ",".join(names)
    return settings


def ros_major(version: str | None) -> int:
    """The RouterOS major version of an inventory `ros_version` ("7.16.1" -> 7); 6 when unknown."""
    if not version:
        return 6
    return int(str(version).split(".")[0])


def host_major(fleet: Fleet, host: str) -> int:
    """The RouterOS major version `host` runs, by its inventory `ros_version` (6 when not given)."""
    return ros_major(fleet.site(host).ros_version)


def render_host(fleet: Fleet, plan: Plan, host: str) -> str:
    """The full script `host` should run (KeyError for an unknown host); v7 hosts get `templates/v7/`."""
    site = fleet.site(host)
    folder = "v7/" if ros_major(site.ros_version) >= 7 else ""
    context: dict[str, Any] = {
        "fleet": fleet,
        "plan": plan,
        "site": site,
        "hub": plan.hub,
        "ntp_settings": ntp_settings(fleet.defaults.ntp_servers),
    }
    if site.is_hub:
        template = "responder.rsc.j2"
        context["certificate_names"] = [plan.hub.ca_certificate, plan.hub.server_certificate,
                                        *(b.client_certificate for b in plan.branches)]
    else:
        template = "initiator.rsc.j2"
        branch = plan.branch(host)
        context["branch"] = branch
        context["certificate_names"] = [plan.hub.ca_certificate, plan.hub.server_certificate,
                                        branch.client_certificate]
    return environment().get_template(folder + template).render(context)


@dataclass(frozen=True)
class ScriptLine:
    """One configuration line of a rendered script: `/path` + `add`/`set` [selector] + arguments."""

    path: str
    command: str
    args: dict[str, str] = field(default_factory=dict)
    selector: str = ""


_SELECTOR = re.compile(r"^(\[ [^\]]* \])\s*")


def parse_script(text: str) -> list[ScriptLine]:
    """Export-style script text -> lines as data (comments and blank lines skipped)."""
    lines: list[ScriptLine] = []
    path = "/"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("/"):
            path = line
            continue
        command, _, rest = line.partition(" ")
        selector = ""
        found = _SELECTOR.match(rest)
        if found:
            selector, rest = found.group(1), rest[found.end():]
        args = {}
        for word in shlex.split(rest.replace("\\$", "$").replace("\\?", "?"), posix=True):
            key, _, value = word.partition("=")
            args[key] = value
        lines.append(ScriptLine(path=path, command=command, args=args, selector=selector))
    return lines


def intended_lines(fleet: Fleet, plan: Plan, host: str) -> list[ScriptLine]:
    """`render_host` as data: what the diff engine compares a router's configuration against."""
    return parse_script(render_host(fleet, plan, host))


def lines_to_config(lines: list[ScriptLine], major: int = 6) -> Config:
    """Script lines as a `Config` (path -> items), values normalised by the menu schema the way RouterOS
    stores them, so they compare equal to a router's configuration. `set [ find default=yes ]` gives a
    `default=True` item; a plain `set` the menu's single settings item."""
    schema = load_schema(major)
    config = Config()
    for line in lines:
        menu = schema.menu(line.path)
        values = {}
        for key, value in line.args.items():
            if key != "comment":
                values[key] = normalize_value(menu.field(key), value)
        config.add(line.path, values, comment=line.args.get("comment", ""),
                   default=line.selector == "[ find default=yes ]")
    return config


def intended_config(fleet: Fleet, plan: Plan, host: str) -> Config:
    """The host's intended configuration as a `Config` (see `lines_to_config`)."""
    return lines_to_config(intended_lines(fleet, plan, host), host_major(fleet, host))


__all__ = [
    "OWNER",
    "UNMARKED_MENUS",
    "ScriptLine",
    "host_major",
    "intended_config",
    "intended_lines",
    "lines_to_config",
    "parse_script",
    "render_host",
    "ros_args",
    "ros_major",
    "ros_value",
]
