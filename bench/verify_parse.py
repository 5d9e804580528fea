"""Benchmark: the parse part of a verify (`parse_sections` of every host), offline, on a captured lab's reads
(issue 22: about 2 ms of CPU a router, in the GIL-bound gather). CPU time, best of N, and per section.

Input: a pickle `{'parse': [(host, raw sections, major), ...]}`, captured once from a standing lab's verify:
    .venv/bin/python bench/verify_parse.py --capture DIR/config.yaml /tmp/verify200.pickle
Compare two trees in turn (A B A B ...), each in its own process:

    for i in 1 2 3 4 5; do for t in /work/main .; do
        .venv/bin/python bench/verify_parse.py CAPTURE.pickle --tree $t; done; done

On a shared, loaded machine CPU timers move by 10-20 %: count instructions instead (deterministic to ~0.5 %):

    PYTHONHASHSEED=0 valgrind --tool=callgrind .venv/bin/python bench/verify_parse.py CAPTURE.pickle --once
    (the same with `--once --no-parse`: the baseline to subtract)

That a change leaves every output as it was: `--outputs FILE` writes what a tree's parsers make of every
real capture in /work/shared/routeros-samples (each file through every parser, errors included) and of the
captured hosts (parse_sections), one line each; two trees' files must be identical (`cmp`).
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
    ap.add_argument("--outputs", type=Path, metavar="FILE",
                    help="write every parser's output on the samples and the capture to FILE, no timing")
    ap.add_argument("--samples", type=Path, default=SAMPLES, help="real captures (searched recursively)")
    ap.add_argument("--once", action="store_true",
                    help="parse every host once (a verify's first pass), no timing: for an instruction "
                         "count, `valgrind --tool=callgrind` of this less the same with --once --no-parse")
    ap.add_argument("--no-parse", action="store_true", help="with --once: load only (the count's baseline)")
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
    if args.outputs:
        write_outputs(args.outputs, args.samples, hosts)
        return
    if args.once:
        if not args.no_parse:
            [gather.parse_sections(h, dict(raw), m) for h, raw, m in hosts]
        return
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


SAMPLES = Path("/work/shared/routeros-samples")


def write_outputs(out: Path, samples: Path, hosts: list[tuple[str, dict[str, str], int]]) -> None:
    """Each sample through every parser and each captured host through parse_sections, as reprs (exact:
    values, types, key order, error texts), one line each, for `cmp` between two trees."""
    import ikefleet.parsers as p
    import ikefleet.verify.gather as gather
    from ikefleet.routeros.script import parse_commands, parse_script

    parsers: dict[str, Any] = {name: getattr(p, name) for name in sorted(p.__all__)
                               if name.startswith("parse_") and name != "parse_command_output"}
    parsers["parse_script"] = parse_script
    parsers["parse_commands"] = parse_commands
    with private_open(out) as stream:
        for path in sorted(samples.rglob("*.txt")):
            text = path.read_text(errors="replace")
            for name, parser in parsers.items():
                stream.write(f"{path.name} {name} {_outcome(parser, text)}\n")
        for host, raw, major in hosts:
            state = gather.parse_sections(host, dict(raw), major)
            stream.write(f"{host} {state.sections!r} {state.problems!r}\n")
            for name, text in raw.items():  # each section through every parser too (other paths, errors)
                for parser_name, parser in parsers.items():
                    stream.write(f"{host} {name} {parser_name} {_outcome(parser, text)}\n")
    print(f"wrote {out}")


def private_open(path: Path) -> Any:
    """Owner-only, as every file ikefleet writes: the outputs come from routers' replies."""
    from ikefleet import private

    return private.open_file(path, "w")


def _outcome(parser: Any, text: str) -> str:
    try:
        return repr(parser(text))
    except Exception as exc:  # (an error is an output too: its type and text must not change)
        return f"{type(exc).__name__}: {exc}"


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
