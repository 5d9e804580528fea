"""The Nornir connection plugin `routeros`: a host's session is ikefleet's RouterOS driver, logged in.

Registered under the `nornir.plugins.connections` entry point group (pyproject.toml), so
`host.open_connection("routeros", ...)` or `task.host.get_connection("routeros", nr.config)` works in any
Nornir program. Built as Nornir's own netmiko plugin is: the inventory's hostname, credentials and port,
Nornir's `ssh.config_file`, and the connection options' `extras` passed to the driver (netmiko's
keywords, plus `command_timeout`: seconds the login's version read may take).
"""

from __future__ import annotations

from typing import Any

from nornir.core.configuration import Config

from ikefleet.connection import CONNECTION_NAME
from ikefleet.connection.driver import RouterOSDriver

DEVICE_TYPE = "mikrotik_routeros"


class RouterOS:
    """Opens the session (`RouterOSDriver.open_session`: login and version read); `connection` is the
    driver, `connection.login_reply` the version read's reply.

    What ikefleet learns about the router during a session is kept here, with the session it is true for
    (a new session learns it again), never in the inventory's data: `detected` (tasks.version's Detected).
    """

    name = CONNECTION_NAME
    connection: RouterOSDriver
    detected: object | None = None

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
        command_timeout = float(options.pop("command_timeout", 60.0))
        parameters: dict[str, Any] = {"host": hostname, "username": username, "password": password,
                                      "port": port or 22, "device_type": DEVICE_TYPE}
        ssh = getattr(configuration, "ssh", None)
        if getattr(ssh, "config_file", None):
            parameters["ssh_config_file"] = ssh.config_file  # type: ignore[union-attr]
        driver = RouterOSDriver(**{**parameters, **options, "auto_connect": False})
        driver.open_session(command_timeout)
        self.connection = driver

    def close(self) -> None:
        self.connection.disconnect()
