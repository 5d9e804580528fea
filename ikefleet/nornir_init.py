"""The Nornir object ikefleet's own commands run on: the inventory plugin plus the connection settings.

`init_nornir` is plain `InitNornir` with the `IkefleetInventory` plugin (paths from the config's folder,
credentials bound, `--secrets` honoured), then the jump-host routes, the host-key pins, the inventory's
names and the connection policy of config.yaml, all in the `routeros` connection options
(ikefleet.connection.settings), and the run's handshake gate (`RouterOS.use`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core.inventory import Inventory

from ikefleet.connection import connector, hostkeys, jump, settings
from ikefleet.connection.plugin import RouterOS
from ikefleet.inventory import nornir_options, read_config
from ikefleet.inventory_plugin import IkefleetInventory
from ikefleet.problems import FLEET, InventoryError, Problem


def init_nornir(config_path: str | Path = "config.yaml", secrets_file: str | Path | None = None,
                accept_new_hostkeys: bool = False, inventory: Inventory | None = None, **kwargs: Any) -> Any:
    """A Nornir object for config.yaml with credentials bound from the environment / secrets file.

    Paths in config.yaml are resolved against its directory; `ikefleet.ssh_config` becomes Nornir's
    `ssh.config_file` (netmiko's `ssh_config_file`). `secrets_file` (e.g. from --secrets) overrides
    `ikefleet.secrets_file`. `accept_new_hostkeys` (--accept-new-hostkeys): a router's changed host key is
    pinned instead of refused. `inventory`: the inventory files as `load_fleet_and_files(config_path)` parsed
    them, so a run that built its Fleet from them does not parse them again. Raises InventoryError or
    SecretsError (CLI exit code 2).
    """
    config = read_config(config_path)
    options = nornir_options(config)
    secrets = secrets_file or config.secrets_file
    plugin_options = {**options["inventory"]["options"],
                      "secrets_file": None if secrets is None else str(Path(secrets).absolute()),
                      **({} if inventory is None else {"loaded": inventory})}
    options["inventory"] = {**options["inventory"], "plugin": IkefleetInventory.__name__,
                            "options": plugin_options}
    nornir = InitNornir(config_file=str(config.path), **{**options, **kwargs})
    try:  # routers behind jump hosts as ikefleet.ssh_config (else ~/.ssh/config) says: connection.jump
        if config.ssh_config is not None and not config.ssh_config.is_file():
            raise jump.JumpHostError(f"{config.ssh_config} does not exist (or is not a file)")
        routes = jump.enable(nornir, config.path)
    except jump.JumpHostError as exc:
        fix = "point ikefleet.ssh_config at your OpenSSH client config; check it with `ssh -F FILE -G HOST`"
        source = str(config.ssh_config or nornir.config.ssh.config_file)
        raise InventoryError([Problem(source, FLEET, "ikefleet.ssh_config", str(exc), fix)]) from None
    # host keys pinned in <config dir>/.ikefleet/known_hosts (ikefleet.connection.hostkeys)
    hostkeys.enable(nornir, config.path, accept_new=accept_new_hostkeys)
    # lower-case name -> name: a login refuses a router whose identity is another host's (connection.identity)
    names = {name.lower(): name for name in nornir.inventory.hosts}
    settings.bind(nornir.inventory, {settings.INVENTORY_NAMES: names})
    # timeouts, retries with backoff, the run's bound on concurrent handshakes (connection.connector)
    policy = connector.parse_policy((config.nornir.get("ikefleet") or {}).get("connect"), str(config.path))
    RouterOS.use(nornir.config, connector.enable(nornir, policy, behind_jump=bool(routes)))
    return nornir
