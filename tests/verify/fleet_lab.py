"""A converged lab fleet for verification tests: `Lab` + the real rollout (PKI hand-off included)."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.waves import Amount

BACKUP_PASSWORD = "verify-backup-passphrase-7f3a"


def add_backup_password(directory: Path) -> None:
    """A backup password in the secrets file, so the tests can show it never reaches a report."""
    yaml = YAML()
    path = directory / "secrets.yaml"
    data = yaml.load(path.read_text())
    data["backup_password"] = BACKUP_PASSWORD
    with path.open("w") as fh:
        yaml.dump(data, fh)


def converge(lab: Lab) -> Summary:
    """The whole rollout over SSH, as in production: hub, then every branch in one wave."""
    options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=60, canary=0,
                             wave_size=Amount(100, True))
    summary = Rollout(options).run()
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
