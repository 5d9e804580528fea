"""netmiko's RouterOS file transfer, also for routers whose files live at the root of the store.

netmiko's MikroTik transfer always addresses `<file_system>/<file>` (default `flash/`), and verifies by
`/file print detail where name="flash/<file>"`. CCR and CHR routers have no `flash/`: their files live at
the root. This subclass takes `file_system="/"` to mean that root and otherwise behaves as netmiko's.
"""

from __future__ import annotations

import os
from typing import Any

from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsFileTransfer

ROOT = "/"


class RouterOSTransfer(MikrotikRouterOsFileTransfer):
    def remote_name(self, name: str) -> str:
        return name if self.file_system == ROOT else f"{self.file_system}/{name}"

    def check_file_exists(self, remote_cmd: str = "") -> bool:
        if self.direction == "put" and not remote_cmd:
            remote_cmd = f'/file print detail where name="{self.remote_name(self.dest_file)}"'
        return super().check_file_exists(remote_cmd=remote_cmd)

    def remote_file_size(self, remote_cmd: str = "", remote_file: str | None = None) -> int:
        if remote_file is None:
            remote_file = self.dest_file if self.direction == "put" else self.source_file
        if not remote_cmd:
            remote_cmd = f'/file print detail where name="{self.remote_name(remote_file)}"'
        return super().remote_file_size(remote_cmd=remote_cmd, remote_file=remote_file)

    def verify_file(self) -> bool:
        """Sizes agree: RouterOS prints larger sizes rounded (`5.5KiB`), so allow that rounding."""
        local = os.stat(self.source_file if self.direction == "put" else self.dest_file).st_size
        remote = self.remote_file_size()
        return abs(local - remote) <= max(remote // 100, 52)

    def get_file(self) -> None:
        self.scp_conn.scp_get_file(self.remote_name(self.source_file), self.dest_file)
        self.scp_conn.close()

    def put_file(self) -> None:
        self.scp_conn.scp_transfer_file(self.source_file, self.remote_name(self.dest_file))
        self.scp_conn.close()


def transfer(connection: Any, *, source: str, dest: str, direction: str, storage: str) -> None:
    """Copy one file over SCP and check its size on the router; `storage` is `flash/` or '' (root)."""
    file_system = storage.rstrip("/") or ROOT
    with RouterOSTransfer(
        connection,
        source_file=source,
        dest_file=dest,
        file_system=file_system,
        direction=direction,
        hash_supported=False,
    ) as scp:
        scp.transfer_file()
        if not scp.verify_file():
            raise OSError(f"{direction} {source}: size on the router differs after the transfer")
