"""Fixtures for verification tests: converged lab fleets (module-scoped) and a way to verify them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fleet_lab import start_converged

from ikefleet.lab.manager import Lab


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A hub and three branches after a real rollout; tests restore whatever they break."""
    lab = start_converged(tmp_path_factory.mktemp("verify-fleet"), branches=3)
    try:
        yield lab
    finally:
        lab.stop()
