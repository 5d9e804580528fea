"""The lab's config.yaml sizes Nornir's thread pool to the fleet, within bounds."""

from __future__ import annotations

from ikefleet.lab.inventory_writer import MAX_WORKERS, MIN_WORKERS, nornir_config, workers_for


def test_workers_grow_with_the_fleet_within_bounds() -> None:
    assert workers_for(3) == MIN_WORKERS
    assert workers_for(60) == 30
    assert workers_for(201) == MAX_WORKERS
    assert workers_for(1001) == MAX_WORKERS


def test_config_carries_the_sized_pool() -> None:
    assert nornir_config(60)["runner"]["options"]["num_workers"] == 30
