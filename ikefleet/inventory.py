"""The fleet as typed, validated, frozen data, read from the same Nornir SimpleInventory files Nornir runs on.

`load_inventory(config_path)` reads `config.yaml` (Nornir's config plus an `ikefleet:` section), loads the
inventory with Nornir's own SimpleInventory plugin, checks every value against `inventory_schema.yaml` and the
cross-site rules in `validate.py`, and returns a `Fleet`, or raises `InventoryError` with all problems.
The file layout and field names are documented in docs/inventory.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nornir.core.inventory import Group, Groups, Host, Hosts, Inventory, ParentGroups
from nornir.plugins.inventory.simple import _get_defaults, _get_inventory_element

from ikefleet import gc_policy
from ikefleet.connection import connector
from ikefleet.fleet import (
    Certificates,
    Crypto,
    Defaults,
    Fleet,
    Ospf,
    Pools,
    Profile,
    Proposal,
    Site,
)
from ikefleet.inventory_yaml import safe_yaml
from ikefleet.problems import FLEET, InventoryError, Problem, suggest
from ikefleet.validate import (
    ValueChecker,
    check_endpoints,
    check_fleet,
    check_section,
    schema,
)

_NORNIR_LOG = logging.getLogger("nornir.plugins.inventory.simple")  # SimpleInventory's
RESPONDER_GROUP = "responder"
INITIATOR_GROUP = "initiators"
PLATFORM = "mikrotik_routeros"
CREDENTIAL_FIELDS = ("username", "password")
MIN_VERSION = (6, 43)  # /ip ipsec profile and identity appeared in 6.43; v7 menus differ
MIN_V7 = (7, 11)  # v7 templates: interface-template use-bfd (7.10) and /routing bfd configuration (7.11)


def _supported_version(major_minor: tuple[int, ...]) -> bool:
    return MIN_VERSION <= major_minor < (7, 0) or major_minor >= MIN_V7

# A branch's name becomes a hub mode-config name: it must not be one RouterOS already has.
HOSTNAME = re.compile(r"[^\s\x00-\x1f\x7f]+")  # an address or DNS name: no blanks, no control characters
RESERVED_NAMES = {"request-only": "the factory /ip ipsec mode-config", "default": "factory items' name"}
SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,50}")  # fullmatch: `$` would let "br1\n" pass


@dataclass(frozen=True)
class FleetConfig:
    """`config.yaml`: where the inventory files are, plus the `ikefleet:` section."""

    path: Path
    host_file: Path
    group_file: Path
    defaults_file: Path
    secrets_file: Path | None = None
    ssh_config: Path | None = None
    nornir: Mapping[str, Any] = field(default_factory=dict)


IKEFLEET_CONFIG_KEYS = ("secrets_file", "ssh_config", "connect", "backups", "runs")
FILE_OPTIONS = ("host_file", "group_file", "defaults_file")


def read_config(config_path: str | Path) -> FleetConfig:
    """Read config.yaml; relative paths in it are relative to the file's directory, not the cwd."""
    path = Path(config_path)
    try:
        data = safe_yaml().load(path.read_text()) or {}
    except OSError as exc:
        raise InventoryError([Problem(str(path), FLEET, "config", f"cannot read: {exc.strerror}",
                                      "pass -c with the path to config.yaml")]) from exc
    except Exception as exc:  # ruamel raises many parser error types
        message = f"not valid YAML: {' '.join(str(exc).split())}"
        raise InventoryError([Problem(str(path), FLEET, "config", message, "fix the YAML syntax")]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("ikefleet") or {}, dict):
        problem = Problem(str(path), FLEET, "config", "expected a mapping (inventory:, ikefleet:)",
                          "write config.yaml as in docs/inventory.md")
        raise InventoryError([problem])
    base = path.parent
    inventory = data.get("inventory") or {}
    options = (inventory.get("options") if isinstance(inventory, dict) else None) or {}
    extra = data.get("ikefleet") or {}
    problems = [Problem(str(path), FLEET, f"ikefleet.{k}", "unknown key", suggest(k, IKEFLEET_CONFIG_KEYS))
                for k in extra if k not in IKEFLEET_CONFIG_KEYS]
    if not isinstance(inventory, dict):
        fix = ("write inventory: options: host_file/group_file/defaults_file as in docs/inventory.md "
               "(or leave it out for inventory/*.yaml)")
        problems.append(Problem(str(path), FLEET, "inventory",
                                f"is {type(inventory).__name__}, not a mapping", fix))
    elif not isinstance(options, dict):
        fix = "write options: host_file: ..., group_file: ..., defaults_file: ..."
        problems.append(Problem(str(path), FLEET, "inventory.options",
                                f"is {type(options).__name__}, not a mapping", fix))
    else:
        problems += [Problem(str(path), FLEET, f"inventory.options.{k}", f"is {type(v).__name__}, not a path",
                             f"give {k} as a file name relative to config.yaml")
                     for k, v in options.items() if k in FILE_OPTIONS and not isinstance(v, str)]
    if problems:
        raise InventoryError(problems)
    # timeouts/retries: bad values stop the run before contact
    connector.parse_policy(extra.get("connect"), str(path))

    def resolve(value: Any, default: str | None) -> Path | None:
        if value is None and default is None:
            return None
        return base / Path(str(value if value is not None else default)).expanduser()

    return FleetConfig(
        path=path,
        host_file=resolve(options.get("host_file"), "inventory/hosts.yaml"),  # type: ignore[arg-type]
        group_file=resolve(options.get("group_file"), "inventory/groups.yaml"),  # type: ignore[arg-type]
        defaults_file=resolve(options.get("defaults_file"), "inventory/defaults.yaml"),  # type: ignore[arg-type]
        secrets_file=resolve(extra.get("secrets_file"), None),
        ssh_config=resolve(extra.get("ssh_config"), None),
        nornir=data,
    )


