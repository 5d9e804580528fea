"""A wave's certificate hand-over in one hub task: every branch gets its own bundle (own passphrase, own
copies of the CA and server PEM), one branch's failure leaves the others' bundles, nothing left on the hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests_support import fast_keys

from ikefleet.inventory import init_nornir, load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.plan import build_plan
from ikefleet.tasks import pki


@pytest.fixture(scope="module")
def hub_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, object]]:
    with Lab.start(tmp_path_factory.mktemp("bundles"), branches=3, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        config = lab.directory / "config.yaml"
        fleet = load_inventory(config)
        plan = build_plan(fleet)
        policy = pki.CertPolicy(**vars(fleet.defaults.certificates))
        nr = init_nornir(config)
        hub = nr.filter(name="hub")
        h = plan.hub
        try:
            hub.run(task=pki.ensure_authority, ca=h.ca_certificate, server=h.server_certificate,
                    hub_wan=str(h.wan_address), policy=policy, raise_on_error=True)
            hub.run(task=pki.ensure_clients, clients=[b.client_certificate for b in plan.branches],
                    ca=h.ca_certificate, policy=policy, raise_on_error=True)
            yield lab, (hub, plan)
        finally:
            nr.close_connections(on_failed=True)


def test_one_task_exports_every_bundle_a_failure_stays_with_its_branch(hub_pki: tuple[Lab, object]) -> None:
    lab, (hub, plan) = hub_pki  # type: ignore[misc]
    h = plan.hub
    clients = {"br1": "br1-client", "br2": "br2-client", "br3": "no-such-client"}
    res = hub.run(task=pki.export_bundles, clients=clients, ca=h.ca_certificate, server=h.server_certificate)
    out = res["hub"][0].result
    assert isinstance(out["br3"], str) and "no-such-client" in out["br3"]
    bundles = [out["br1"], out["br2"]]
    try:
        assert all(isinstance(b, pki.Bundle) for b in bundles)
        assert bundles[0].directory != bundles[1].directory
        assert bundles[0].passphrase != bundles[1].passphrase
        for b in bundles:
            assert b.client_p12.stat().st_size > 0 and b.client_p12.name.startswith("ikefleet-br")
            assert b.ca_pem.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
            assert b.server_pem.read_bytes() == bundles[0].server_pem.read_bytes()
            assert b.client_fingerprint
        left = [n for n in lab.routers["hub"].files.names() if "ikefleet-" in n]
        assert left == []  # every exported file removed from the hub
    finally:
        for b in bundles:
            if isinstance(b, pki.Bundle):
                b.discard()
    assert not any(b.directory.exists() for b in bundles if isinstance(b, pki.Bundle))


def test_single_export_for_certs_renew(hub_pki: tuple[Lab, object]) -> None:
    _, (hub, plan) = hub_pki  # type: ignore[misc]
    h = plan.hub
    res = hub.run(task=pki.export_bundle, branch="br2", client="br2-client", ca=h.ca_certificate,
                  server=h.server_certificate)
    bundle = res["hub"][0].result
    assert isinstance(bundle, pki.Bundle)
    bundle.discard()
    failed = hub.run(task=pki.export_bundle, branch="br3", client="nope", ca=h.ca_certificate,
                     server=h.server_certificate)
    assert failed["hub"].failed and "nope" in str(failed["hub"][0].result)
