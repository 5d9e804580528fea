"""The netns runtime behind a running `Lab` (`Lab.start(..., backend="netns")`, `ikefleet lab up --backend
netns`): the routers' SSH/CLI stays the simulator; after every settle the changed routers' configuration is
applied to their namespace and daemons, and before every print the router's protocol state is what the
daemons report (read at most every `READ_TTL_S`, written over what the fabric computed).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from pathlib import Path

from ..fabric import wan_up
from ..router import Router
from .errors import Untranslatable
from .namespaces import NetnsError, cleanup, require_root
from .runtime import CHARON, FRR_DIR, NetnsLab, Node

log = logging.getLogger(__name__)

STATE_DIR = "netns"  # under the lab directory: the cleanup record, charon files
# the model's protocol log lines, dropped: charon's (state.ike_failures) take their place
FABRIC_LOG_TOPICS = ("ipsec,error", "route,ospf,info")
READ_TTL_S = 0.5  # a print within this long after the last reading reuses it (one verify reads ~12 menus)
PLUGIN_DIR = Path("/usr/lib/ipsec/plugins")
# what must be on the host -> the Debian package that brings it
REQUIRED: dict[str, str] = {
    CHARON: "strongswan-charon",
    "/usr/sbin/swanctl": "strongswan-swanctl",
    str(PLUGIN_DIR / "libstrongswan-kernel-libipsec.so"): "libcharon-extra-plugins",
    str(PLUGIN_DIR / "libstrongswan-kdf.so"): "libstrongswan",
    f"{FRR_DIR}/zebra": "frr",
    f"{FRR_DIR}/ospfd": "frr",
    f"{FRR_DIR}/bfdd": "frr",
    "/usr/bin/vtysh": "frr",
}


def check_host() -> None:
    """Root and the daemons, or a clear error naming the Debian packages to install."""
    require_root()
    missing = sorted({pkg for path, pkg in REQUIRED.items() if not Path(path).exists()})
    if shutil.which("ip") is None:
        missing.append("iproute2")
    if missing:
        raise NetnsError(
            "the netns lab backend needs strongSwan and FRR on this machine; install them with "
            f"`apt-get install -y --no-install-recommends {' '.join(missing)}`"
        )


def prefix_for(directory: Path) -> str:
    """Namespace name prefix of a lab directory: stable across restarts, distinct between labs."""
    return "ikf" + hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:6]


def down(directory: Path) -> list[str]:
    """Remove what a lab in `directory` made (also after a crash: the record alone is enough)."""
    return cleanup(directory / STATE_DIR) if (directory / STATE_DIR).exists() else []


class NetnsBackend:
    """Applies configuration changes to the namespaces and fills protocol state from the daemons."""

    def __init__(self, routers: list[Router], directory: Path) -> None:
        check_host()
        self.lab = NetnsLab(routers, directory / STATE_DIR, prefix_for(directory))
        self.refused: dict[str, str] = {}  # router -> the Untranslatable message last logged
        self.last_log: dict[str, object] = {}  # router -> its newest /log entry when we last looked

    def up(self) -> None:
        self.lab.up()

    def settled(self, names: set[str]) -> None:
        """After the fabric ran: apply the routers whose configuration changed (`names`), the WAN state of
        all (faults), then read every router's daemons."""
        for node in self.lab.nodes.values():
            router = node.router
            self._drop_model_logs(router)
            try:
                if router.name in names or not node.applied:
                    self.lab.apply(router)
                else:
                    node.set_wan(wan_up(router, node.wan))
                self.refused.pop(router.name, None)
            except Untranslatable as exc:
                if self.refused.get(router.name) != str(exc):
                    router.log("system,error", str(exc))
                    log.error("%s", exc)
                self.refused[router.name] = str(exc)
            except NetnsError as exc:
                log.error("%s: netns apply failed: %s", router.name, exc)
        for node in self.lab.nodes.values():
            self._read(node, force=True)

    def _drop_model_logs(self, router: Router) -> None:
        """The fabric logged its own verdict on IKE/OSPF while recomputing: only the daemons' count here."""
        logs, last = router.logs, self.last_log.get(router.name)
        new = []
        while logs and logs[-1] is not last:
            new.append(logs.pop())
        logs.extend(e for e in reversed(new) if e[1] not in FABRIC_LOG_TOPICS)

    def refresh(self, router: Router) -> None:
        """Before a print or find: the router's protocol items from its daemons (a reading at most
        READ_TTL_S old)."""
        node = self.lab.nodes.get(router.name)
        if node is not None:
            self._read(node, force=time.monotonic() - node.read_at > READ_TTL_S)

    def _read(self, node: Node, force: bool) -> None:
        try:
            if force or node.snapshot is None:
                node.read()
            node.fill()
            self.last_log[node.router.name] = node.router.logs[-1] if node.router.logs else None
        except NetnsError as exc:
            log.error("%s: reading the daemons failed: %s", node.router.name, exc)

    def down(self) -> list[str]:
        return self.lab.down()

