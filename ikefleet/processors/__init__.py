"""Nornir processors: what a run does around its tasks (run-directory records, progress, verify's
history), attached with `nr.with_processors([...])` by ikefleet's runbooks or by a user's own flow.
`events` is the progress data model they and the runbooks produce; the CLI renders it
(ikefleet/cli/progress.py)."""

from .events import Event, Sink
from .history import RecordHistory
from .progress import Progress
from .record import RunRecord

__all__ = ["Event", "Progress", "RecordHistory", "RunRecord", "Sink"]
