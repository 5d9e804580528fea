"""A run raises the collector's young-generation threshold and gives the old setting back."""

from __future__ import annotations

import gc

import pytest

from ikefleet import gc_policy


def test_a_run_restores_the_collector_setting_even_when_it_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_policy.fleet_run():
        assert gc.get_threshold()[0] == max(gc_policy.RUN_THRESHOLD, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before
