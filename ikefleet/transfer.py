"""netmiko's RouterOS file transfer, also for routers whose files live at the root of the store.

netmiko's MikroTik transfer always addresses `<file_system>/<file>` (default `flash/`), and verifies by
`/file print detail where name="flash/<file>"`. CCR and CHR routers have no `flash/`: their files live at
the root. This subclass takes `file_system="/"` to mean that root and otherwise behaves as netmiko's.
"""

from __future__ import annotations

import os
import re
from typing import Any

from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsFileTransfer

from ikefleet.device import PROMPT

ROOT = "/"
_SIZE = re.compile(r"\bsize=\"?([\d.]+[KMG]?i?B?)")


class RouterOSTransfer(MikrotikRouterOsFileTransfer):
    """Reads end at the prompt, not after netmiko's 2-second quiet-time wait (six of them per file)."""

    def remote_name(self, name: str) -> str:
        return name if self.file_system == ROOT else f"{self.file_system}/{name}"

    def _ask(self, command: str) -> str:
        return str(self.ssh_ctl_chan._send_command_str(command, expect_string=PROMPT, read_timeout=60))

    def check_file_exists(self, remote_cmd: str = "") -> bool:
        if self.direction == "get":
            return os.path.exists(self.dest_file)
        out = self._ask(remote_cmd or f'/file print detail where name="{self.remote_name(self.dest_file)}"')
        return "size=" in out

    def remote_space_available(self, search_pattern: str = "") -> int:
        for line in self._ask("/system resource print without-paging").splitlines():
            if line.strip().startswith("free-memory:"):
                return self._format_to_bytes(line.split(":", 1)[1].strip())
        raise ValueError("no free-memory line in /system resource print")

    def remote_file_size(self, remote_cmd: str = "", remote_file: str | None = None) -> int:
        if remote_file is None:
            remote_file = self.dest_file if self.direction == "put" else self.source_file
        out = self._ask(remote_cmd or f'/file print detail where name="{self.remote_name(remote_file)}"')
        match = _SIZE.search(out)
        if not match:
            raise ValueError(f"{self.remote_name(remote_file)}: no such file on the router")
        return self._format_to_bytes(match[1])

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
