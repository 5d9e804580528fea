"""The main job against the lab: converge, idempotence, dry run, per-host failures, --max-fail, safety.

Tests use 2048-bit keys (set in the lab's defaults.yaml) to keep RSA key generation short; the inventory
default stays the seed's 4096.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from tests_support import assert_defconf_untouched, console_lines, fast_keys

from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary
from ikefleet.waves import Amount

BRANCHES = 10


def rollout(lab: Lab, **options: object) -> Summary:
    lab.settle()
    opts = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0, **options)  # type: ignore[arg-type]
    return Rollout(opts).run()


def state(lab: Lab, router: str, path: str) -> list[dict[str, str]]:
    lab.settle()
    return [dict(i.values) for i in lab.routers[router].config.items(path)]


def snapshot(lab: Lab, router: str) -> str:
    """The router's stored configuration (empty menus left out: listing a menu creates it)."""
    lab.settle()
    data = lab.routers[router].config.to_json()
    data["menus"] = {path: items for path, items in data["menus"].items() if items}
    return json.dumps(data, sort_keys=True)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Summary, Summary]]:
    """A hub and 10 branches rolled out twice."""
    with Lab.start(tmp_path_factory.mktemp("rollout"), branches=BRANCHES, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        first = rollout(lab, wave_size=Amount(4, False))
        second = rollout(lab)
        yield lab, first, second


def test_full_rollout_brings_every_tunnel_up(fleet: tuple[Lab, Summary, Summary]) -> None:
    lab, first, _ = fleet
    assert not first.failed, {h: o.error for h, o in first.hosts.items() if o.error}
    assert {o.status for o in first.hosts.values()} == {"changed"}
    assert first.waves[0] == ["br1"] and sum(len(w) for w in first.waves) == BRANCHES
    hub_peers = state(lab, "hub", "/ip ipsec active-peers")
    assert len([p for p in hub_peers if p.get("state") == "established"]) == BRANCHES
    for n in range(1, BRANCHES + 1):
        branch = f"br{n}"
        neighbours = state(lab, branch, "/routing ospf neighbor")
        assert [x.get("state") for x in neighbours] == ["Full"], branch
        sas = state(lab, branch, "/ip ipsec installed-sa")
        assert len(sas) == 2 and {s.get("state") for s in sas} == {"mature"}, branch


def test_rollout_leaves_every_defconf_item_as_it_was(fleet: tuple[Lab, Summary, Summary]) -> None:
    """Issue 18.5: the factory's `defconf` items keep their comment, fields and order; the hub's IKE
    accept rules and IPsec NAT exemption are ikefleet's own, placed above the defconf rules."""
    lab, *_ = fleet
    assert_defconf_untouched(lab)
    nat = lab.routers["br1"].config.items("/ip firewall nat")
    assert [(i.comment, i.values.get("action")) for i in nat] == [
        ("ikefleet", "accept"), ("defconf: masquerade", "masquerade")
    ]


def test_second_run_sends_no_configuration_command(fleet: tuple[Lab, Summary, Summary]) -> None:
    _, _, second = fleet
    assert {o.status for o in second.hosts.values()} == {"unchanged"}
    assert sum(o.commands for o in second.hosts.values()) == 0


def test_run_directory_holds_plan_results_and_backups(fleet: tuple[Lab, Summary, Summary]) -> None:
    _, first, _ = fleet
    run = first.run_dir
    assert json.loads((run / "plan.json").read_text())["hub"]["name"] == "hub"
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert {x["host"] for x in lines} == {"hub", *(f"br{n}" for n in range(1, BRANCHES + 1))}
    assert (run / "backups" / "br1.rsc").read_text().startswith("# ")
    assert "+ /ip ipsec peer" in (run / "diffs" / "br1.diff").read_text()


def test_no_secret_in_any_run_file(fleet: tuple[Lab, Summary, Summary]) -> None:
    lab, first, second = fleet
    secrets = YAML(typ="safe").load((lab.directory / "secrets.yaml").read_text())
    password = secrets["password"]
    for run in (first.run_dir, second.run_dir):
        for path in run.rglob("*"):
            if path.is_file():
                assert password not in path.read_text(errors="replace"), path


def test_dry_run_on_a_changed_inventory_shows_exactly_the_change(fleet: tuple[Lab, Summary, Summary]) -> None:
    lab, _, _ = fleet
    hosts = lab.directory / "inventory" / "hosts.yaml"
    original = hosts.read_text()
    yaml = YAML()
    data = yaml.load(original)
    data["br3"]["data"]["lan_prefixes"].append("192.168.200.0/24")
    with hosts.open("w") as out:
        yaml.dump(data, out)
    before = {name: snapshot(lab, name) for name in lab.routers}
    try:
        summary = rollout(lab, dry_run=True)
    finally:
        hosts.write_text(original)
    assert summary.hosts["br3"].status == "would-change"
    assert summary.hosts["br3"].changes == [
        "+ /routing ospf network [network=192.168.200.0/24] area=backbone comment=ikefleet "
        "network=192.168.200.0/24"
    ]
    assert {h for h, o in summary.hosts.items() if o.status != "unchanged"} == {"br3"}
    # issue 21.7: a dry run counts the commands it would send
    assert {h: o.commands for h, o in summary.hosts.items() if o.commands} == {"br3": 1}
    assert {name: snapshot(lab, name) for name in lab.routers} == before


@pytest.fixture
def small_lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=4, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def test_wrong_password_fails_alone(small_lab: Lab) -> None:
    """With --max-fail allowing it, a branch that cannot be logged into fails alone (before the hub is
    changed) and the others are rolled out."""
    small_lab.fault("br2", "bad-password")
    summary = rollout(small_lab, wave_size=Amount(3, False), max_fail=Amount(1, False))
    assert summary.failed == ["br2"]
    assert "auth" in summary.hosts["br2"].error.lower()
    assert "unreachable before the hub was changed" in summary.hosts["br2"].error
    assert {summary.hosts[b].status for b in ("hub", "br1", "br3", "br4")} == {"changed"}


def test_max_fail_stops_later_waves(small_lab: Lab) -> None:
    small_lab.fault("br1", "bad-password")
    small_lab.fault("br2", "bad-password")
    summary = rollout(small_lab, canary=2, wave_size=Amount(1, False), max_fail=Amount(1, False))
    assert sorted(summary.failed) == ["br1", "br2"]
    assert summary.hosts["br3"].status == summary.hosts["br4"].status == "skipped"
    assert "--max-fail" in summary.stopped
    assert state(small_lab, "br3", "/ip ipsec peer") == []


def test_an_operators_item_in_the_way_fails_the_host_before_any_change(small_lab: Lab) -> None:
    """Issue 18.5: a peer the operator made under the name ikefleet needs, with the operator's comment, is
    neither taken over nor duplicated: br1 fails naming it, nothing is sent, the others go on."""
    rollout(small_lab, limit=("hub",))
    console = Session(small_lab.routers["br1"], "admin")
    assert console.execute('/ip ipsec peer add name=hub address=192.0.2.77/32 comment="ours: old vpn"') == ""
    before = snapshot(small_lab, "br1")
    # --max-fail 1: without it the first failure stops later waves (issue 17.6), and br2 is in the next one
    summary = rollout(small_lab, limit=("br1", "br2"), max_fail=Amount(1, False))
    assert summary.failed == ["br1"] and summary.hosts["br1"].commands == 0
    error = summary.hosts["br1"].error
    assert error.startswith("nothing changed: /ip ipsec peer [name=hub]: the router has an item ikefleet")
    assert 'comment="ours: old vpn"' in error and "rename or remove it" in error
    after, expected = json.loads(snapshot(small_lab, "br1")), json.loads(before)
    for config in (after, expected):  # the PKI step imports the certificates before the push, on purpose
        config["menus"].pop("/certificate", None)
        config.pop("next_id", None)
    assert after == expected
    assert summary.hosts["br2"].status == "changed"


def test_command_error_mid_push_leaves_the_router_as_before(small_lab: Lab) -> None:
    rollout(small_lab, limit=("hub",))
    before = snapshot(small_lab, "br1")
    small_lab.fault("br1", "fail-command", "/routing ospf network add", error="failure: simulated")
    summary = rollout(small_lab, limit=("br1",))
    assert summary.failed == ["br1"]
    assert "failure: simulated" in summary.hosts["br1"].error
    assert summary.hosts["br1"].commands > 1
    certificates = {i["name"] for i in state(small_lab, "br1", "/certificate")}
    after, expected = json.loads(snapshot(small_lab, "br1")), json.loads(before)
    for config in (after, expected):  # the certificates were imported before the push, on purpose
        config["menus"].pop("/certificate", None)
        config.pop("next_id")
    assert after == expected
    assert certificates == {"ca", "hub-server", "br1-client"}


def test_rollout_killed_midway_converges_on_the_next_run(small_lab: Lab) -> None:
    """SIGKILL while the first wave is pushed (slowed by latency); the next run converges, no duplicates."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ikefleet.intent import intended_config
    from ikefleet.inventory import load_inventory
    from ikefleet.plan import build_plan

    config = small_lab.directory / "config.yaml"
    for name in ("br1", "br2", "br3", "br4"):
        small_lab.fault(name, "latency", 40)
    small_lab.settle()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ikefleet", "rollout", "-c", str(config), "--canary", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    runs = small_lab.directory / ".ikefleet" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill once the hub is done and the first wave is being pushed
        results = list(runs.glob("*/results.jsonl"))
        if results and '"host": "hub"' in results[0].read_text():
            time.sleep(1.5)
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = [json.loads(line)["host"] for line in results[0].read_text().splitlines()]
    assert "br4" not in killed  # the run really died before its end
    for name in ("br1", "br2", "br3", "br4"):
        small_lab.clear_faults(name)
    summary = rollout(small_lab)
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
    again = rollout(small_lab)
    assert {o.status for o in again.hosts.values()} == {"unchanged"}
    fleet = load_inventory(config)
    plan = build_plan(fleet)
    small_lab.settle()
    for site in fleet.sites:
        intended = intended_config(fleet, plan, site.name)
        for path, items in intended.menus.items():
            stored = [i for i in small_lab.routers[site.name].config.items(path) if not i.dynamic]
            marked = [i for i in stored if i.comment == "ikefleet"]
            wanted = [i for i in items if i.comment == "ikefleet"]
            assert len(marked) == len(wanted), (site.name, path)


def test_cli_json_summary(fleet: tuple[Lab, Summary, Summary], capsys: pytest.CaptureFixture[str]) -> None:
    from ikefleet.cli import main

    lab, _, _ = fleet
    code = main(["rollout", "-c", str(lab.directory / "config.yaml"), "--dry-run", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["dry_run"] is True
    assert {h["status"] for h in data["hosts"].values()} == {"unchanged"}
    assert all(h["commands"] == 0 and h["changes"] == [] for h in data["hosts"].values())


def converged_rerun_lines(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A re-run of the converged fleet (nothing changes, nothing fails): router -> the lines it ran."""
    seen = console_lines(monkeypatch)
    again = rollout(lab)
    assert {o.status for o in again.hosts.values()} == {"unchanged"} and not again.failed
    ran: dict[str, list[str]] = {}
    for c in seen:
        ran.setdefault(c.router, []).append(c.line)
    return ran


def test_a_rerun_branch_reads_everything_on_one_console_line(
    fleet: tuple[Lab, Summary, Summary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converged branch runs two console lines, as the routers see them, both before the hub is changed:
    the login's version read (the round trip that finds the prompt) and one batch reading everything verify
    reads (certificates and configuration: does this run change it; the state the gate checks). When
    neither the hub nor the branch changes, that is all: no second session in its wave."""

    lab, _, _ = fleet
    ran = converged_rerun_lines(lab, monkeypatch)
    for n in range(1, BRANCHES + 1):
        lines = ran[f"br{n}"]
        assert len(lines) == 2 and lines[0] == "/system resource print", lines
        assert all(f"<<ikefleet:{section}>>" in lines[1]
                   for section in ("certificate", "config", "active_peers", "ospf_neighbor", "bfd", "route"))


def test_a_converged_rerun_is_one_pass_with_no_wave_and_each_branch_diffed_once(
    fleet: tuple[Lab, Summary, Summary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converged re-run reads every branch once (the reach), diffs each once and judges it there with
    verify's checks, reusing that diff: no wave, no canary, no gate, no second diff of a branch. (The hub's
    configuration is diffed once too, in its phase.)"""
    import ikefleet.diff as diff_module

    lab, _, _ = fleet
    diffed: list[str] = []
    real = diff_module._remediate

    def counting(current, intended, *args, **kwargs):  # type: ignore[no-untyped-def]
        names = [i.values.get("name", "") for i in intended.menus.get("/interface eoip", [])]
        diffed.append("hub" if len(names) > 1 else names[0] if names else "?")
        return real(current, intended, *args, **kwargs)

    monkeypatch.setattr(diff_module, "_remediate", counting)
    again = rollout(lab)
    assert {o.status for o in again.hosts.values()} == {"unchanged"} and not again.failed
    assert again.waves == []
    assert len(diffed) == BRANCHES + 1 and diffed.count("hub") == 1, diffed


def test_rerun_reads_untouched_tunnels_in_the_converge_task(
    fleet: tuple[Lab, Summary, Summary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-run finds every untouched branch passing verify's checks in the converge task's own read: the
    gate then needs no extra Nornir run per wave. A branch found down is still polled by the gate and
    fails it."""
    from nornir.core import Nornir

    import ikefleet.tasks.gate as gate_module

    lab, _, _ = fleet
    gate_runs: list[int] = []
    real_run = Nornir.run

    def counting(self: Nornir, task, *args, **kwargs):  # type: ignore[no-untyped-def]
        if task is gate_module.branch_state:
            gate_runs.append(len(self.inventory.hosts))
        return real_run(self, task, *args, **kwargs)

    monkeypatch.setattr(Nornir, "run", counting)
    again = rollout(lab)
    assert {o.status for o in again.hosts.values()} == {"unchanged"} and not again.failed
    assert gate_runs == []
    lab.fault("br3", "wan-down")
    try:
        lab.settle()
        down = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=2.0)).run()
    finally:
        lab.clear_faults("br3")
    error = down.hosts["br3"].error
    assert down.failed == ["br3"] and "gate failed" in error
    assert "ike.peer" in error and "this run did not change its configuration" in error
    assert gate_runs and all(n == 1 for n in gate_runs)  # only br3 polled


def test_a_rerun_logs_in_to_the_hub_and_reads_it_while_the_branches_are_reached(
    fleet: tuple[Lab, Summary, Summary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's login and its reads (configuration, certificates, logins: read only) run in the reach's
    pass, beside the branches', so a converged re-run pays one login's and one read's round trips, not the
    branches' and then the hub's: each branch's reach here waits for the hub to have been read, which it
    could not if the hub's reads came after the reach. The hub logs in and is read once; its phase reuses
    what was read and nothing changes."""
    import threading

    import ikefleet.connection.opening as opening_module
    import ikefleet.tasks.reach as reach_module

    lab, _, _ = fleet
    hub_read = threading.Event()
    hub_logins: list[str] = []
    reads: list[str] = []
    waited: list[bool] = []
    real_logged_in, real_reach = opening_module.logged_in, reach_module.reach
    real_reads = reach_module.hub_reads

    def logged_in(host, *args):  # type: ignore[no-untyped-def]
        real_logged_in(host, *args)
        if host.name == "hub":
            hub_logins.append(host.name)

    def hub_reads(task):  # type: ignore[no-untyped-def]
        result = real_reads(task)
        reads.append(task.host.name)
        hub_read.set()
        return result

    def reach(task, **kwargs):  # type: ignore[no-untyped-def]
        waited.append(hub_read.wait(timeout=10))
        return real_reach(task, **kwargs)

    monkeypatch.setattr(opening_module, "logged_in", logged_in)
    monkeypatch.setattr(reach_module, "reach", reach)
    monkeypatch.setattr(reach_module, "hub_reads", hub_reads)
    again = rollout(lab)
    assert {o.status for o in again.hosts.values()} == {"unchanged"} and not again.failed
    assert waited == [True] * BRANCHES
    assert hub_logins == ["hub"] and reads == ["hub"]


def test_a_rerun_reads_the_hubs_certificates_once(
    fleet: tuple[Lab, Summary, Summary], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19.1: a converged re-run reads the hub's `/certificate print detail` once (with its
    configuration, one round trip) and hands the parsed certificates to the CA step, the client step and the
    removal of superseded certificates, which used to read it again each with identical replies."""
    from ikefleet.tasks import pki

    lab, _, _ = fleet
    ran = converged_rerun_lines(lab, monkeypatch)
    reads = [line for line in ran["hub"] if pki.CERTIFICATE_READ in line]
    assert len(reads) == 1 and sum(line.count(pki.CERTIFICATE_READ) for line in reads) == 1, ran["hub"]
