"""The hub making branches' keys in the background (the hub-made flow: RouterOS before 7.9 on either end).

Why: a 4096-bit key takes a RouterBOARD minutes (`ikefleet/routeros/keygen_timing.yaml`) and a hub-made
certificate is one key after another on the hub. Made in a thread on the hub's own session, the keys of
later branches are made while earlier ones are handed over, pushed and gated: the hub is never idle waiting
for a branch, and a branch waits only for its own key.

The thread and the run share the hub's one session: every command either sends holds `lock` (`hub()`), so a
safe-mode window of the run's never has a certificate command of the signer's inside it. Each certificate
is `pki._issue`'s (a template, `sign ... once do={}`, polled): a failure removes its template and fails
that branch alone; a stop (`stop()`, Ctrl-C) gives up the one being made (its template removed) and makes
no more. A certificate made and not yet named by any identity is unused: the next run uses it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from nornir.core.task import Result, Task

from ikefleet import interrupt
from ikefleet.connection.session import Device, describe
from ikefleet.parsers.certificate import Certificate
from ikefleet.redact import scrub

from .device import device
from .pki import TUNNEL_KEY_USAGE, CertPolicy, _issue, sign_timeout, wanted_clients


def session(task: Task) -> Result:
    """Nornir task: the host's Device (its run session, opened if need be), for a HubSigner."""
    return Result(host=task.host, result=device(task))


@dataclass(frozen=True)
class Job:
    """A client certificate the hub makes: its branch, its name, its common name (the base name), why, and
    the one it replaces with its serial ('' for a first one)."""

    branch: str
    name: str
    common_name: str
    reason: str
    replaces: str = ""

    def done(self) -> str:
        """The line the hub's outcome records, as `pki.ensure_clients` words it."""
        return f"certificate {self.name} issued ({self.reason}" + (
            f"; replaces {self.replaces})" if self.replaces else ")")


def jobs(certs: dict[str, Certificate], clients: dict[str, str], policy: CertPolicy, now: datetime,
         renew: tuple[str, ...] = ()) -> list[Job]:
    """The hub-made certificates to make for `clients` (branch -> base name, in the order they are wanted)
    by `pki.wanted_clients`' rules on the hub's certificates `certs`."""
    wanted = wanted_clients(certs, list(clients.values()), policy, now, renew, key_here=False)
    out = []
    for branch, base in clients.items():
        if base in wanted:
            name, reason, current = wanted[base]
            serial = certs[current].get("serial_number", "?") if current else ""
            out.append(Job(branch, name, base, reason, f"{current} serial {serial}" if current else ""))
    return out


class HubSigner:
    """Makes `jobs` one after another on the hub's session `dev`, in a thread (`start`). `wait(branch)`:
    None once its certificate is made, else why not."""

    def __init__(self, dev: Device, jobs: list[Job], *, ca: str, policy: CertPolicy) -> None:
        self.dev, self.jobs, self.ca, self.policy = dev, list(jobs), ca, policy
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.results: dict[str, str | None] = {}
        self.finished = {job.branch: threading.Event() for job in self.jobs}
        self.thread = threading.Thread(target=self._work, name="ikefleet-hub-signer", daemon=True)

    def start(self) -> HubSigner:
        self.thread.start()
        return self

    @contextmanager
    def hub(self) -> Iterator[None]:
        """The hub's session for the caller alone while the block runs (the signer waits)."""
        with self.lock:
            yield

    def _stopped(self) -> str:
        if interrupt.STOP.is_set():
            return interrupt.MESSAGE
        return "the run stopped before it" if self.stopping.is_set() else ""

    def _work(self) -> None:
        for job in self.jobs:
            try:
                why = self._stopped()
                if not why:
                    _issue(self.dev, job.name, key_usage=TUNNEL_KEY_USAGE, days=self.policy.days_valid,
                           key_size=self.policy.key_size, ca=self.ca, common_name=job.common_name,
                           timeout_s=sign_timeout(self.policy), lock=self.lock, stopped=self._stopped)
                self.results[job.branch] = f"its certificate {job.name} was not made: {why}" if why else None
            except BaseException as exc:  # this branch fails alone; the next one is tried
                self.results[job.branch] = scrub(f"the hub could not make its certificate {job.name}: "
                                                 f"{describe(exc)}")
            finally:
                self.finished[job.branch].set()

    def wait(self, branch: str) -> str | None:
        """Once `branch`'s certificate is made (None) or given up (why)."""
        self.finished[branch].wait()
        return self.results[branch]

    def made(self) -> list[Job]:
        """The jobs done so far whose certificate was made."""
        return [j for j in self.jobs if self.finished[j.branch].is_set() and self.results[j.branch] is None]

    def stop(self) -> None:
        """Make no more certificates (the one being made is given up), and wait for the thread."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join()
