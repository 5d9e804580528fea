"""ikefleet's own settings of the `routeros` connection, carried in its connection options' `extras`.

Nornir's way: what a connection needs reaches it through `connection_options["routeros"].extras` (set by
`init_nornir` from config.yaml and its arguments, or by a user's own inventory), never through the
inventory's `data`, so a run leaves every host's data as the inventory files gave it. The plugin takes
these keys out (`netmiko_extras`) before the rest goes to netmiko.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nornir.core.inventory import ConnectionOptions, Host, Inventory

from ikefleet.connection import CONNECTION_NAME

KNOWN_HOSTS = "known_hosts"  # str: the data directory's pin file (connection.hostkeys); unset: no pinning
ACCEPT_NEW_HOSTKEYS = "accept_new_hostkeys"  # bool: pin a router's changed key instead of refusing it
JUMP_ROUTES = "jump_routes"  # {host name: route as data}: routers behind jump hosts (connection.jump)
INVENTORY_NAMES = "inventory_names"  # {lower-case name: name}: every inventory host (connection.identity)
CONNECT = "connect"  # {setting: value}: timeouts, retries, handshakes in flight (connector.Policy)
COMMAND_TIMEOUT = "command_timeout"  # seconds the login's version read may take (the plugin's own)
PIN = "pin"  # hostkeys.Pin: the host's pins its session enforces (set per opening by connection.opening)
KEYS = (KNOWN_HOSTS, ACCEPT_NEW_HOSTKEYS, JUMP_ROUTES, INVENTORY_NAMES, CONNECT, COMMAND_TIMEOUT, PIN)


def of(host: Host) -> dict[str, Any]:
    """The `routeros` extras that apply to this host (Nornir takes the nearest level's extras whole)."""
    return host.get_connection_parameters(CONNECTION_NAME).extras or {}


def netmiko_extras(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The extras without ikefleet's keys: what netmiko's ConnectHandler is given."""
    return {key: value for key, value in extras.items() if key not in KEYS}


def bind(inventory: Inventory, settings: Mapping[str, Any]) -> None:
    """Put `settings` into the `routeros` extras of the defaults and of every group and host that has
    extras of its own: Nornir does not merge extras across levels, so a level with its own would hide
    the defaults' (a host with its own extras would connect without its pin check)."""
    levels: list[Any] = [*inventory.groups.values(), *inventory.hosts.values()]
    for level in levels:
        options = level.connection_options.get(CONNECTION_NAME)
        if options is not None and options.extras is not None:
            options.extras.update(settings)
    defaults = inventory.defaults.connection_options
    current = defaults.get(CONNECTION_NAME)
    if current is None:
        defaults[CONNECTION_NAME] = ConnectionOptions(extras=dict(settings))
    elif current.extras is None:
        current.extras = dict(settings)
    else:
        current.extras.update(settings)
