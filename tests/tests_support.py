"""Helpers shared by the lab-driven tests of the main job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ruamel.yaml import YAML

if TYPE_CHECKING:
    import paramiko

    from ikefleet.lab.manager import Lab
    from ikefleet.processors.ledger import Summary

READ_LIMIT_S = 10.0  # a safety net against hangs, not an assertion about speed

# the hub's line when a run that leaves out br1 and br2 keeps its certificate due for renewal (the days vary)
HELD = ("certificate hub-server not renewed (expires in ",
        "): 2 branch(es) not in this run hold a copy of it, and a new one would take their tunnels down "
        "until a run with them hands it over: br1, br2; to renew it, run without --limit, or with those "
        "branches (one not in service yet: take it out of the inventory until it is)")


def fast_keys(lab_dir: Path) -> None:
    """2048-bit keys in the lab's inventory: RSA 4096 generation would dominate test time."""
    path = lab_dir / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": 2048}
    with path.open("w") as out:
        yaml.dump(data, out)


# 6.49.2 everywhere, so the hub makes every key. The lab's CCR1009 (`tile`) takes 10 s for a 2048-bit key;
# at 0.3 the lab takes 3 s, long enough to see what happens meanwhile.
HUB_KEYS_SCALE = 0.3


@contextmanager
def hub_keys_lab(directory: Path) -> Iterator[Any]:
    """A fresh 3-branch 6.49.2 lab (the hub makes every key, at HUB_KEYS_SCALE): fast keys, settled."""
    from ikefleet.lab.manager import Lab

    with Lab.start(directory, branches=3, version="6.49.2", convergence_delay=0.05,
                   time_scale=HUB_KEYS_SCALE) as lab:
        fast_keys(lab.directory)
        lab.settle()
        yield lab


@contextmanager
def rolled_out_lab(directory: Path, **lab_options: Any) -> Iterator[Any]:
    """A lab (Lab.start options) with fast keys, rolled out once and settled: the fleet tests read."""
    from ikefleet.lab.manager import Lab
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    with Lab.start(directory, **lab_options) as lab:
        fast_keys(lab.directory)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()
        assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
        lab.settle()
        yield lab


def defconf_items(config: Any) -> list[tuple[str, str, dict[str, str], bool]]:
    """Every item RouterOS's default configuration made (comment `defconf` or `defconf: ...`), in order:
    (menu, comment, values, disabled)."""
    return [
        (path, item.comment, dict(item.values), item.disabled)
        for path, items in config.menus.items()
        for item in items
        if item.comment == "defconf" or item.comment.startswith("defconf:")
    ]


def assert_defconf_untouched(lab: Any) -> None:
    """Each lab router still holds its factory defconf items, comments, fields and order unchanged."""
    from ikefleet.lab.factory import initial_config

    lab.settle()
    for name, router in lab.routers.items():
        before = defconf_items(initial_config(router.spec))
        assert len(before) >= 18, name  # bridge, 4 ports, 2 lists, 2 members, address, 11 rules, masquerade
        assert defconf_items(router.config) == before, name


def certificate_policy(lab_dir: Path, days: int, window: int) -> None:
    """The lab inventory's certificate policy: 2048-bit keys valid `days`, renewed `window` days before
    they expire (a test moves a fleet into its renewal window by raising `window`)."""
    defaults = lab_dir / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(defaults.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": 2048, "days_valid": days,
                                                   "renew_window_days": window}
    with defaults.open("w") as out:
        yaml.dump(data, out)


def certificates_of(lab: Lab) -> dict[str, dict[str, str | None]]:
    """Every router's certificates: name -> fingerprint."""
    from ikefleet.lab import certificates

    lab.settle()
    return {name: {c.get("name"): c.get("fingerprint") for c in certificates.certificates(r)}
            for name, r in lab.routers.items()}


def assert_working(lab: Any, drift: bool = False) -> None:
    """Every tunnel up on valid certificates: verify's ike, ipsec, eoip, ospf and cert checks all pass, and
    config.drift too unless `drift` (a renewal stopped half-way is drift the next rollout converges)."""
    from ikefleet.runbooks.verify import Verify, VerifyOptions

    deadline = time.monotonic() + 20
    while True:
        lab.settle()
        report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
        failing = [(r.host, r.check, r.observed) for r in report.results
                   if r.status not in ("pass", "skip", "warn") and not (drift and r.check == "config.drift")]
        if not failing or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert not failing


def converge(lab: Any) -> Any:
    """The lab with its faults cleared, rolled out and compliant, whatever the test before left."""
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    for name in lab.routers:
        lab.clear_faults(name)
    lab.settle()
    summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30)).run()
    assert not summary.failed, summary.to_json()
    assert_working(lab)
    return lab


class ConsoleLine(NamedTuple):
    """One console line a lab router ran: when, on which router, what."""

    at: float
    router: str
    line: str


def console_lines(monkeypatch: Any) -> list[ConsoleLine]:
    """Every console line the lab's routers run from now on (the lab's terminal, as the router sees it),
    in order: the list fills as they run."""
    from ikefleet.lab.sshd import Terminal

    seen: list[ConsoleLine] = []
    real_run_line = Terminal._run_line

    async def recording(self: Terminal, line: str) -> str:
        seen.append(ConsoleLine(time.monotonic(), self.router.name, line))
        return await real_run_line(self, line)

    monkeypatch.setattr(Terminal, "_run_line", recording)
    return seen


def kill_9_when(lab: Any, argv: list[str], moment: Any, what: str, env: dict[str, str] | None = None) -> None:
    """`python -m ikefleet ARGV -c <the lab's config.yaml>` in a subprocess, killed with SIGKILL as soon as
    `moment()` holds (polled every 5 ms, 60 s at most); fails when the run ended before `what`."""
    import os
    import subprocess
    import sys

    run = subprocess.Popen(
        [sys.executable, "-m", "ikefleet", *argv, "-c", str(lab.directory / "config.yaml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env if env is not None else dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while not moment() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert run.poll() is None, f"the run ended before {what}"
    finally:
        run.kill()
        run.wait()


def kill_rollout_once_the_hub_renewed(lab: Any, old: str, fingerprint: Any) -> None:
    """`ikefleet rollout` on `lab` (every router 100 ms slow, so there is time to look), killed with SIGKILL
    right after the hub re-issued its own certificate: `fingerprint(lab, "hub", "hub-server")` is neither
    `old` nor None any more. The branches keep the old copy."""
    for name in lab.routers:
        lab.fault(name, "latency", 100)
    try:
        kill_9_when(lab, ["rollout"], lambda: fingerprint(lab, "hub", "hub-server") not in (old, None),
                    "the hub renewed its certificate")
    finally:
        for name in lab.routers:
            lab.clear_faults(name)


def settled_rollout(lab: Any, *limit: str, dry_run: bool = False) -> Summary:
    """A rollout of `lab` (only `limit`'s hosts when given) once the lab is settled: its `Summary`."""
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    lab.settle()
    options = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30, limit=limit,
                             dry_run=dry_run)
    return Rollout(options).run()


def read_until(chan: paramiko.Channel, end: bytes) -> bytes:
    """Read until the data ends with `end` (the prompt must be the last bytes) or the channel closes."""
    data = b""
    deadline = time.monotonic() + READ_LIMIT_S
    while not data.endswith(end) and time.monotonic() < deadline:
        if chan.recv_ready():
            data += chan.recv(65536)
        elif chan.closed or (chan.exit_status_ready() and not chan.recv_ready()):
            break
        else:
            time.sleep(0.01)
    return data
