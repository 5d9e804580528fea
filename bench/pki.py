"""Benchmark: the key work of a first rollout and of a mass renewal, on the lab's real-router timing.

Run: .venv/bin/python bench/pki.py --branches 50 --json [--time-scale 0.001] [--key-size 4096]

Prints one JSON object: per flow, `first_rollout_real_s` and `renewal_real_s` (every branch's certificate
renewed at once), plus the time scale, model and key size. `hub` (RouterOS before 7.9): the hub makes the
CA, its server certificate and every branch's key, one after another, as the rollout does it: the first
wave's (the canary) before the hub converges, the later waves' in the background (tasks/signer.py) while the
waves push; `first_wave_ready_real_s` is when the first wave can start (before the overlap: only after every
key, i.e. `first_rollout_real_s`), `renewal_first_ready_real_s` when the first renewed branch can be handed
over (`ikefleet certs renew` of them all). The hub's own key work is not shorter with the overlap (one key
after another on one CPU): what changes is that the waves' pushes and gates run meanwhile instead of after
it. `--flow hub|branch` runs one flow only. `branch` (7.9+ on both ends,
runbooks/branch_keys.py): the hub makes the CA and its server certificate; every branch makes its own key
at the same time, the hub signs the requests (`sign_request` in the table) and the certificates are
imported on the branches.

Scaling back: the lab makes each key in `keygen_timing.yaml` seconds times the time scale, counted after
its own crypto. Each flow runs twice on fresh labs, at the chosen scale and at scale 0 (no waits):
real_s = (wall_scaled - wall_zero) / time_scale, i.e. the time the routers spend making keys plus ikefleet's
waiting for them, as real routers would take it. ikefleet's poll schedule (POLL_FIRST_S, POLL_MAX_S) is
scaled too, so the slack between a key being done and ikefleet seeing it is scaled back with the rest (to
within one lab round trip per sign). The lab's RSA keys come from a pool made before the clock starts (the
time Python takes to make a 4096-bit key varies by seconds; that noise divided by the scale would swamp
the figure). Not included (not scaled, so they cancel out in the difference): SSH round trips, the lab's
crypto, and the rest of a rollout (configuration push, waves, gates, hand-over). The figures are only as good
as the timing table's estimates (see its sources).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nornir.core import Nornir
from ruamel.yaml import YAML

from ikefleet.inventory import load_inventory
from ikefleet.lab import pki as lab_pki
from ikefleet.lab.manager import DEFAULT_MODEL, DEFAULT_VERSION, Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import Plan, build_plan
from ikefleet.runbooks.branch_keys import make_keys
from ikefleet.tasks import pki
from ikefleet.tasks.signer import HubSigner, jobs, session

POLL = (pki.POLL_FIRST_S, pki.POLL_MAX_S)
BRANCH_MADE_VERSION = "7.16.1"  # hub and branches: sign-certificate-request (7.9+)
BRANCH_WORKERS = 16  # see `_workers`


def _key_size(lab: Lab, key_size: int) -> None:
    path = lab.directory / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": key_size}
    with path.open("w") as out:
        yaml.dump(data, out)


class KeyPool:
    """Keys made before the clock starts, handed out in order by the lab's `generate_key` (`reset`: again)."""

    def __init__(self, key_size: int, count: int) -> None:
        self.key_size = str(key_size)
        self.keys = [lab_pki.generate_key(self.key_size) for _ in range(count)]
        self.next = 0
        self.real = lab_pki.generate_key

    def reset(self) -> None:
        self.next = 0

    def generate_key(self, key_size: str) -> Any:
        if key_size != self.key_size or self.next >= len(self.keys):
            return self.real(key_size)
        self.next += 1
        return self.keys[self.next - 1]


