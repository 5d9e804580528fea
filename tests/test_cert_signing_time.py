"""The hub's signing takes real (scaled) time: the rollout waits for each certificate to be signed, and a
sign that does not finish in time fails with a clear error and leaves no half-made certificate."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from ikefleet.inventory import init_nornir, load_inventory
from ikefleet.lab import certificates
from ikefleet.lab.manager import Lab
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
