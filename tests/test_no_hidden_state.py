"""Runs keep their settings and facts out of the Nornir inventory's data and out of the environment.

Settings travel in the `routeros` connection options, per-session facts on the connection, per-run facts
in the runbook: after a rollout (twice: the second one takes the unchanged path) and a verify, every host's
`data` and the defaults' `data` hold exactly what the inventory files put there, and `os.environ` is as it
was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from ruamel.yaml import YAML
from tests_support import fast_keys

import ikefleet.runbooks.rollout as rollout_runbook
import ikefleet.runbooks.verify as verify_runbook
from ikefleet.connection import settings
from ikefleet.connection.hostkeys import known_hosts_path
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.runbooks.verify import Verify, VerifyOptions


def data_of(nr: Nornir) -> dict[str, Any]:
    """Every host's data and the defaults' data, as plain values."""
    return {"defaults": dict(nr.inventory.defaults.data),
            **{name: dict(host.data) for name, host in nr.inventory.hosts.items()}}


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Nornir]]:
    """The Nornir objects the runbooks make (init_nornir watched, not changed)."""
    made: list[Nornir] = []

    def watched(*args: Any, **kwargs: Any) -> Nornir:
        nr: Nornir = real(*args, **kwargs)
        made.append(nr)
        return nr

    real = rollout_runbook.init_nornir
    monkeypatch.setattr(rollout_runbook, "init_nornir", watched)
    monkeypatch.setattr(verify_runbook, "init_nornir", watched)
    yield made


def test_rollout_and_verify_leave_inventory_data_and_environment_as_loaded(
    tmp_path: Path, used: list[Nornir]
) -> None:
    environment = dict(os.environ)
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        config = lab.directory / "config.yaml"
        for _ in range(2):  # the first changes every router, the second finds them converged
            lab.settle()
            summary = Rollout(RolloutOptions(config=config, gate_timeout_s=30.0)).run()
            assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
        assert {o.status for o in summary.hosts.values()} == {"unchanged"}
        lab.settle()
        assert Verify(VerifyOptions(config=config, record=False)).run().compliant
        fresh = data_of(InitNornir(config_file=str(config), logging={"enabled": False}))
    assert len(used) == 3
    for nr in used:
        assert data_of(nr) == fresh
    assert dict(os.environ) == environment


def test_a_host_with_its_own_connection_extras_still_gets_the_runs_settings(tmp_path: Path) -> None:
    """Nornir takes the nearest level's extras whole: a host whose inventory gives it `routeros` extras of
    its own keeps them and still gets the pin file, the policy and the inventory's names."""
    with Lab.start(tmp_path / "lab", branches=1) as lab:
        hosts = lab.directory / "inventory" / "hosts.yaml"
        yaml = YAML()
        data = yaml.load(hosts.read_text())
        data["br1"]["connection_options"] = {"routeros": {"extras": {"banner_timeout": 20}}}
        with hosts.open("w") as out:
            yaml.dump(data, out)
        nr = init_nornir(lab.directory / "config.yaml", accept_new_hostkeys=True)
        known = str(known_hosts_path(lab.directory / "config.yaml"))
        for name in ("br1", "hub"):
            extras = settings.of(nr.inventory.hosts[name])
            assert extras[settings.KNOWN_HOSTS] == known and extras[settings.ACCEPT_NEW_HOSTKEYS] is True
            assert extras[settings.INVENTORY_NAMES] == {"hub": "hub", "br1": "br1"}
            assert extras[settings.CONNECT]["attempts"] >= 1
        assert settings.of(nr.inventory.hosts["br1"])["banner_timeout"] == 20
        assert "banner_timeout" not in settings.of(nr.inventory.hosts["hub"])
        to_netmiko = settings.netmiko_extras(settings.of(nr.inventory.hosts["br1"]))
        assert to_netmiko["banner_timeout"] == 20 and to_netmiko.keys().isdisjoint(settings.KEYS)


def test_verify_parses_the_inventory_files_once_and_reads_every_router(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Fleet and the Nornir object of one verify come from one parse of the inventory's YAML (issue 22:
    0.05 s a parse at 200 hosts), and that Nornir object still logs in to every router with credentials."""
    import ikefleet.inventory as inventory_module

    parsed: list[str] = []
    real = inventory_module._simple_inventory  # SimpleInventory's load, with ikefleet's YAML loader

    def counted(host_file: Path, *files: Path) -> Any:
        parsed.append(str(host_file))
        return real(host_file, *files)

    monkeypatch.setattr(inventory_module, "_simple_inventory", counted)
    with Lab.start(tmp_path / "lab", branches=2) as lab:
        report = Verify(VerifyOptions(config=lab.directory / "config.yaml", record=False)).run()
    assert parsed == [str(lab.directory / "inventory" / "hosts.yaml")]
    reached = {r.host for r in report.results if r.check == "host.reachable" and r.status == "pass"}
    assert reached == {"hub", "br1", "br2"}
