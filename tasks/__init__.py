"""ikefleet.tasks: Nornir tasks for RouterOS routers, installed under the ikefleet namespace (see setup.py).

The package's face: `from ikefleet.tasks import gather` gives the task function to pass to `nr.run`.
(`gather` and `converge` name both a module and its task; the name here is the task. The modules stay
reachable as `sys.modules["ikefleet.tasks.gather"]` / `importlib.import_module`.) Besides the tasks, the
plain functions a rollout composes them with: the reach before the hub (`reach_branches`), the convergence
wait (`wait_until_converged`) and the put-back of branches that failed it (`put_back_branches`).

Each name is imported on first use (a module `__getattr__`): a verify, which needs only the reads, does not
import the certificate, backup and configuration tasks for the face's sake.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backup import read_export
    from .converge import converge
    from .gate import wait_until_converged
    from .gather import gather
    from .handover import move_hub_identities, retire_old_certificates
    from .hub import hub_clients
    from .pki import ensure_authority, ensure_clients, export_bundles, install_branch
    from .put_back import put_back_branch, put_back_branches
    from .reach import Reached, reach_branches
    from .state import branch_state, tunnel_state
    from .version import detect_version

# name -> the module that defines it
_HOME = {
    "read_export": "backup",
    "converge": "converge",
    "wait_until_converged": "gate",
    "gather": "gather",
    "move_hub_identities": "handover",
    "retire_old_certificates": "handover",
    "hub_clients": "hub",
    "ensure_authority": "pki",
    "ensure_clients": "pki",
    "export_bundles": "pki",
    "install_branch": "pki",
    "put_back_branch": "put_back",
    "put_back_branches": "put_back",
    "Reached": "reach",
    "reach_branches": "reach",
    "branch_state": "state",
    "tunnel_state": "state",
    "detect_version": "version",
}

__all__ = [
    "Reached",
    "branch_state",
    "converge",
    "detect_version",
    "ensure_authority",
    "ensure_clients",
    "export_bundles",
    "gather",
    "hub_clients",
    "install_branch",
    "move_hub_identities",
    "put_back_branch",
    "put_back_branches",
    "reach_branches",
    "read_export",
    "retire_old_certificates",
    "tunnel_state",
    "wait_until_converged",
]


def __getattr__(name: str) -> Any:
    """The face's name, from its module on first use (an unknown name: AttributeError, so that
    `from ikefleet.tasks import pki` imports the submodule as usual)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


class _Face(ModuleType):
    """Importing a submodule binds it on its package (`ikefleet.tasks.gather` = the module); where a task
    shares its module's name, the face keeps the task instead, as the eager imports used to."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ModuleType) and _HOME.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Face
