"""What a verify makes that lives to its end is kept out of the cyclic collector's young-generation passes.

A verify's set-up (the command's imports, the inventory, the plan) and its verdict (the expected state, the
report) are objects that stay until the run ends and hold no garbage cycles, some 100,000 of them at 200
branches. Under gc_policy's threshold the young generation still filled with them, and each pass over them
walked them all to free nothing: two during the imports and one when the judging gave the collector back,
~10-30 ms of CPU each. A light module: the command imports it before anything heavy.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from ikefleet import gc_policy


def promote_young() -> None:
    """Move every tracked object to the oldest generation without a pass (gc.freeze then gc.unfreeze: two
    list splices), so the next young pass looks only at what is made after this. Cycles among them are
    still collected, by the next full pass. Not done when the process froze objects of its own (a forking
    server): unfreezing would hand those back."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


@contextlib.contextmanager
def settled() -> Iterator[None]:
    """The collector held off for a block that makes long-lived objects and no cycles (gc_policy.paused),
    and what it made promoted to the oldest generation before the collector is given back; after a block
    that raised, the collector is only given back."""
    with gc_policy.paused():
        yield
        promote_young()
