"""The keys the hub makes in the background during a rollout (tasks/signer.py: the hub-made flow), as the
run sees them: which branches of a wave wait for one, which failed, what goes on the hub's record once made,
and the hub's one outcome kept whole across the converges that add the branches to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ikefleet.plan import client_versions
from ikefleet.processors.ledger import certificate_work
from ikefleet.rundir import RunDir
from ikefleet.tasks.converge import Outcome
from ikefleet.tasks.signer import HubSigner


@dataclass
class Background:
    """A run's HubSigner and the branches whose certificate it made that are on the hub's record."""

    signer: HubSigner
    reported: set[str] = field(default_factory=set)

    @property
    def branches(self) -> set[str]:
        """The branches whose key the hub makes in the background."""
        return {j.branch for j in self.signer.jobs}

    def wait(self, wave: list[str]) -> dict[str, str]:
        """Once the keys of the wave's branches are made or given up: branch -> why its key was not made."""
        mine = self.branches
        return {name: why for name in wave if name in mine and (why := self.signer.wait(name)) is not None}

    def waiting(self, certs: dict[str, Any]) -> set[str]:
        """The branches whose first certificate is not among the hub's `certs` yet: its identities cannot
        name them."""
        return {j.branch for j in self.signer.jobs if not client_versions(certs, j.common_name)}

    def report(self, outcome: Outcome, run: RunDir) -> bool:
        """The certificates made since the last report, on the hub's outcome. Whether there were any."""
        made = [j for j in self.signer.made() if j.branch not in self.reported]
        self.reported |= {j.branch for j in made}
        certificate_work(outcome, [j.done() for j in made], run)
        return bool(made)


def join(outcome: Outcome, again: Outcome, wave: list[str]) -> None:
    """A later converge of the hub (`again`, adding the `wave`'s branches) into the hub's one `outcome`."""
    outcome.commands += again.commands
    outcome.changes += [c for c in again.changes if c not in outcome.changes]
    outcome.certificates += again.certificates
    outcome.warnings += [w for w in again.warnings if w not in outcome.warnings]
    if again.status == "failed":
        outcome.status = "failed"
        outcome.error = f"adding the branches {', '.join(wave)} failed: {again.error}"
    elif again.status == "changed":
        outcome.status = "changed"
