"""Randomized interruption soak: rollouts and certificate renewals cut at random moments on a lab fleet.

Each run puts a hand change (drift) on some branches, then starts `ikefleet rollout` or `ikefleet certs renew`
as its own process and, at a random moment, sends SIGINT once or twice, SIGKILL, drops a router's session
or makes a router refuse a command. Afterwards every router must be either as it was before the run or
fully converged (its configuration compared menu by menu, certificates apart), its IPsec identity must
name a certificate it holds with its private key, and the next clean rollout must converge the fleet.

    .venv/bin/python bench/soak.py --runs 100            # the figures: outcomes per interruption
    .venv/bin/python bench/soak.py --runs 10 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from tests_support import fast_keys  # noqa: E402

CERTIFICATES = "/certificate"
INTERRUPTIONS = ("none", "sigint", "sigint-twice", "sigkill", "drop", "refuse")
# Hand changes ikefleet puts back: each leaves a branch with several commands to push.
DRIFTS = (
    "/routing filter remove [find where comment=ikefleet]",
    "/ip firewall filter remove [find where comment=ikefleet]",
    "/interface eoip set [find where comment=ikefleet] mtu=1400",
    "/ip address remove [find where comment=ikefleet]",
)
# What a `refuse` run makes the router refuse (regex over the console line), per action.
REFUSED = {
    "rollout": ("routing", "firewall", "eoip", "address", "ipsec", "system backup"),
    "renew": ("certificate import", "certificate remove", "ipsec identity", "file remove", "certificate"),
}
LATENCIES_MS = (40, 300, 1000)  # the target router's: a slow one gives the signal a push to land in


@dataclass
class Outcome:
    run: int
    action: str
    interruption: str
    target: str
    delay_s: float
    exit_code: int | None
    routers: dict[str, str] = field(default_factory=dict)  # router -> "before" | "converged" | problem
    next_rollout: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def configuration(lab: Lab, name: str) -> list[str]:
    """A router's `/export terse` as the router prints it, without the header and with the IPsec identities'
    certificate names left out, the hub's remote-certificate too (a renewed certificate carries a new name on
    both ends; certificates are not exported)."""
    lab.settle()
    text = Session(lab.routers[name], "admin").execute("/export terse")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [re.sub(r" (remote-)?certificate=\S+", "", line) if line.startswith("/ip ipsec identity") else line
            for line in lines]


def certificate_problem(lab: Lab, name: str) -> str | None:
    """Why the router's IPsec identities could not authenticate: a named certificate missing or keyless."""
    config = lab.routers[name].config
    held = {c.get("name"): c for c in config.items(CERTIFICATES)}
    for identity in config.items("/ip ipsec identity"):
        wanted = identity.get("certificate")
        if not wanted:
            continue
        cert = held.get(wanted)
        if cert is None:
            return f"identity names certificate {wanted}, which is gone"
        if cert.get("private-key") != "yes":
            return f"certificate {wanted} has no private key"
    return None


def _changed(router: Any, snapshot: dict[str, Any]) -> bool:
    try:
        return bool(router.config.to_json() != snapshot)
    except RuntimeError:  # the lab's thread is changing it right now
        return True