def nornir_options(config: FleetConfig) -> dict[str, Any]:
    """Keyword arguments for `InitNornir(config_file=..., **kw)` with paths resolved against config.yaml."""
    inventory = dict(config.nornir.get("inventory") or {})
    inventory["plugin"] = inventory.get("plugin", "SimpleInventory")
    inventory["options"] = {
        **(inventory.get("options") or {}),
        "host_file": str(config.host_file.absolute()),  # absolute: IkefleetInventory joins them to the base
        "group_file": str(config.group_file.absolute()),
        "defaults_file": str(config.defaults_file.absolute()),
    }
    options: dict[str, Any] = {"inventory": inventory}
    if "logging" not in config.nornir:
        options["logging"] = {"enabled": False}  # Nornir would otherwise write ./nornir.log wherever we run
    if config.ssh_config is not None:
        options["ssh"] = {**(config.nornir.get("ssh") or {}), "config_file": str(config.ssh_config)}
    return options


def load_nornir_inventory(host_file: Path, group_file: Path, defaults_file: Path) -> Inventory:
    """Nornir's SimpleInventory of these files; InventoryError naming the file and the fix."""
    for file in (host_file, group_file, defaults_file):
        if not file.is_file():
            raise InventoryError([Problem(str(file), FLEET, "file", "missing",
                                          "create it or fix inventory.options in config.yaml")])
    files = (str(host_file), str(group_file), str(defaults_file))
    try:
        return _simple_inventory(host_file, group_file, defaults_file)
    except KeyError as exc:
        fix = f"define it in {group_file.name} or fix the host's groups"
        problem = Problem(files[0], FLEET, "groups", f"unknown group {exc}", fix)
        raise InventoryError([problem]) from exc
    except Exception as exc:  # duplicate keys, YAML syntax
        problem = Problem(files[0], FLEET, "yaml", " ".join(str(exc).split()), "fix the YAML syntax")
        raise InventoryError([problem]) from exc


def _simple_inventory(host_file: Path, group_file: Path, defaults_file: Path) -> Inventory:
    """Nornir's `SimpleInventory(host_file, group_file, defaults_file).load()`, step for step, with the
    YAML read by `inventory_yaml.safe_yaml` (ruamel's safe loader, one cost out: the same values, the same
    errors). The three files exist (load_nornir_inventory checked)."""
    yaml = safe_yaml()
    defaults_dict = _yaml_file(yaml, defaults_file, "defaults")
    defaults = _get_defaults(defaults_dict)
    hosts_dict = _yaml_file(yaml, host_file, "hosts inventory")
    hosts = Hosts()
    for name, host in hosts_dict.items():
        hosts[name] = _get_inventory_element(Host, host, name, defaults)
    groups_dict = _yaml_file(yaml, group_file, "groups inventory")
    groups = Groups()
    for name, group in groups_dict.items():
        groups[name] = _get_inventory_element(Group, group, name, defaults)
    # (as loaded, `groups` holds the names the files give: Nornir's own stand-in until this replaces them)
    for group in groups.values():
        group.groups = ParentGroups([groups[g] for g in group.groups])  # type: ignore[index]
    for host in hosts.values():
        host.groups = ParentGroups([groups[g] for g in host.groups])  # type: ignore[index]
    return Inventory(hosts=hosts, groups=groups, defaults=defaults)


def _yaml_file(yaml: Any, path: Path, empty: str) -> Any:
    """One inventory file's YAML; empty, with the warning Nornir's SimpleInventory logs."""
    with open(path, encoding="utf-8") as stream:
        data = yaml.load(stream) or {}
    if data == {}:
        _NORNIR_LOG.warning("'%s' is empty or contains only comments, defaulting to empty %s.", path, empty)
    return data


