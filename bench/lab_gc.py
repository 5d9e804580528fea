"""The lab's own garbage collection, measured in the lab process: `ikefleet lab up` replaced by this wrapper,
which serves DIR (an existing lab directory, its state and ports kept) with a collector callback that sums
each generation's collections and their CPU seconds; `kill -USR1 <pid>` appends the sums since the last
signal (with the process CPU) to DIR/lab_gc.txt, then the objects the lab still tracks after a full
collection (per-session state never freed grows it run after run). Run the floor or a verify between two
signals.

    .venv/bin/ikefleet lab down --dir DIR
    .venv/bin/python bench/lab_gc.py DIR &     # lab.pid is this process
    kill -USR1 $(cat DIR/lab.pid); <run>; kill -USR1 $(cat DIR/lab.pid); cat DIR/lab_gc.txt
"""

from __future__ import annotations

import gc
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(directory: Path) -> int:
    from ikefleet.lab.manager import main as lab_main

    counts, cpu, began = [0, 0, 0], [0.0, 0.0, 0.0], [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.thread_time()
        else:
            counts[info["generation"]] += 1
            cpu[info["generation"]] += time.thread_time() - began[0]

    forced = [0.0]  # CPU of the report's own full collections, left out of the process CPU it prints

    def report(*_: object) -> None:
        line = (f"process CPU {time.process_time() - forced[0]:.2f} s; tracked {len(gc.get_objects()):,}; "
                f"collections (young, middle, full) {counts} CPU {' / '.join(f'{t:.3f}' for t in cpu)} s")
        # What the lab keeps once its garbage is gone: a count that grows from one run to the next is
        # per-session state never freed (the tracked count above includes garbage not yet collected).
        start = time.process_time()
        gc.collect()
        forced[0] += time.process_time() - start
        with (directory / "lab_gc.txt").open("a") as out:
            out.write(f"{line}; kept after a full collection {len(gc.get_objects()):,}\n")
        counts[:], cpu[:] = [0, 0, 0], [0.0, 0.0, 0.0]

    gc.callbacks.append(timed)
    signal.signal(signal.SIGUSR1, report)
    return lab_main(["serve", str(directory)])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
