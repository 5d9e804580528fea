"""ikefleet.tasks: Nornir tasks for RouterOS routers, installed under the ikefleet namespace (see setup.py).

The package's face: `from ikefleet.tasks import gather` gives the task function to pass to `nr.run`.
(`gather` and `converge` name both a module and its task; the name here is the task. The modules stay
reachable as `sys.modules["ikefleet.tasks.gather"]` / `importlib.import_module`.) Besides the tasks, the
plain functions a rollout composes them with: the reach before the hub (`reach_branches`), the convergence
wait (`wait_until_converged`) and the put-back of branches that failed it (`put_back_branches`).
"""

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