@contextmanager
def _fleet(branches: int, time_scale: float, key_size: int, model: str, version: str | None = None,
           workers: int | None = None) -> Iterator[tuple[Nornir, Plan, pki.CertPolicy]]:
    """A fresh lab at `time_scale` (its routers on `version`, Nornir with `workers` threads) and what a
    flow needs of it: the Nornir object, the address plan and the certificate policy."""
    pki.POLL_FIRST_S, pki.POLL_MAX_S = POLL[0] * time_scale, POLL[1] * time_scale
    with tempfile.TemporaryDirectory(prefix="ikefleet-bench-pki-") as tmp, \
            Lab.start(Path(tmp) / "lab", branches=branches, model=model, time_scale=time_scale,
                      version=version or DEFAULT_VERSION, convergence_delay=0.05) as lab:
        _key_size(lab, key_size)
        if workers:
            _workers(lab, workers)
        config = lab.directory / "config.yaml"
        fleet = load_inventory(config)
        yield init_nornir(config), build_plan(fleet), pki.CertPolicy(**vars(fleet.defaults.certificates))


def _in_background(nr: Nornir, plan: Plan, policy: pki.CertPolicy, clients: dict[str, str],
                   renew: tuple[str, ...] = ()) -> float:
    """The hub makes the certificates of `clients` (branch -> base name) with a HubSigner, as the rollout
    does for its later waves and `certs renew` for every hub-made branch; returns perf_counter() when the
    first one is made (the first hand-over could start), after waiting for them all."""
    hub = nr.filter(name=plan.hub.name)
    certs = hub.run(task=pki.certificates, raise_on_error=True)[plan.hub.name][0].result
    todo = jobs(certs, clients, policy, datetime.now(UTC), renew)
    dev = hub.run(task=session, raise_on_error=True)[plan.hub.name][0].result
    signer = HubSigner(dev, todo, ca=plan.hub.ca_certificate, policy=policy).start()
    try:
        first = 0.0
        for job in todo:
            why = signer.wait(job.branch)
            if why is not None:
                raise SystemExit(f"hub-made flow failed on {job.branch}: {why}")
            first = first or time.perf_counter()
    finally:
        signer.stop()
    return first


def hub_flow(branches: int, time_scale: float, key_size: int, model: str) -> tuple[float, ...]:
    """Wall seconds of the hub-made flow on a fresh lab at `time_scale`: (first issue, mass renewal, first
    wave ready, first renewal ready). The first wave is the rollout's default canary (one branch)."""
    with _fleet(branches, time_scale, key_size, model) as (nr, plan, policy):
        hub = nr.filter(name=plan.hub.name)
        h = plan.hub
        bases = {b.name: b.client_certificate for b in plan.branches}
        later = dict(list(bases.items())[1:])
        try:
            start = time.perf_counter()
            hub.run(task=pki.ensure_authority, ca=h.ca_certificate, server=h.server_certificate,
                    hub_wan=str(h.wan_address), policy=policy, raise_on_error=True)
            hub.run(task=pki.ensure_clients, clients=list(bases.values()), ca=h.ca_certificate, policy=policy,
                    branch_made=tuple(later.values()), raise_on_error=True)  # later: in the background
            ready = time.perf_counter() - start
            _in_background(nr, plan, policy, later)
            first = time.perf_counter() - start
            start = time.perf_counter()
            renewal_ready = _in_background(nr, plan, policy, bases, renew=tuple(bases.values())) - start
            renewal = time.perf_counter() - start
        finally:
            nr.close_connections(on_failed=True)
    return first, renewal, ready, renewal_ready


def _workers(lab: Lab, workers: int) -> None:
    """Nornir's threads for this lab: every lab router answers from this one Python process, and 50
    branches importing at once (each a key decryption) starve its console past netmiko's 10 s echo wait on
    a loaded machine. The key work does not depend on it (every branch starts its key before any is
    waited for); the import's time cancels out in the scale-0 difference."""
    path = lab.directory / "config.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.setdefault("runner", {}).setdefault("options", {})["num_workers"] = workers
    with path.open("w") as out:
        yaml.dump(data, out)


