"""Issue 17.3: two inventory entries never drive one router. Validation refuses a shared hostname:port; every
login refuses a router whose /system identity is another inventory host's name, before anything is sent."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import branch, hub, write_inventory
from tests_support import fast_keys

from ikefleet.cli import plan as plan_cli
from ikefleet.connection.identity import prompt_identity
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions
from ikefleet.runbooks.verify import Verify, VerifyOptions


@pytest.mark.parametrize("hostname", ["127.0.0.1", "ROUTER-1.example.net.", "router-1.example.net"])
def test_two_hosts_at_one_hostname_and_port_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hostname: str
) -> None:
    hosts: dict[str, Any] = {"R1": hub(), "br1": branch(1), "br5": branch(5)}
    hosts["br1"]["hostname"] = "router-1.example.net" if hostname != "127.0.0.1" else hostname
    hosts["br5"].update(hostname=hostname, port=hosts["br1"]["port"])
    code = plan_cli.run(argparse.Namespace(config=str(write_inventory(tmp_path, hosts=hosts)), json=False))
    err = capsys.readouterr().err
    assert code == 2
    assert f"br5: hostname: {hostname}:2202 is also br1's: one router would be configured as two sites" in err
    assert "Fix: give br5 its own router's hostname/port" in err


def test_a_hostname_with_a_newline_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts: dict[str, Any] = {"R1": hub(), "br1": branch(1)}
    hosts["br1"]["hostname"] = "127.0.0.1\n"
    code = plan_cli.run(argparse.Namespace(config=str(write_inventory(tmp_path, hosts=hosts)), json=False))
    assert code == 2 and "br1: hostname: '127.0.0.1\\n' is not a host name" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("prompt", "username", "identity"),
    [("[admin@MikroTik]", "admin", "MikroTik"), ("[admin@KFC-MSK-Zoo-Cisco_BOX]", "admin",
                                                  "KFC-MSK-Zoo-Cisco_BOX"),
     ("[ops@corp@br 1]", "ops@corp", "br 1"), ("[admin@br1]", None, "br1")],
)
def test_identity_is_read_from_the_routeros_prompt(prompt: str, username: str | None, identity: str) -> None:
    assert prompt_identity(prompt, username) == identity


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("identity"), branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def name_router(lab: Lab, router: str, identity: str) -> None:
    assert Session(lab.routers[router], "admin").execute(f"/system identity set name={identity}") == ""
    lab.settle()


def stored(lab: Lab, router: str) -> str:
    lab.settle()
    data = lab.routers[router].config.to_json()
    data["menus"] = {p: items for p, items in data["menus"].items() if items and p != "/system identity"}
    return json.dumps(data, sort_keys=True)


def test_a_hub_that_is_a_branchs_router_gets_no_certificate_authority(lab: Lab) -> None:
    name_router(lab, "hub", "BR1")  # identities compare as site names do: case ignored
    before = stored(lab, "hub")
    try:
        summary = Rollout(RolloutOptions(lab.directory / "config.yaml", limit=("responder",))).run()
    finally:
        name_router(lab, "hub", "hub")
    error = summary.hosts["hub"].error
    assert summary.failed == ["hub"] and "is 'BR1' (/system identity), which is inventory host br1" in error
    assert "set name=hub" in error
    assert stored(lab, "hub") == before  # no CA, no certificate, no configuration


def test_a_branch_whose_router_is_another_branch_is_refused_and_left_alone(lab: Lab) -> None:
    config = lab.directory / "config.yaml"
    assert not Rollout(RolloutOptions(config, limit=("responder",), gate_timeout_s=30.0)).run().failed
    name_router(lab, "br2", "br1")
    before = stored(lab, "br2")
    try:
        summary = Rollout(RolloutOptions(config, limit=("br2",), gate_timeout_s=30.0)).run()
        state = Verify(VerifyOptions(config, limit=("br2",), record=False)).gather()["br2"]
    finally:
        name_router(lab, "br2", "br2")
    assert summary.failed == ["br2"]
    assert "which is inventory host br1: refusing to touch it, nothing was sent" in summary.hosts["br2"].error
    assert stored(lab, "br2") == before
    assert not state.reachable and "inventory host br1" in state.error  # verify: could not check, not green


def test_a_router_named_as_its_host_or_as_no_host_is_accepted(lab: Lab) -> None:
    name_router(lab, "br1", "MikroTik")
    try:
        options = VerifyOptions(lab.directory / "config.yaml", limit=("br1", "br2"), record=False)
        states = Verify(options).gather()
    finally:
        name_router(lab, "br1", "br1")
    assert states["br1"].reachable and states["br2"].reachable, (states["br1"].error, states["br2"].error)


def test_a_router_not_named_as_its_host_is_rolled_out_with_a_warning(lab: Lab) -> None:
    config = lab.directory / "config.yaml"
    name_router(lab, "br1", "MikroTik")
    try:
        summary = Rollout(RolloutOptions(config, limit=("responder", "br1"), gate_timeout_s=30.0)).run()
    finally:
        name_router(lab, "br1", "br1")
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items()}
    assert all("identity" not in w for w in summary.hosts["hub"].warnings)
    assert any("the router's identity is 'MikroTik', not br1" in w and "set /system identity name=br1" in w
               for w in summary.hosts["br1"].warnings)
