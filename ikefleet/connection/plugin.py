"""The Nornir connection plugin `routeros`: a host's session is ikefleet's RouterOS driver, logged in.

Registered under the `nornir.plugins.connections` entry point group (pyproject.toml), so
`host.open_connection("routeros", ...)` or `task.host.get_connection("routeros", nr.config)` works in any
Nornir program. Built as Nornir's own netmiko plugin is: the inventory's hostname, credentials and port,
Nornir's `ssh.config_file`, and the connection options' `extras` passed to the driver (netmiko's
keywords; ikefleet's own keys, ikefleet.connection.settings, are taken out first: `command_timeout` is the
seconds the login's version read may take).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from nornir.core.configuration import Config

from ikefleet.connection import CONNECTION_NAME, settings
from ikefleet.connection.connector import Connector, Policy
from ikefleet.connection.driver import RouterOSDriver
from ikefleet.connection.hostkeys import Pin

DEVICE_TYPE = "mikrotik_routeros"


class RouterOS:
    """Opens the session (`RouterOSDriver.open_session`: login and version read); `connection` is the
    driver, `connection.login_reply` the version read's reply.

    What ikefleet learns about the router during a session is kept here, with the session it is true for
    (a new session learns it again), never in the inventory's data: `detected` (tasks.version's Detected),
    `identity` (the one its login read, identity.py), `pin` (what the host-key check did) and
    `policy` (the timeouts it was opened under, opening.py).
    """

    name = CONNECTION_NAME
    connection: RouterOSDriver
    detected: object | None = None
    identity: str | None = None
    pin: Pin | None = None
    policy: Policy | None = None

    # One Connector per Nornir program, keyed by its Config (the one object every filter of it shares):
    # the bound on handshakes in flight is the whole run's, across its hosts and tasks, so no host can
    # hold it. An entry keeps its Config alive (Config cannot be weakly referenced): a small object per
    # Nornir program made.
    _runs: ClassVar[dict[int, tuple[Config, Connector]]] = {}
    _runs_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def use(cls, config: Config, connector: Connector) -> None:
        """Make `connector` the run's for every Nornir object with this Config (init_nornir does)."""
        with cls._runs_lock:
            cls._runs[id(config)] = (config, connector)

    @classmethod
    def connector(cls, config: Config) -> Connector:
        """The run's Connector; a default one (config.yaml's policy unknown) for a Nornir program that did
        not `use` one, e.g. plain InitNornir."""
        with cls._runs_lock:
            found = cls._runs.get(id(config))
            if found is None:
                found = cls._runs[id(config)] = (config, Connector(Policy()))
            return found[1]

    def open(
        self,
        hostname: str | None,
        username: str | None,
        password: str | None,
        port: int | None,
        platform: str | None,
        extras: dict[str, Any] | None = None,
        configuration: Config | None = None,
    ) -> None:
        options = dict(extras or {})
        command_timeout = float(options.get(settings.COMMAND_TIMEOUT, 60.0))
        parameters: dict[str, Any] = {"host": hostname, "username": username, "password": password,
                                      "port": port or 22, "device_type": DEVICE_TYPE}
        ssh = getattr(configuration, "ssh", None)
        if getattr(ssh, "config_file", None):
            parameters["ssh_config_file"] = ssh.config_file  # type: ignore[union-attr]
        driver = RouterOSDriver(**{**parameters, **settings.netmiko_extras(options), "auto_connect": False})
        driver.pin = options.get(settings.PIN)
        driver.open_session(command_timeout)
        self.connection = driver

    def close(self) -> None:
        self.connection.disconnect()
