"""ikefleet.tasks: Nornir tasks for RouterOS routers, installed under the ikefleet namespace (see setup.py).

The package's face: `from ikefleet.tasks import gather` gives the task function to pass to `nr.run`.
(`gather` and `converge` name both a module and its task; the name here is the task. The modules stay
reachable as `sys.modules["ikefleet.tasks.gather"]` / `importlib.import_module`.)
"""

from .backup import read_export
from .converge import converge
from .gather import gather
from .state import tunnel_state
from .version import detect_version

__all__ = ["converge", "detect_version", "gather", "read_export", "tunnel_state"]
