"""Benchmark: the parse part of a verify (`parse_sections` of every host), offline, on a captured lab's reads
(issue 22: about 2 ms of CPU a router, in the GIL-bound gather). CPU time, best of N, and per section.

Input: a pickle `{'parse': [(host, raw sections, major), ...]}`, captured once from a standing lab's verify:
    .venv/bin/python bench/verify_parse.py --capture DIR/config.yaml /tmp/verify200.pickle
Compare two trees in turn (A B A B ...), each in its own process:

    for i in 1 2 3 4 5; do for t in /work/main .; do
        .venv/bin/python bench/verify_parse.py CAPTURE.pickle --tree $t; done; done
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import pickle
import sys
import time
from pathlib import Path
from typing import Any


def capture(config: Path, out: Path) -> None:
    """Run a verify against the lab `config` names and keep what each host's parse_sections was given."""
    import importlib
    import threading

    from ikefleet import private
    from ikefleet.runbooks import verify as runbook

    task_module = importlib.import_module("ikefleet.tasks.gather")  # (the package's `gather` is the task)

    hosts: list[tuple[str, dict[str, str], int]] = []
    lock = threading.Lock()
    real = task_module.parse_sections

    def keep(host: str, raw: dict[str, str], major: int = 6) -> Any:
        with lock:
            hosts.append((host, dict(raw), major))
        return real(host, raw, major)

    task_module.parse_sections = keep  # the task imported the name
    runbook.Verify(runbook.VerifyOptions(config, record=False)).run()
    with private.open_file(out, "wb") as stream:  # the routers' replies (SA keys among them): owner-only
        pickle.dump({"parse": hosts}, stream)
    print(f"captured {len(hosts)} hosts into {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", type=Path, nargs="?")
    ap.add_argument("--capture", dest="capture_from", nargs=2, type=Path, metavar=("CONFIG", "OUT"),
                    help="capture a standing lab's verify into OUT first")
    ap.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]), help="ikefleet source tree")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--total", action="store_true", help="the total only, not each section's")
    args = ap.parse_args()
    if args.capture_from:
        capture(*args.capture_from)
        return
    if args.capture is None:
        ap.error("give the captured pickle (or --capture CONFIG OUT)")
    sys.path.insert(0, args.tree)
    import ikefleet.verify.gather as gather  # (from --tree)

    with args.capture.open("rb") as f:
        hosts: list[tuple[str, dict[str, str], int]] = pickle.load(f)["parse"]
    runs = [_cpu(lambda: [gather.parse_sections(h, dict(raw), m) for h, raw, m in hosts])
            for _ in range(args.repeat)]
    # the first pass is a verify's (what the parsers remember, e.g. an export's repeated lines, is
    # learnt in it); the best of the others, how far a warm process goes
    print(f"parse_sections, {len(hosts)} hosts ({args.tree}): first {runs[0] * 1000:.1f} ms CPU, "
          f"best of {args.repeat} {min(runs) * 1000:.1f} ms")
    if args.total:
        return
    per: collections.Counter[str] = collections.Counter()
    for _, raw, major in hosts:
        parsers = {**gather.PARSERS, **gather.V7_PARSERS} if major >= 7 else gather.PARSERS
        for name, text in raw.items():
            per[name] += min(_section_cpu(parsers[name], text) for _ in range(3))
    for name, cpu in per.most_common():
        print(f"  {name:20s} {cpu * 1000:7.1f} ms")


def _cpu(work: Any) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _section_cpu(parser: Any, text: str) -> float:
    start = time.process_time()
    with contextlib.suppress(Exception):  # (a section's error is its result here)
        parser(text)
    return time.process_time() - start


if __name__ == "__main__":
    main()
