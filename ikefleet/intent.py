"""A host's intended configuration: the RouterOS 6.49 script rendered from `templates/*.j2`.

`render_host(fleet, plan, host)` gives the full script (export-style: section headers, one `add`/`set` per
line, arguments sorted by name, quoted by `ikefleet.routeros.quoting`); `intended_lines(...)` gives its
commands and `intended_config(...)` its items, both read by the one RouterOS script parser
(`ikefleet.routeros.script`), the latter with values normalised to the form RouterOS stores.
Certificates are not created here (the PKI step does it); the script only refers to the plan's names.
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ikefleet.compiled_templates import CompiledTemplates
from ikefleet.fleet import Fleet
from ikefleet.plan import Plan
from ikefleet.routeros.config import Config
from ikefleet.routeros.quoting import quote
from ikefleet.routeros.schema import load_schema, normalize_value
from ikefleet.routeros.script import Command, parse_commands, parse_script
from ikefleet.validate import parse_host_address

OWNER = "ikefleet"  # comment=ikefleet marks items ikefleet manages
# Items of menus without a comment field (the menu rules' `unmarked`) are ikefleet's when only marked items
# name them: see `ikefleet.diff.ownership`.


def ros_args(args: dict[str, Any], owned: bool = True) -> str:
    """`key=value ...` sorted by key (RouterOS 6 export order); None values are left out."""
    printed = [(k, v if v.__class__ is str else str(v)) for k, v in args.items() if v is not None]
    return _ros_args(tuple(printed), owned)


@lru_cache(maxsize=8192)
def _ros_args(pairs: tuple[tuple[str, str], ...], owned: bool) -> str:
    """ros_args of the values as printed, remembered: most lines of a fleet's scripts are alike on every
    router (the firewall, the proposal, the filters), and each router's script is rendered once a verify."""
    values = dict(pairs)
    if owned:
        values["comment"] = OWNER
    return " ".join([f"{k}={quote(v)}" for k, v in sorted(values.items())])


class ExportLines:
    """The templates' export-style lines (`export.add`, `export.set`), arguments sorted by name as RouterOS
    6 `/export` prints them; `owned` adds comment=ikefleet, the ownership marker the diff engine looks for.
    Python rather than Jinja macros: a macro call sets up a template frame, and every line of every
    router's script is one."""

    @staticmethod
    def add(args: dict[str, Any], owned: bool = True) -> str:
        return "add " + ros_args(args, owned)

    @staticmethod
    def set(args: dict[str, Any], selector: str = "") -> str:
        return "set " + (f"{selector} " if selector else "") + ros_args(args, False)


# How the templates are read; the compiled-template cache keys its entries on these (they change the code).
OPTIONS: dict[str, Any] = {
    "undefined": StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,
    "auto_reload": False,  # the templates ship with the package: no stat of each file on every render
    # Jinja's constant folding finds nothing to fold in these templates (the code it generates is the
    # same without it) and running it cost every verify ~2.5 ms of compiling them
    "optimized": False,
}


@cache
def environment() -> Environment:
    root = resources.files("ikefleet.templates")
    env = Environment(loader=FileSystemLoader(str(root)),
                      bytecode_cache=CompiledTemplates(OPTIONS), **OPTIONS)
    env.globals["export"] = ExportLines
    return env


def ntp_settings(servers: tuple[str, ...]) -> dict[str, str]:
    """6.49 `/system ntp client`: up to two addresses as primary/secondary-ntp, names in server-dns-names."""
    return dict(_ntp_settings(tuple(servers)))


@cache
def _ntp_settings(servers: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """ntp_settings, worked out once per list of servers: every host's script asks it (a name is told from
    an address by failing to parse it: 1.6 ms for 200 hosts' renders)."""
    addresses = [s for s in servers if parse_host_address(s)]
    names = [s for s in servers if not parse_host_address(s)]
    settings = {"enabled": "yes"}
    for key, value in zip(("primary-ntp", "secondary-ntp"), addresses, strict=False):
        settings[key] = value
    if names:
        settings["server-dns-names"] = ",".join(names)
    return tuple(settings.items())


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


def intended_lines(fleet: Fleet, plan: Plan, host: str) -> list[Command]:
    """`render_host` as commands (path, verb, selector, arguments): what the templates wrote."""
    return parse_commands(render_host(fleet, plan, host))


def as_stored(config: Config, major: int = 6) -> Config:
    """The normalisation step on top of the parser: values in the form RouterOS stores them (`30m` for
    `00:30:00`), so an intended configuration compares equal to a router's. An unknown field raises
    KeyError: the templates wrote something the menu schema does not have."""
    schema = load_schema(major)
    for path, items in config.menus.items():
        menu = schema.menu(path)
        for item in items:
            item.values = {k: normalize_value(menu.field(k), v) for k, v in item.values.items()}
    return config


def intended_config(fleet: Fleet, plan: Plan, host: str) -> Config:
    """The host's intended configuration as a `Config`, values normalised (see `as_stored`)."""
    return as_stored(parse_script(render_host(fleet, plan, host)), host_major(fleet, host))


__all__ = [
    "OWNER",
    "as_stored",
    "host_major",
    "intended_config",
    "intended_lines",
    "render_host",
    "ros_args",
    "ros_major",
]
