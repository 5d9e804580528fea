"""A verify's long-lived objects (its set-up, its verdict) are kept out of the collector's young passes."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

from recorded import DATA, HOSTS, state

from ikefleet.inventory import load_inventory
from ikefleet.plan import build_plan
from ikefleet.verify.collector import promote_young, settled
from ikefleet.verify.judge import judge


class Node:
    """A container the collector tracks."""


def test_what_a_settled_block_made_is_in_the_oldest_generation_and_the_young_one_is_empty() -> None:
    with settled():
        assert not gc.isenabled()
        made = [Node() for _ in range(2_000)]
    assert gc.isenabled()
    assert gc.get_count()[0] < 10  # (the test's own few allocations since)
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(o) in oldest for o in made)


def test_a_cycle_promoted_is_still_collected_by_a_full_pass() -> None:
    with settled():
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        ids = {id(a), id(b)}
    del a, b
    gc.collect()
    assert not ids & {id(o) for o in gc.get_objects()}


def test_objects_the_process_froze_stay_frozen() -> None:
    kept = [Node() for _ in range(10)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        promote_young()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
    del kept


def test_a_block_that_raises_gives_the_collector_back() -> None:
    try:
        with settled():
            raise ValueError("the set-up failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_judging_leaves_no_young_generation_to_walk() -> None:
    """judge() makes the expected state and the report with the collector held off; given back, the
    collector's next young pass would walk all of it (at 200 branches ~20 ms, freeing nothing)."""
    fleet = load_inventory(DATA / "config.yaml")
    plan = build_plan(fleet)
    states = {h: state(h) for h in HOSTS}
    threshold = gc.get_threshold()
    gc.collect()
    gc.set_threshold(10**7, *threshold[1:])  # no pass on its own: what is young after judge() is counted
    try:
        report = judge(fleet, plan, states)
        young = gc.get_count()[0]
    finally:
        gc.set_threshold(*threshold)
    assert report.compliant
    assert young < 100, young  # the few objects made after the verdict (the version warnings)


def test_an_ikefleet_verify_process_makes_no_young_pass_over_its_imports() -> None:
    """The verify command's imports live to the process's end: no collector pass during them."""
    code = (
        "import contextlib, gc, io, json, sys\n"
        "from ikefleet import gc_policy\n"
        "gc_policy.whole_process()  # as the `ikefleet` entry point sets it\n"
        "from ikefleet.cli import main\n"
        "passes = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'stop' and passes.append(info['generation']))\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    main(['verify', '-c', '/nonexistent/config.yaml'])\n"
        "print(json.dumps(['ikefleet.runbooks.verify' in sys.modules, passes]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    imported, passes = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported
    assert passes == []