def start(lab: Lab, argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ikefleet", *argv, "-c", str(lab.directory / "config.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def rollout(lab: Lab) -> tuple[bool, str]:
    lab.settle()
    summary = Rollout(RolloutOptions(lab.directory / "config.yaml", gate_timeout_s=60.0)).run()
    lab.settle()
    failed = {h: o.error for h, o in summary.hosts.items() if o.error}
    return not summary.failed, json.dumps(failed)[:400]


def drift(lab: Lab, branches: list[str], rng: random.Random) -> None:
    lab.settle()
    for name in branches:
        Session(lab.routers[name], "admin").execute(rng.choice(DRIFTS))
    lab.settle()


def one_run(
    lab: Lab, index: int, rng: random.Random, reference: dict[str, list[str]], window_s: float
) -> Outcome:
    branches = sorted(n for n in lab.routers if n != "hub")
    action = rng.choice(("rollout", "rollout", "renew"))
    interruption = INTERRUPTIONS[index % len(INTERRUPTIONS)]  # each kind as often; the rest is drawn
    target = rng.choice(branches)
    drifted = rng.sample(branches, k=rng.randint(1, 3))
    if target not in drifted and action == "rollout":
        drifted.append(target)
    drift(lab, drifted, rng)
    before = {n: configuration(lab, n) for n in lab.routers}
    delay = round(rng.uniform(0.0, window_s), 2)
    outcome = Outcome(index, action, interruption, target, delay, None)
    for name in lab.routers:
        lab.fault(name, "latency", 40)
    lab.fault(target, "latency", rng.choice(LATENCIES_MS))
    if interruption == "drop":
        lab.fault(target, "drop-after", rng.randint(1, 12))
    elif interruption == "refuse":
        lab.fault(target, "fail-command", rng.choice(REFUSED[action]), "failure: simulated fault")
    argv = ["rollout", "--json", "--gate-timeout", "60"]
    if action == "renew":
        argv = ["certs", "renew", target]
    # Half the signals land at a random moment of the run, half once the target router has started to
    # change (a push or a certificate install under way).
    after_change = rng.random() < 0.5
    watched = lab.routers[target]
    snapshot = watched.config.to_json()
    lab.settle()
    proc = start(lab, argv)
    try:
        if interruption in ("sigint", "sigint-twice", "sigkill"):
            if after_change:
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    if _changed(watched, snapshot):
                        break
                    time.sleep(0.02)
                delay = round(rng.uniform(0.0, 1.0), 2)
                outcome.delay_s = -delay  # negative: seconds after the target began to change
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL if interruption == "sigkill" else signal.SIGINT)
                if interruption == "sigint-twice":
                    time.sleep(0.3)
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            outcome.problems.append("the run hung for 300 s")
        outcome.exit_code = proc.returncode
        # A SIGINT that lands while Python is still starting or already exiting (outside the run, where
        # ikefleet's handler is not installed) ends in Python's own KeyboardInterrupt: nothing is contacted
        # then. Python prints it as a traceback, or as "Exception ignored in ..." when it lands in a weakref
        # callback ("KeyboardInterrupt: " last). Inside a run the first SIGINT never raises, so any other
        # traceback is a finding.
        started_late = re.search(r"KeyboardInterrupt:?\s*$", err) is not None and "sigint" in interruption
        if "Traceback" in err and interruption != "sigint-twice" and not started_late:
            outcome.problems.append(f"traceback: {err[-300:]}")
    finally:
        for name in lab.routers:
            lab.clear_faults(name)
    time.sleep(0.3)  # a dropped session's safe mode is undone when the lab sees the connection close
    lab.settle()
    for name in lab.routers:
        now = configuration(lab, name)
        state = "before" if now == before[name] else "converged" if now == reference[name] else "neither"
        cert = certificate_problem(lab, name)
        outcome.routers[name] = state if cert is None else f"{state}; {cert}"
        if state == "neither":
            extra = sorted(set(now) - set(before[name]) - set(reference[name]))[:3]
            outcome.problems.append(f"{name}: neither as before nor converged (e.g. {extra})")
        if cert:
            outcome.problems.append(f"{name}: {cert}")
    ok, why = rollout(lab)
    outcome.next_rollout = "converged" if ok else f"failed: {why}"
    if not ok:
        outcome.problems.append(f"the next rollout failed: {why}")
    for name in lab.routers:
        now = configuration(lab, name)
        if now != reference[name]:
            extra = sorted(set(now) - set(reference[name]))[:2]
            missing = sorted(set(reference[name]) - set(now))[:2]
            outcome.problems.append(
                f"{name}: not converged after the next rollout (has {extra}, lacks {missing})"
            )
    return outcome


def soak(directory: Path, runs: int, seed: int, branches: int = 5) -> list[Outcome]:
    rng = random.Random(seed)
    with Lab.start(directory / "lab", branches=branches, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        ok, why = rollout(lab)
        if not ok:
            raise RuntimeError(f"the first rollout failed: {why}")
        reference = {n: configuration(lab, n) for n in lab.routers}
        # The window the interruptions land in: about as long as a drifted re-run takes under latency.
        drift(lab, ["br1"], rng)
        for name in lab.routers:
            lab.fault(name, "latency", 40)
        began = time.monotonic()
        done = start(lab, ["rollout", "--json"]).communicate(timeout=300)
        window_s = max(1.0, time.monotonic() - began)
        for name in lab.routers:
            lab.clear_faults(name)
        lab.settle()
        if configuration(lab, "br1") != reference["br1"]:
            raise RuntimeError(f"the calibration rollout did not converge: {done[1][-300:]}")
        return [one_run(lab, i, rng, reference, window_s) for i in range(runs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--branches", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ikefleet-soak-") as tmp:
        outcomes = soak(Path(tmp), args.runs, seed, args.branches)
    elapsed = time.monotonic() - began
    failed = [o for o in outcomes if not o.ok]
    if args.json:
        print(json.dumps({"seed": seed, "runs": len(outcomes), "failed": len(failed), "elapsed_s": elapsed,
                          "outcomes": [asdict(o) | {"ok": o.ok} for o in outcomes]}, indent=1))
    else:
        by = Counter((o.action, o.interruption, o.ok) for o in outcomes)
        print(f"seed {seed}: {len(outcomes)} runs, {len(failed)} failed, {elapsed:.0f} s")
        for (action, interruption, ok), count in sorted(by.items()):
            print(f"  {action:8} {interruption:13} {'ok' if ok else 'FAILED':7} {count}")
        for o in failed:
            print(f"run {o.run} ({o.action}, {o.interruption} on {o.target} at {o.delay_s} s): {o.problems}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
