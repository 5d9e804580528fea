"""A wave's certificate hand-over in one hub task: every branch gets its own bundle (own passphrase, own
copies of the CA and server PEM), one branch's failure leaves the others' bundles, nothing left on the hub."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests_support import fast_keys

from ikefleet.inventory import load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
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


def test_bundle_files_are_owner_only_under_any_umask(hub_pki: tuple[Lab, object]) -> None:
    _, (hub, plan) = hub_pki  # type: ignore[misc]
    h = plan.hub
    old = os.umask(0)
    try:
        res = hub.run(task=pki.export_bundle, branch="br1", client="br1-client", ca=h.ca_certificate,
                      server=h.server_certificate, on_failed=True)
    finally:
        os.umask(old)
    bundle = res["hub"][0].result
    try:
        assert stat.S_IMODE(bundle.directory.stat().st_mode) == 0o700
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in bundle.directory.iterdir()}
        assert set(modes) >= {bundle.client_p12.name, bundle.ca_pem.name, bundle.server_pem.name}
        assert set(modes.values()) == {0o600}, modes
    finally:
        bundle.discard()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_only_the_temporary_directories_of_dead_runs(tmp_path: Path) -> None:
    def made(name: str, pid: int | None) -> Path:
        directory = tmp_path / f"{pki.TEMP_PREFIX}{name}"
        directory.mkdir(mode=0o700)
        (directory / "ikefleet-br2-client.p12").write_bytes(b"key material")
        if pid is not None:
            (directory / pki.OWNER_FILE).write_text(f"{pid}\n")
        return directory

    dead, live = made("dead", _dead_pid()), made("live", os.getpid())
    fresh, stale = made("fresh", None), made("stale", None)
    os.utime(stale, (time.time() - 2 * pki.ORPHAN_AGE_S,) * 2)
    # a run between creating its pid file and writing the pid: another run's sweep must leave it alone
    writing, stale_empty = made("writing", None), made("stale-empty", None)
    (writing / pki.OWNER_FILE).touch()
    (stale_empty / pki.OWNER_FILE).touch()
    os.utime(stale_empty, (time.time() - 2 * pki.ORPHAN_AGE_S,) * 2)
    other = tmp_path / "someone-else"
    other.mkdir()
    removed = pki.sweep_temporary(tmp_path)
    assert sorted(removed) == sorted([dead, stale, stale_empty])
    assert not dead.exists() and not stale.exists() and not stale_empty.exists()
    assert live.exists() and fresh.exists() and writing.exists() and other.exists()


def test_a_run_killed_with_9_leaves_key_material_the_next_run_sweeps(tmp_path: Path) -> None:
    code = (
        "import sys; from ikefleet.tasks import pki\n"
        "d = pki.private_directory(); (d / 'ikefleet-br2-client.p12').write_bytes(b'k')\n"
        "print(d, flush=True); sys.stdin.read()\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout is not None
    left = Path(child.stdout.readline().strip())
    assert left.parent == tmp_path and (left / "ikefleet-br2-client.p12").exists()
    assert pki.sweep_temporary(tmp_path) == []  # its run is still going
    child.kill()
    child.wait()
    assert pki.sweep_temporary(tmp_path) == [left] and not left.exists()
