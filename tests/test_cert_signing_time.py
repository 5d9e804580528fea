"""The hub's signing takes real (scaled) time: the rollout waits for each certificate to be signed, and a
sign that does not finish in time fails with a clear error and leaves no half-made certificate."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ikefleet.inventory import load_inventory
from ikefleet.lab import certificates
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.plan import build_plan
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.tasks import pki


def certificate_policy(lab: Lab, **values: int) -> None:
    path = lab.directory / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": 2048, **values}
    with path.open("w") as out:
        yaml.dump(data, out)


def names(lab: Lab, router: str) -> dict[str, bool]:
    """The router's certificates: name -> signed."""
    return {item.get("name"): certificates.is_signed(item)
            for item in certificates.certificates(lab.routers[router])}


def test_the_hub_waits_for_every_key_it_makes(tmp_path: Path) -> None:
    # CCR, 2048 bits: 10 s real, 0.5 s here per certificate; the hub makes four one after another
    with Lab.start(tmp_path / "lab", branches=1, time_scale=0.05, convergence_delay=0.05) as lab:
        certificate_policy(lab)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()
        assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
        hub, branch = (spec.name for spec in lab.plan.specs())
        on_hub = names(lab, hub)
        assert len(on_hub) >= 3 and all(on_hub.values()), on_hub
        assert names(lab, branch) and all(names(lab, branch).values())

        # A renewal whose sign does not finish in time keeps the certificate in use and leaves no template.
        lab.clock.time_scale = 100
        certificate_policy(lab, sign_timeout_s=1)
        config = lab.directory / "config.yaml"
        fleet = load_inventory(config)
        plan = build_plan(fleet)
        nr = init_nornir(config)
        try:
            client = plan.branches[0].client_certificate
            res = nr.filter(name=hub).run(task=pki.ensure_clients, clients=[client],
                                          ca=plan.hub.ca_certificate, renew=(client,),
                                          policy=pki.CertPolicy(**vars(fleet.defaults.certificates)))
        finally:
            nr.close_connections(on_failed=True)
        assert res.failed and "was not signed within 1 s" in str(res[hub][0].exception)
        assert names(lab, hub) == on_hub  # the same certificates, all signed: nothing added, nothing lost


def test_a_sign_that_never_finishes_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    # 10 s real x 100: the CA's key takes 1,000 s here, the inventory allows 1 s
    with Lab.start(tmp_path / "lab", branches=1, time_scale=100, convergence_delay=0.05) as lab:
        certificate_policy(lab, sign_timeout_s=1)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()
        hub, branch = (spec.name for spec in lab.plan.specs())
        error = summary.hosts[hub].error or ""
        assert summary.failed and "was not signed within 1 s" in error, summary.to_json()
        assert "sign_timeout_s" in error  # the fix
        assert names(lab, hub) == {}  # the unsigned CA template was removed
        assert names(lab, branch) == {}


def hub_task(lab: Lab, task: Any, kwargs: Any) -> Any:
    """Run a pki task on the hub (serial runner: an interrupt reaches the caller as it would the CLI)."""
    config = lab.directory / "config.yaml"
    fleet = load_inventory(config)
    plan = build_plan(fleet)
    nr = init_nornir(config)
    policy = pki.CertPolicy(**vars(fleet.defaults.certificates))
    try:
        return nr.filter(name=plan.hub.name).run(task=task, policy=policy, **kwargs(plan))
    finally:
        nr.close_connections(on_failed=True)


def authority(plan: Any) -> dict[str, Any]:
    h = plan.hub
    return {"ca": h.ca_certificate, "server": h.server_certificate, "hub_wan": str(h.wan_address)}


def test_an_interrupt_while_the_hub_signs_removes_the_template(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sleep, pressed = time.sleep, []

    with Lab.start(tmp_path / "lab", branches=1, time_scale=100, convergence_delay=0.05) as lab:
        hub = lab.routers[lab.plan.specs()[0].name]

        def ctrl_c_while_the_hub_makes_a_key(seconds: float) -> None:
            if hub.work and not pressed:  # once, as an operator would
                pressed.append(True)
                raise KeyboardInterrupt
            sleep(seconds)

        certificate_policy(lab)
        monkeypatch.setattr(time, "sleep", ctrl_c_while_the_hub_makes_a_key)
        with pytest.raises(KeyboardInterrupt):
            hub_task(lab, pki.ensure_authority, kwargs=authority)
        monkeypatch.undo()
        assert pressed and names(lab, hub.name) == {}


def test_a_template_a_killed_run_left_is_replaced_by_a_signed_certificate(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=1, convergence_delay=0.05) as lab:
        certificate_policy(lab)
        hub = lab.plan.specs()[0].name
        plan = build_plan(load_inventory(lab.directory / "config.yaml"))
        session = Session(lab.routers[hub], "admin")  # a run killed while the hub was making the CA's key
        session.execute(f"/certificate add name={plan.hub.ca_certificate} common-name=x key-size=2048")
        res = hub_task(lab, pki.ensure_authority, kwargs=authority)
        assert not res.failed, res[hub][0].result
        assert names(lab, hub) == {plan.hub.ca_certificate: True, plan.hub.server_certificate: True}


def test_the_sign_timeout_comes_from_the_slowest_router_unless_the_inventory_sets_it() -> None:
    from ikefleet.routeros import keygen

    policy = pki.CertPolicy(key_size=4096, ca_days_valid=5890, days_valid=3650, renew_window_days=30)
    assert pki.sign_timeout(policy) == keygen.slowest(4096) * pki.SIGN_MARGIN >= 130 * pki.SIGN_MARGIN
    assert pki.sign_timeout(replace(policy, key_size=2048)) < pki.sign_timeout(policy)
    assert pki.sign_timeout(replace(policy, sign_timeout_s=45)) == 45


def test_a_negative_sign_timeout_is_refused_naming_the_field(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from fleet_factory import write_inventory
    from test_validate import assert_reported, defaults_with

    config = write_inventory(tmp_path, defaults_data=defaults_with("certificates.sign_timeout_s", -1))
    assert_reported(config, capsys, "-", "certificates.sign_timeout_s")
