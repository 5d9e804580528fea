"""A converged lab fleet for verification tests: `Lab` + the real rollout (hub, then branches).

The rollout's certificate transfer (SCP, one branch after the other) takes ~20 s per branch, so the hub's
certificates are copied in-process to the branches (what `install_branch` leaves); the rollout then finds
them installed and only converges configuration, over SSH, as in production.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

from ruamel.yaml import YAML

from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.waves import Amount


def fast_keys(directory: Path) -> None:
    """2048-bit keys: a 4096-bit CA and ten client certificates take too long for a test run."""
    yaml = YAML()
    path = directory / "inventory" / "defaults.yaml"
    data = yaml.load(path.read_text()) or {}
    data.setdefault("data", {})["certificates"] = {"key_size": 2048}
    with path.open("w") as fh:
        yaml.dump(data, fh)


BACKUP_PASSWORD = "verify-backup-passphrase-7f3a"


def add_backup_password(directory: Path) -> None:
    """A backup password in the secrets file, so the tests can show it never reaches a report."""
    yaml = YAML()
    path = directory / "secrets.yaml"
    data = yaml.load(path.read_text())
    data["backup_password"] = BACKUP_PASSWORD
    with path.open("w") as fh:
        yaml.dump(data, fh)


def copy_certificates(lab: Lab, branch: str, ca: str, server: str, client: str) -> None:
    """The CA and the hub certificate without keys, the branch's own with its key, as an import leaves."""
    hub = lab.routers["hub"]
    target = lab.routers[branch]
    items = target.config.items("/certificate")
    items[:] = [i for i in items if i.get("name") not in (ca, server, client)]
    for name in (ca, server, client):
        source = next(hub.config.find("/certificate", name=name))
        values = dict(source.values)
        item = target.config.add("/certificate", values)
        item.private = copy.deepcopy(source.private)
        if name != client:
            item.private.pop("key", None)
            item.values["private-key"] = "no"
    target.changed()


def converge(lab: Lab) -> Summary:
    """Hub first (CA and every branch certificate), the certificates placed on the branches, then the
    rest of the rollout: the branches' configuration goes over SSH as in production."""
    config = lab.directory / "config.yaml"
    options = RolloutOptions(config=config, gate_timeout_s=60, canary=0, wave_size=Amount(100, True))
    hub = Rollout(replace(options, limit=("hub",))).run()
    if hub.failed:
        return hub
    rollout = Rollout(options)
    h = rollout.plan.hub
    for b in rollout.plan.branches:
        copy_certificates(lab, b.name, h.ca_certificate, h.server_certificate, b.client_certificate)
    lab.settle()
    summary = rollout.run()
    lab.settle()
    return summary


def start_converged(directory: Path, branches: int) -> Lab:
    lab = Lab.start(directory, branches=branches, convergence_delay=0.05)
    try:
        fast_keys(lab.directory)
        add_backup_password(lab.directory)
        summary = converge(lab)
        if summary.failed:
            raise RuntimeError(f"rollout failed: {summary.to_json()['hosts']}")
    except BaseException:
        lab.stop()
        raise
    return lab
