"""Branches whose certificate was revoked: kept in the data directory so no run re-issues one by itself.

A revoked branch is left out of the fleet the hub is configured for (its identity, mode-config, EoIP and
OSPF interface go away on the next hub convergence) and is not touched by rollouts, until
`ikefleet certs renew BRANCH` issues it a new certificate and takes it off this list.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ikefleet import private
from ikefleet.fleet import Fleet

FILE = "revoked.json"


def load(data_dir: Path) -> set[str]:
    path = data_dir / FILE
    return set(json.loads(path.read_text())) if path.exists() else set()


def save(data_dir: Path, names: set[str]) -> None:
    private.replace_text(private.directory(data_dir) / FILE, json.dumps(sorted(names)) + "\n")


def active(fleet: Fleet, revoked: set[str]) -> Fleet:
    """The fleet without its revoked branches."""
    return replace(fleet, branches=tuple(b for b in fleet.branches if b.name not in revoked))