def _site_value(layers: Sequence[Mapping[str, Any]], key: str, inheritable: bool) -> tuple[Any, bool]:
    """(value, found) with Nornir's inheritance: `layers` are the host's data, then its groups', then the
    defaults' (looked at if inheritable)."""
    for data in layers if inheritable else layers[:-1]:
        if key in data:
            return data[key], True
    return None, False


def _role(host: Host, groups: list[Group], source: str, problems: list[Problem]) -> str:
    names = {g.name for g in groups}
    roles = [r for g, r in ((RESPONDER_GROUP, "responder"), (INITIATOR_GROUP, "initiator")) if g in names]
    if len(roles) != 1:
        message = f"in groups {sorted(names)}: must be in one of '{RESPONDER_GROUP}' or '{INITIATOR_GROUP}'"
        fix = f"set groups: [{RESPONDER_GROUP}] for the hub or [{INITIATOR_GROUP}] for a branch"
        problems.append(Problem(source, host.name, "groups", message, fix))
        return "initiator"
    return roles[0]


def _build_site(host: Host, groups: list[Group], fleet_lan_interface: str, source: str,
                problems: list[Problem]) -> Site | None:
    """`groups`: the host's extended_groups() (Nornir's Host resolves each attribute in Python and walks
    the groups anew on every call: looked up once per host, not per field)."""
    layers = [host.data, *(g.data for g in groups), host.defaults.data]
    role = _role(host, groups, source, problems)
    checker = ValueChecker(source, host.name, problems)
    site_schema = schema()["site"]
    fleet_keys = set(schema()["fleet"])
    for key in host.data:
        if key in site_schema:
            continue
        if key in fleet_keys:
            checker.fail(key, "fleet-wide setting in a host", f"move it to defaults.yaml data: ({key})")
        else:
            checker.fail(key, "unknown key", suggest(str(key), site_schema))
    values: dict[str, Any] = {}
    before = len(problems)
    for key, spec in site_schema.items():
        raw, found = _site_value(layers, key, bool(spec.get("inherit")))
        required = spec.get("required") or spec.get("required_role") == role
        if not found or raw is None:
            if required:
                checker.fail(key, "missing", spec.get("fix", f"set {key}"))
            values[key] = None
            continue
        values[key] = checker.parse(key, raw, spec)
    if role == "responder" and values.get("branch_id") is not None:
        checker.fail("branch_id", "the hub has no branch_id", "remove branch_id from the responder")
    for attr in CREDENTIAL_FIELDS:
        if object.__getattribute__(host, attr) is not None or any(
            object.__getattribute__(g, attr) is not None for g in groups
        ):
            checker.fail(attr, "credentials in the inventory",
                         "remove it; use IKEFLEET_USERNAME/IKEFLEET_PASSWORD or the secrets file")
    if not host.hostname:
        checker.fail("hostname", "missing", "set hostname to the router's management address")
    elif not isinstance(host.hostname, str) or not HOSTNAME.fullmatch(host.hostname):
        checker.fail("hostname", f"{host.hostname!r} is not a host name or address (blank or control "
                     "characters)", "set hostname to the router's management address, without spaces")
    if host.name.lower() in RESERVED_NAMES:
        used_by = RESERVED_NAMES[host.name.lower()]
        checker.fail("name", f"{host.name!r} is a RouterOS built-in name ({used_by})", "rename the host")
    elif not SITE_NAME.fullmatch(host.name):
        checker.fail("name", f"{host.name!r} cannot name RouterOS objects (eoip-<name>, <name>-client)",
                     "rename the host using letters, digits, '.', '_' or '-'")
    port = host.port if host.port is not None else 22
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        checker.fail("port", f"bad port {port!r}", "set port to an integer 1..65535")
    version = values.get("ros_version")
    if version is not None and not _supported_version(tuple(int(p) for p in version.split("."))[:2]):
        checker.fail("ros_version", f"RouterOS {version} is not supported (templates: RouterOS 6.49 and 7; "
                     "profiles and identities need 6.43+, v7 OSPF use-bfd and /routing bfd need 7.11+)",
                     "run RouterOS 6.43..6.49 or 7.11+ on this router, or correct ros_version")
    if host.platform != PLATFORM:
        checker.fail("platform", f"is {host.platform!r}", f"set platform: {PLATFORM}")
    if len(problems) > before:
        return None
    return Site(
        name=host.name,
        role=role,
        hostname=str(host.hostname),
        port=int(host.port or 22),
        wan_address=values["wan_address"],
        lan_prefixes=values["lan_prefixes"],
        lan_interface=values["lan_interface"] or fleet_lan_interface,
        branch_id=values["branch_id"],
        router_id=values["router_id"],
        ros_version=values["ros_version"],
    )


