"""Your own rollout from ikefleet's tasks, with plain Nornir: the hub first (its certificate authority, the
branches' certificates, its configuration), then the branches in waves (a canary, then the rest): each wave
gets its certificates from the hub, converges, and is gated on verify's checks; a branch that fails its
gate is put back to the configuration it had before. Every outcome is recorded in a run directory.

    python own_rollout.py path/to/config.yaml [GATE_TIMEOUT_S]

Exit 0 when every router converged and every branch passed its gate, 1 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.filter import F
from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Result, Task
from nornir_utils.plugins.functions import print_result

from ikefleet.fleet import Fleet, with_versions
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.plan import Plan, build_plan, resolve_clients
from ikefleet.processors import RunRecord
from ikefleet.rundir import RunDir
from ikefleet.tasks import (
    converge,
    detect_version,
    ensure_authority,
    ensure_clients,
    export_bundles,
    hub_clients,
    install_branch,
    put_back_branches,
    wait_until_converged,
)
from ikefleet.tasks.pki import Bundle, CertPolicy, installed_fingerprint
from ikefleet.verify.expected import expected_state, route_reads
from ikefleet.waves import Amount, plan_waves


def record(host: Host, result: MultiResult) -> dict[str, Any] | None:
    """A host's outcome as the rollout records it (one line of results.jsonl), from its converge task."""
    outcome = next((r.result for r in result if hasattr(r.result, "to_json")), None)
    return outcome.to_json() if outcome is not None else {"host": host.name, "status": "failed"}


def lacks_certificate(task: Task, *, plan: Plan, fingerprints: dict[str, str]) -> Result:
    """Does the branch lack the client certificate the hub holds for it (read only)?"""
    client = plan.branch(task.host.name).client_certificate
    return Result(host=task.host, result=installed_fingerprint(task, client) != fingerprints[client])


def certificate_then_converge(task: Task, *, fleet: Fleet, plan: Plan, bundles: dict[str, Bundle],
                              run: RunDir) -> Result:
    """Install the branch's certificate if it was handed one, then converge its configuration."""
    name, h = task.host.name, plan.hub
    if name in bundles:
        task.run(task=install_branch, bundle=bundles[name], client=plan.branch(name).client_certificate,
                 ca=h.ca_certificate, server=h.server_certificate)
    return task.run(task=converge, intended_script=render_host(fleet, plan, name), run=run)[0]


def roll_out_hub(hub: Nornir, fleet: Fleet, run: RunDir) -> Plan | None:
    """The CA, the hub's certificate, one client certificate per branch, then the hub's configuration.
    Returns the plan with the certificate names the hub holds (None: the hub failed)."""
    h, policy = build_plan(fleet).hub, CertPolicy(**vars(fleet.defaults.certificates))
    done = hub.run(task=ensure_authority, ca=h.ca_certificate, server=h.server_certificate,
                   hub_wan=str(h.wan_address), policy=policy)
    if done.failed:
        print_result(done)
        return None
    clients = hub.run(task=ensure_clients, clients=[b.client_certificate for b in build_plan(fleet).branches],
                      ca=h.ca_certificate, policy=policy)
    if clients.failed:
        print_result(clients)
        return None
    held = clients[h.name][0].result  # base name -> the certificate the hub holds (name, fingerprint)
    plan = resolve_clients(build_plan(fleet), [c.name for c in held.values()])
    configured = hub.with_processors([RunRecord(run, record)]).run(
        task=converge, intended_script=render_host(fleet, plan, h.name), run=run)
    print_result(configured)
    return None if configured.failed else plan


def roll_out_wave(nr: Nornir, wave: list[str], fleet: Fleet, plan: Plan, run: RunDir,
                  gate_timeout_s: float) -> list[str]:
    """One wave: certificates handed over, configuration converged, the gate; the branches that fail it are
    put back. Returns the failed branches."""
    h = plan.hub
    branches = nr.filter(F(name__in=wave))
    held = nr.filter(name=h.name).run(task=hub_clients, plan=plan)[h.name][0].result  # read only
    fingerprints = {c.name: c.fingerprint for c in held.values()}
    lacking = branches.run(task=lacks_certificate, plan=plan, fingerprints=fingerprints)
    wanting = {b: plan.branch(b).client_certificate for b in wave if lacking[b][0].result is True}
    bundles: dict[str, Bundle] = {}
    if wanting:
        exported = nr.filter(name=h.name).run(task=export_bundles, clients=wanting, ca=h.ca_certificate,
                                              server=h.server_certificate)
        bundles = {b: x for b, x in exported[h.name][0].result.items() if isinstance(x, Bundle)}
    try:
        done = branches.with_processors([RunRecord(run, record)]).run(
            task=certificate_then_converge, fleet=fleet, plan=plan, bundles=bundles, run=run)
    finally:
        for bundle in bundles.values():
            bundle.discard()  # the PKCS#12 files and their passphrases leave the jump host
    print_result(done)
    failed = sorted(done.failed_hosts)
    gate = wait_until_converged(nr, [b for b in wave if b not in failed],
                                expected=expected_state(fleet, plan, wave), timeout_s=gate_timeout_s,
                                routes=route_reads(fleet, plan))
    snapshots = {b: (run.path / "backups" / f"{b}.rsc").read_text() for b in gate.failed
                 if (run.path / "backups" / f"{b}.rsc").is_file()}  # the export read before the change
    backs = put_back_branches(nr, snapshots, fleet=fleet, plan=plan)
    for name, why in gate.failed.items():
        print(f"{name}: gate failed: {why}; {backs.get(name, 'this run did not change its configuration')}")
    return failed + sorted(gate.failed)


def main(config: str, gate_timeout_s: float = 60.0) -> int:
    nr = InitNornir(config_file=config)
    try:
        versions = nr.run(task=detect_version)  # every router reached, and the RouterOS each runs
        if versions.failed:
            print_result(versions)
            return 1
        fleet = with_versions(load_inventory(config),
                              {name: multi[0].result.version for name, multi in versions.items()})
        run = RunDir(Path(config).resolve().parent / ".ikefleet", "own-rollout")
        plan = roll_out_hub(nr.filter(name=fleet.hub.name), fleet, run)
        if plan is None:
            return 1
        failed: list[str] = []
        for wave in plan_waves([b.name for b in fleet.branches], canary=1, wave_size=Amount(50, True)):
            failed += roll_out_wave(nr, wave, fleet, plan, run, gate_timeout_s)
            if failed:  # no later wave after a failure
                break
        print(f"run directory: {run.path}")
        print(f"failed: {', '.join(failed) or 'none'}")
        return 1 if failed else 0
    finally:
        nr.close_connections()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], *(float(a) for a in sys.argv[2:3])))
