"""Randomized interruption soak: rollouts and certificate renewals cut at random moments on a lab fleet.

Each run puts a hand change (drift) on some branches, then starts `ikefleet rollout` or `ikefleet certs renew`
as its own process and, at a random moment, sends SIGINT once or twice, SIGKILL, drops a router's session
or makes a router refuse a command. Afterwards every router must be either as it was before the run or
fully converged (its configuration compared menu by menu, certificates apart), its IPsec identity must
name a certificate it holds with its private key, and the next clean rollout must converge the fleet.

`--flow branch` runs it on a fleet of RouterOS 7.16 routers, where the branches make their keys and the hub
signs their requests (runbooks/branch_keys.py); `--flow mixed` on a fleet where some branches run 6.49 (the
hub-made PKCS#12 flow beside the branch-made one). There a signal is also sent inside the key work: once the
target branch's request is made, once it was fetched, while the hub signs it, once the new certificate is
imported; and half the rollouts are a mass renewal (every certificate inside its renewal window).

    .venv/bin/python bench/soak.py --runs 100            # the figures: outcomes per interruption
    .venv/bin/python bench/soak.py --runs 40 --flow branch --time-scale 0.1
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

from ikefleet.lab import certificates
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.plan import client_base
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.tasks import pki

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from tests_support import certificate_policy  # noqa: E402

CERTIFICATES = "/certificate"
IDENTITY = "/ip ipsec identity"
INTERRUPTIONS = ("none", "sigint", "sigint-twice", "sigkill", "drop", "refuse")
SIGNALS = ("sigint", "sigint-twice", "sigkill")
# The lab's RouterOS versions per flow (router i takes the i-th, in turn; the hub first): `hub`, keys made on
# the hub (6.49: no sign-certificate-request); `branch`, keys made on the branches (7.9+ on both ends);
# `mixed`, both in one fleet (br2 and br5 on 6.49 in a 5-branch lab).
FLOWS = {"hub": "6.49.2", "branch": "7.16.1", "mixed": "7.16.1,7.16.1,6.49.2"}
# Hand changes ikefleet puts back: each leaves a branch with several commands to push. RouterOS 7 has no
# `/routing filter` menu: its rules are `/routing filter rule`.
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
# In the branch flow, the key work's own commands too: (router, regex); "target" is the target branch.
REFUSED_KEYS = (
    ("target", "create-certificate-request"),
    ("target", "certificate add name=ikefleet-request"),
    ("target", "certificate import file-name=certificate-request_key"),
    ("hub", "sign-certificate-request"),
    ("hub", "export-certificate .*-signed"),
)
# Where a signal lands once the target began (`change`: its configuration changed; the others: the branch
# flow's key work for it, see `stage`).
MOMENTS = ("change", "request made", "request fetched", "hub signing", "certificate imported")
# The fleet's certificates are valid 100 days, renewed 30 days before they expire. A mass renewal (run i)
# widens the window past every certificate's validity: 100 + 2i days, and issues for one day longer than
# that (the window must be shorter than the validity), so the next one's window is again past them all.
POLICY = (100, 30)


def renew_all(index: int) -> tuple[int, int]:
    return 101 + 2 * index, 100 + 2 * index
LATENCIES_MS = (40, 300, 1000)  # the target router's: a slow one gives the signal a push to land in


@dataclass(frozen=True)
class Case:
    """A run's action ("rollout", "rollout-renewing", "renew"), interruption (INTERRUPTIONS) and the moment
    its signal waits for (MOMENTS, "" for a random one), fixed instead of drawn."""

    action: str
    interruption: str
    moment: str = ""


@dataclass
class Outcome:
    run: int
    action: str
    interruption: str
    target: str
    delay_s: float
    exit_code: int | None
    moment: str = ""  # what the signal waited for (MOMENTS), "" when sent at a random moment
    reached: bool = False  # whether that moment came (else the signal went when the run ended or 60 s)
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
    lines = [re.sub(r" (remote-)?certificate=\S+", "", line) if line.startswith(IDENTITY) else line
             for line in lines]
    # The identities as a set, last: a branch-made renewal adds the hub's identity for the new certificate
    # and removes the old one, so the hub lists them in another order, and between the two the hub has
    # both (it accepts either certificate: a stopped renewal's documented state, which the next rollout
    # converges; `certificate_problem` checks each names a certificate held). Their order means nothing to
    # RouterOS (match-by=certificate: each is picked by the certificate its peer presents).
    identities = sorted({line for line in lines if line.startswith(IDENTITY)})
    return [line for line in lines if not line.startswith(IDENTITY)] + identities


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


LEFTOVER_FILE = re.compile(r"^(flash/)?(ikefleet-.*\.(crt|p12|key|csr)|certificate-request(_key)?\.pem)$")


def leftovers(lab: Lab, name: str) -> list[str]:
    """What a converged router should not hold: hand-over and request files, a request template, a
    certificate that is none of the CA, the hub's and the branches' (by base name), two live versions of
    one (the replaced one is removed once the identities name the new one)."""
    branches = [n for n in lab.routers if n != "hub"]
    bases = {"ca", "hub-server", *(f"{b}-client" for b in branches)}
    found = [f for f in lab.routers[name].files.names() if LEFTOVER_FILE.match(f)]
    live: Counter[str] = Counter()
    for cert in certificates.certificates(lab.routers[name]):
        cert_name = cert.values.get("name", "")
        if client_base(cert_name) not in bases:
            found.append(f"certificate {cert_name}")
        elif "revoked" not in cert.private:  # a revoked one stays on the hub: the CA's record
            live[client_base(cert_name)] += 1
    return found + [f"{n} versions of {base}" for base, n in sorted(live.items()) if n > 1]


def _changed(router: Any, snapshot: dict[str, Any]) -> bool:
    try:
        return bool(router.config.to_json() != snapshot)
    except RuntimeError:  # the lab's thread is changing it right now
        return True


def stage(lab: Lab, target: str, held: set[str]) -> set[str]:
    """Which MOMENTS of the key work for `target` are visible in the lab now (`held`: the client certificate
    names the target held before the run): its request and key files written, the request fetched (the key
    file alone left), the request on the hub, a new certificate imported on the target."""
    seen = set()
    try:
        files = set(lab.routers[target].files.names())
        hub_files = lab.routers["hub"].files.names()
        names = {i.values.get("name", "") for i in certificates.certificates(lab.routers[target])}
    except (RuntimeError, OSError):  # the lab's thread is changing them right now
        return seen
    if pki.REQUEST_FILE in files:
        seen.add("request made")
    if pki.REQUEST_KEY_FILE in files and pki.REQUEST_FILE not in files:
        seen.add("request fetched")
    if any(f.endswith(f"{pki.EXPORT_PREFIX}{target}.csr") for f in hub_files):
        seen.add("hub signing")
    if any(n.startswith(f"{target}-client") and n not in held for n in names):
        seen.add("certificate imported")
    return seen


def client_names(lab: Lab, name: str) -> set[str]:
    return {i.values.get("name", "") for i in certificates.certificates(lab.routers[name])
            if i.values.get("name", "").startswith(f"{name}-client")}


def branch_made(lab: Lab, name: str) -> bool:
    return pki.branch_made(lab.routers["hub"].spec.version, lab.routers[name].spec.version)


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
        command = rng.choice(DRIFTS)
        if not lab.routers[name].spec.version.startswith("6."):
            command = command.replace("/routing filter ", "/routing filter rule ")
        Session(lab.routers[name], "admin").execute(command)
    lab.settle()


def one_run(
    lab: Lab, index: int, rng: random.Random, reference: dict[str, list[str]], window_s: float,
    case: Case | None = None,
) -> Outcome:
    """One interrupted run; `case` fixes its action, interruption and moment (else they are drawn)."""
    branches = sorted(n for n in lab.routers if n != "hub")
    action = rng.choice(("rollout", "rollout", "renew"))
    keys = any(branch_made(lab, n) for n in branches)  # a fleet where the branch flow is used
    interruption = INTERRUPTIONS[index % len(INTERRUPTIONS)]  # each kind as often; the rest is drawn
    if case is not None:
        action, interruption = case.action, case.interruption
    target = rng.choice(branches)
    drifted = rng.sample(branches, k=rng.randint(1, 3))
    if target not in drifted and action == "rollout":
        drifted.append(target)
    drift(lab, drifted, rng)
    before = {n: configuration(lab, n) for n in lab.routers}
    delay = round(rng.uniform(0.0, window_s), 2)
    if keys and action == "rollout" and rng.random() < 0.5 and case is None:
        action = "rollout-renewing"  # every certificate inside its renewal window: the key work for all
    outcome = Outcome(index, action, interruption, target, delay, None)
    for name in lab.routers:
        lab.fault(name, "latency", 40)
    lab.fault(target, "latency", rng.choice(LATENCIES_MS))
    if interruption == "drop":
        lab.fault(target, "drop-after", rng.randint(1, 12))
    elif interruption == "refuse":
        refused = (target, rng.choice(REFUSED["renew" if action == "renew" else "rollout"]))
        if keys and action != "rollout" and branch_made(lab, target) and rng.random() < 0.5:
            where, pattern = rng.choice(REFUSED_KEYS)
            refused = (target if where == "target" else where, pattern)
        lab.fault(refused[0], "fail-command", refused[1], "failure: simulated fault")
    argv = ["rollout", "--json", "--gate-timeout", "60"]
    if action == "renew":
        argv = ["certs", "renew", target]
    elif action == "rollout-renewing":
        certificate_policy(lab.directory, *renew_all(index))
    # Half the signals land at a random moment of the run, half once the target router has started to
    # change (a push or a certificate install under way) or, where the target makes its key, at a step of
    # that key work.
    after_change = rng.random() < 0.5
    if after_change and interruption in SIGNALS:
        outcome.moment = "change"
        if keys and action != "rollout" and branch_made(lab, target):
            outcome.moment = rng.choice(MOMENTS)
    if case is not None:
        after_change, outcome.moment = bool(case.moment), case.moment
    watched = lab.routers[target]
    snapshot = watched.config.to_json()
    held = client_names(lab, target)
    lab.settle()
    proc = start(lab, argv)
    try:
        if interruption in SIGNALS:
            if after_change:
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    if outcome.moment == "change" and _changed(watched, snapshot):
                        outcome.reached = True
                        break
                    if outcome.moment in stage(lab, target, held):
                        outcome.reached = True
                        break
                    time.sleep(0.01)
                # inside the key work a step lasts a few commands: the signal lands within it
                delay = round(rng.uniform(0.0, 1.0 if outcome.moment == "change" else 0.1), 2)
                outcome.delay_s = -delay  # negative: seconds after the moment waited for
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
        if action == "rollout-renewing":
            certificate_policy(lab.directory, *POLICY)
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
        left = leftovers(lab, name)
        if left:
            outcome.problems.append(f"{name}: left after the next rollout: {left}")
        now = configuration(lab, name)
        if now != reference[name]:
            extra = sorted(set(now) - set(reference[name]))[:2]
            missing = sorted(set(reference[name]) - set(now))[:2]
            outcome.problems.append(
                f"{name}: not converged after the next rollout (has {extra}, lacks {missing})"
            )
    return outcome


def soak(directory: Path, runs: int, seed: int, branches: int = 5, flow: str = "hub",
         time_scale: float | None = None, cases: tuple[Case, ...] = ()) -> list[Outcome]:
    """`runs` interrupted runs on a lab of `branches` in `flow` (FLOWS); `time_scale`: the lab's key work
    takes this fraction of a real router's time (None: the lab's default); `cases`: the first runs' fixed
    action, interruption and moment."""
    rng = random.Random(seed)
    with Lab.start(directory / "lab", branches=branches, version=FLOWS[flow], convergence_delay=0.05,
                   time_scale=time_scale) as lab:
        certificate_policy(lab.directory, *POLICY)  # 2048-bit keys (fast_keys) valid 100 days
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
        outcomes = []
        for i in range(runs):
            outcomes.append(one_run(lab, i, rng, reference, window_s, cases[i] if i < len(cases) else None))
            o = outcomes[-1]
            print(f"soak: run {i} {o.action} {o.interruption} {o.target} {o.moment or o.delay_s}"
                  f"{' reached' if o.reached else ''}: {'ok' if o.ok else o.problems}", file=sys.stderr,
                  flush=True)
        return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--branches", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--flow", choices=list(FLOWS), default="hub",
                        help="who makes the branches' keys: the hub (6.49), the branches (7.16) or both")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="key work takes this fraction of a real router's time (default: the lab's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ikefleet-soak-") as tmp:
        outcomes = soak(Path(tmp), args.runs, seed, args.branches, args.flow, args.time_scale)
    elapsed = time.monotonic() - began
    failed = [o for o in outcomes if not o.ok]
    if args.json:
        print(json.dumps({"seed": seed, "flow": args.flow, "runs": len(outcomes), "failed": len(failed),
                          "elapsed_s": elapsed,
                          "outcomes": [asdict(o) | {"ok": o.ok} for o in outcomes]}, indent=1))
    else:
        by = Counter((o.action, o.interruption, o.ok) for o in outcomes)
        print(f"seed {seed}, flow {args.flow}: {len(outcomes)} runs, {len(failed)} failed, {elapsed:.0f} s")
        for (action, interruption, ok), count in sorted(by.items()):
            print(f"  {action:16} {interruption:13} {'ok' if ok else 'FAILED':7} {count}")
        moments = Counter(o.moment for o in outcomes if o.moment and o.reached)
        print("  signals after: " + ", ".join(f"{m} {n}" for m, n in sorted(moments.items())))
        for o in failed:
            print(f"run {o.run} ({o.action}, {o.interruption} on {o.target} at {o.delay_s} s"
                  f"{' after ' + o.moment if o.moment else ''}): {o.problems}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
