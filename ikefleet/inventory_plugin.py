"""The Nornir inventory plugin `IkefleetInventory`: plain `InitNornir(config_file=...)` gives a ready fleet.

Nornir's SimpleInventory reads its files relative to the current directory and knows no credentials.
This plugin reads the same files relative to the folder of the config file being loaded, and binds every
host's username and password from ikefleet's secrets sources (IKEFLEET_* variables, `ikefleet.secrets_file`)
while the inventory loads, so a missing password stops `InitNornir` before any connection, naming the
host and the fix. Registered under the `nornir.plugins.inventory` entry point group (pyproject.toml).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from nornir.core.inventory import Inventory
from nornir.init_nornir import InitNornir

from ikefleet.inventory import load_nornir_inventory as load_files
from ikefleet.inventory import read_config
from ikefleet.secrets import ENV_PREFIX, SecretsError, host_env_suffix, load_secrets

NAME = "IkefleetInventory"


def loading_config_file() -> Path | None:
    """The config file the running `InitNornir` call is reading (None: InitNornir was given no file).

    Nornir hands an inventory plugin only its `options`, not the path of the file they came from; the
    call that is loading the plugin still has it, so relative paths mean the same from any directory.
    """
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code is InitNornir.__code__:
            value = frame.f_locals.get("config_file")
            return Path(value).resolve() if value else None
        frame = frame.f_back
    return None


class IkefleetInventory:
    """SimpleInventory's three files plus credentials; relative paths are taken from the config's folder.

    `secrets_file` (an option, else `ikefleet.secrets_file` of the config file) and the IKEFLEET_*
    environment variables give the credentials (ikefleet.secrets); none in the inventory files.
    """

    def __init__(self, host_file: str = "inventory/hosts.yaml", group_file: str = "inventory/groups.yaml",
                 defaults_file: str = "inventory/defaults.yaml", secrets_file: str | None = None,
                 loaded: Inventory | None = None) -> None:
        """`loaded`: these files as a caller already parsed them (`init_nornir(inventory=...)`), used
        instead of reading them again; credentials are bound to it all the same."""
        self.loaded = loaded
        config_file = loading_config_file()
        base = config_file.parent if config_file is not None else Path.cwd()
        self.files = tuple(base / Path(name).expanduser() for name in (host_file, group_file, defaults_file))
        if secrets_file is None and config_file is not None:
            self.secrets_file = read_config(config_file).secrets_file
        else:
            self.secrets_file = base / Path(secrets_file).expanduser() if secrets_file else None

    def load(self) -> Inventory:
        inventory = self.loaded if self.loaded is not None else load_files(*self.files)
        secrets = load_secrets(self.secrets_file)
        missing: list[str] = []
        for name, host in inventory.hosts.items():
            try:
                host.username, host.password = secrets.credentials(name)
            except SecretsError:
                missing.append(name)
        if missing:  # every host at once, before any connection
            raise SecretsError(
                f"no password for host{'s' if len(missing) > 1 else ''} {', '.join(missing)}: set "
                f"{ENV_PREFIX}PASSWORD (or {ENV_PREFIX}PASSWORD_<HOST>, e.g. {ENV_PREFIX}PASSWORD_"
                f"{host_env_suffix(missing[0])}) or name a "
                f"secrets file in config.yaml (ikefleet.secrets_file, chmod 600)")
        return inventory