def _build_defaults(inv: Inventory, source: str, problems: list[Problem]) -> Defaults:
    checker = ValueChecker(source, FLEET, problems)
    inheritable = [k for k, spec in schema()["site"].items() if spec.get("inherit")]
    for attr in CREDENTIAL_FIELDS:
        if getattr(inv.defaults, attr) is not None:
            checker.fail(attr, "credentials in the inventory",
                         "remove it; use IKEFLEET_USERNAME/IKEFLEET_PASSWORD or the secrets file")
    data = {k: v for k, v in inv.defaults.data.items() if k not in inheritable}
    s = check_section(data, schema()["fleet"], checker, extra_keys=schema()["site"])
    for key in schema()["site"]:
        if key in data and key not in inheritable:
            checker.fail(key, "per-site field in defaults", "set it per host in hosts.yaml")
    c, p, r = s["crypto"], s["crypto"]["proposal"], s["crypto"]["profile"]
    return Defaults(
        crypto=Crypto(policy_group=c["policy_group"], proposal=Proposal(**p), profile=Profile(**r)),
        pools=Pools(**s["pools"]),
        ospf=Ospf(**s["ospf"]),
        certificates=Certificates(**{k: int(v) for k, v in s["certificates"].items()}),
        ntp_servers=s["ntp_servers"] or (),
        wan_interface_list=s["wan_interface_list"],
        lan_interface=s["lan_interface"],
    )


def build_fleet(inv: Inventory, config: FleetConfig) -> Fleet:
    """Turn a loaded Nornir inventory into a validated Fleet; raise InventoryError with every problem."""
    problems: list[Problem] = []
    owners: list[tuple[Any, str, str]] = [(inv.defaults, str(config.defaults_file), FLEET)]
    owners += [(g, str(config.group_file), g.name) for g in inv.groups.values()]
    owners += [(h, str(config.host_file), h.name) for h in inv.hosts.values()]
    for owner, source, name in owners:
        if not isinstance(owner.data, Mapping):
            problems.append(Problem(source, name, "data", f"is {type(owner.data).__name__}, not a mapping",
                                    "write data: as key: value pairs"))
            owner.data = {}
    defaults = _build_defaults(inv, str(config.defaults_file), problems)
    for group in inv.groups.values():
        for key in group.data:
            if key not in schema()["site"]:
                problems.append(Problem(str(config.group_file), group.name, key, "unknown key",
                                        suggest(str(key), schema()["site"])))
    groups_of = {name: host.extended_groups() for name, host in inv.hosts.items()}
    sites = []
    for name, host in inv.hosts.items():
        site = _build_site(host, groups_of[name], defaults.lan_interface, str(config.host_file), problems)
        if site is not None:
            sites.append(site)
    responders = [name for name, groups in groups_of.items() if RESPONDER_GROUP in {g.name for g in groups}]
    if len(responders) != 1:
        found = ", ".join(responders) if responders else "none"
        problems.append(Problem(str(config.host_file), FLEET, "groups",
                                f"exactly one host must be in group '{RESPONDER_GROUP}' (found: {found})",
                                f"put the hub, and only the hub, in group '{RESPONDER_GROUP}'"))
    if problems:
        raise InventoryError(problems)
    hub = next(s for s in sites if s.is_hub)
    branches = tuple(sorted((s for s in sites if not s.is_hub), key=lambda s: (s.branch_id, s.name)))
    groups = {name: tuple(g.name for g in host_groups) for name, host_groups in groups_of.items()}
    fleet = Fleet(hub=hub, branches=branches, defaults=defaults, groups=groups)
    sources = {s.name: str(config.host_file) for s in sites}
    sources[FLEET] = str(config.defaults_file)
    problems = check_fleet(fleet, sources) + check_endpoints(fleet, sources)
    if problems:
        raise InventoryError(problems)
    return fleet


def load_inventory(config_path: str | Path = "config.yaml") -> Fleet:
    """Load and validate the fleet described by config.yaml; raises InventoryError listing all problems."""
    return load_fleet_and_files(config_path)[0]


def load_fleet_and_files(config_path: str | Path = "config.yaml") -> tuple[Fleet, Inventory]:
    """The validated fleet and the Nornir inventory it was built from: a run that needs both passes the
    second to `init_nornir(inventory=...)`, so the inventory's YAML is parsed once (0.05 s at 200 hosts)."""
    config = read_config(config_path)
    with gc_policy.fleet_run():  # a thousand hosts' data, all of it kept
        files = load_nornir_inventory(config.host_file, config.group_file, config.defaults_file)
        return build_fleet(files, config), files