def branch_flow(branches: int, time_scale: float, key_size: int, model: str) -> tuple[float, ...]:
    """Wall seconds of (first issue, mass renewal) of the branch-made flow on a fresh all-7.16.1 lab."""
    lab = _fleet(branches, time_scale, key_size, model, BRANCH_MADE_VERSION, BRANCH_WORKERS)
    with lab as (nr, plan, policy):
        hub = nr.filter(name=plan.hub.name)
        h = plan.hub
        clients = {b.name: b.client_certificate for b in plan.branches}
        try:
            start = time.perf_counter()
            hub.run(task=pki.ensure_authority, ca=h.ca_certificate, server=h.server_certificate,
                    hub_wan=str(h.wan_address), policy=policy, raise_on_error=True)
            first_work = make_keys(nr, h.name, clients, ca=h.ca_certificate, server=h.server_certificate,
                                   policy=policy)
            first = time.perf_counter() - start
            start = time.perf_counter()
            renewal_work = make_keys(nr, h.name, clients, ca=h.ca_certificate, server=h.server_certificate,
                                     policy=policy, renew=tuple(clients.values()))
            renewal = time.perf_counter() - start
        finally:
            nr.close_connections(on_failed=True)
        failed = {**first_work.failed, **renewal_work.failed}
        if failed or len(first_work.branches) != branches or len(renewal_work.branches) != branches:
            raise SystemExit(f"branch-made flow failed on {len(failed)} branch(es): {failed}")
    return first, renewal


FIGURES = ("first_rollout_real_s", "renewal_real_s", "first_wave_ready_real_s", "renewal_first_ready_real_s")


def _figures(scaled: tuple[float, ...], zero: tuple[float, ...], time_scale: float) -> dict[str, Any]:
    real = [(s - z) / time_scale for s, z in zip(scaled, zero, strict=True)]
    return {**{name: round(x, 1) for name, x in zip(FIGURES, real, strict=False)},
            "wall_s": [round(x, 2) for x in scaled], "wall_at_scale_0_s": [round(x, 2) for x in zero]}


def measure(branches: int, time_scale: float, key_size: int, model: str,
            branch_time_scale: float | None = None, only: str = "") -> dict[str, Any]:
    """Both flows; the branch flow at `branch_time_scale` (default `time_scale`): its real time is minutes,
    not hours, so at the hub flow's scale the noise of its SSH round trips would swamp it."""
    pool = KeyPool(key_size, 2 * branches + 2)  # CA, server, each branch's first and renewed certificate
    lab_pki.generate_key = pool.generate_key
    flows: dict[str, Any] = {}
    try:
        for flow, run, scale in (("hub", hub_flow, time_scale),
                                 ("branch", branch_flow, branch_time_scale or time_scale)):
            if only and flow != only:
                continue
            pool.reset()
            scaled = run(branches, scale, key_size, model)
            pool.reset()
            zero = run(branches, 0.0, key_size, model)
            flows[flow] = {**_figures(scaled, zero, scale), "time_scale": scale}
    finally:
        lab_pki.generate_key = pool.real
        pki.POLL_FIRST_S, pki.POLL_MAX_S = POLL
    return {"branches": branches, "time_scale": time_scale, "model": model, "key_size": key_size, **flows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--time-scale", type=float, default=0.001, help="the hub-made flow's")
    parser.add_argument("--branch-time-scale", type=float, default=0.02,
                        help="the branch-made flow's (its real time is minutes: a larger scale)")
    parser.add_argument("--key-size", type=int, default=4096, choices=(1024, 1536, 2048, 4096, 8192))
    parser.add_argument("--model", default=DEFAULT_MODEL, help="lab router model (keygen_timing.yaml class)")
    parser.add_argument("--json", action="store_true", help="one JSON object (the default prints it too)")
    parser.add_argument("--flow", choices=("hub", "branch"), default="", help="one flow only (default: both)")
    args = parser.parse_args(argv)
    if args.time_scale <= 0 or args.branch_time_scale <= 0:
        parser.error("--time-scale and --branch-time-scale must be > 0 (the figures are scaled back by them)")
    result = measure(args.branches, args.time_scale, args.key_size, args.model, args.branch_time_scale,
                     args.flow)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
