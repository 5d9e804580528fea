"""`ikefleet render HOST --against EXPORT_FILE` on real RouterOS exports (shared/routeros-samples) and on a
router set up by hand as the seed says: the commands a rollout would send, offline, and what they leave of
the router's own items (issue 18.8, 18.5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_factory import write_inventory

from ikefleet.cli import main
from ikefleet.cli.render import exported_version, offline_plan
from ikefleet.diff import future, is_foreign, remediate
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.plan import build_plan
from ikefleet.routeros.config import Config
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script

SHARED = Path("/work/shared")
SAMPLES = SHARED / "routeros-samples"
if not SAMPLES.is_dir():  # the corpus lives beside the checkout, not in it
    pytest.skip("shared/routeros-samples not available", allow_module_level=True)
DATA = Path(__file__).parent / "data"
DEFCONF = SAMPLES / "v7-more" / "v6__export_ip_firewall_defconf__romanborodin-2011-6.46.6.txt"
COMPLETE = sorted(
    [
        DEFCONF,
        SAMPLES / "unk__export_ipsec_ospf_routing-filter__branch13-6.43.4.txt",
        SAMPLES / "v6__export__mplslab-PE1.txt",
        SAMPLES / "v7__export_eoip_ipsec_excerpt__forum-rb5009.txt",
        SAMPLES / "v7__export_ospf__vanoha-router2.txt",
        SAMPLES / "v7__export_ospf_nbma_static-neighbor__chr-7.21.4.txt",
    ]
)
# Captures that are not a router's complete export, with the line the refusal names.
NOT_EXPORTS = {
    "v6__export_eoip_interrupted__ru-crs125.txt": "line 42: export was interrupted",
    "v6__export_ipsec_sections__ne-se-67085.txt": "line 23: unsupported command '...'",
    "v6__ip_address_export_verbose__ntc.txt": "line 1: unsupported command 'export'",
}


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inventory(tmp_path_factory.mktemp("against"))


def test_every_export_sample_is_covered() -> None:
    """A new capture in the corpus must be added to one of the two lists above."""
    found = {p.name for p in [*SAMPLES.glob("*export*"), *SAMPLES.glob("*/*export*")]}
    assert found == {p.name for p in COMPLETE} | set(NOT_EXPORTS)


def owned_by_others(config: Config) -> list[tuple[str, str, bool, dict[str, str]]]:
    """Items someone else labelled (defconf, the operator) and factory default items, in order."""
    return [
        (path, item.comment, item.disabled, dict(item.values))
        for path, items in config.menus.items()
        for item in items
        if is_foreign(item) or item.default
    ]


@pytest.mark.parametrize("host", ["R1", "R2"])
@pytest.mark.parametrize("export", COMPLETE, ids=lambda p: p.name)
def test_render_against_a_real_export_never_touches_what_others_made(
    config_path: Path, export: Path, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", host, "-c", str(config_path), "--against", str(export)]) == 0
    printed = capsys.readouterr().out.splitlines()
    fleet = load_inventory(config_path)
    remediation, _ = offline_plan(fleet, build_plan(fleet), host, export.read_text())
    assert printed == remediation.commands and printed  # a fresh router: everything is added
    assert not any(" remove " in c for c in printed)
    current = parse_script(export.read_text())
    after = future(current, remediation)
    others = owned_by_others(current)
    assert [o for o in owned_by_others(after) if not o[0].startswith("/routing ospf instance")] == [
        o for o in others if not o[0].startswith("/routing ospf instance")
    ]
    for path, comment, _, _ in others:  # the v6 default OSPF instance: only the fields the design sets
        assert (path, comment) in {(p, c) for p, c, _, _ in owned_by_others(after)}


def test_render_against_the_real_defconf_export_changes_no_factory_item(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18.5's acceptance: every defconf rule and the masquerade stay whole and in place; ikefleet's IKE
    accept rules go above the defconf input rules, its NAT exemption above the masquerade."""
    fleet = load_inventory(config_path)
    current = parse_script(DEFCONF.read_text())
    for host in ("R1", "R2"):
        remediation, warning = offline_plan(fleet, build_plan(fleet), host, DEFCONF.read_text())
        assert warning == "" and remediation.conflicts == []
        after = future(current, remediation)
        for path in ("/ip firewall filter", "/ip firewall nat"):
            theirs = [(i.comment, i.values) for i in after.items(path) if i.comment != "ikefleet"]
            assert theirs == [(i.comment, i.values) for i in current.items(path)]
        filters = [i.comment for i in after.items("/ip firewall filter")]
        assert filters[:3] == ["ikefleet", "ikefleet", "defconf: accept established,related,untracked"]
        nat = [(i.comment, i.values) for i in after.items("/ip firewall nat")]
        assert nat[0] == ("ikefleet", {"action": "accept", "chain": "srcnat", "ipsec-policy": "out,ipsec"})
        assert nat[1][0] == "defconf: masquerade"
        assert not remediate(after, parse_script(render_host(fleet, build_plan(fleet), host)),
                             load_schema(6)).commands  # fmt: skip


@pytest.mark.parametrize(("name", "why"), sorted(NOT_EXPORTS.items()))
def test_render_against_what_is_not_a_complete_export_is_refused(
    config_path: Path, name: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "R2", "-c", str(config_path), "--against", str(SAMPLES / name)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"render: --against {SAMPLES / name}: {why}" in captured.err
    assert "give the router's complete `/export` (terse or not)" in captured.err


def test_render_against_a_missing_file(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "R2", "-c", str(config_path), "--against", str(tmp_path / "nope.rsc")]) == 2
    assert "cannot read it (No such file or directory)" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["R1", "R2"])
def test_render_against_a_router_set_up_by_hand_as_the_seed_says(
    config_path: Path, tmp_path: Path, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed's own commands (tests/data/seed_<host>.txt, names as ikefleet gives them) as the router's
    configuration: nothing is removed, the seed's masquerade stays, and the plan converges."""
    seed = tmp_path / "seed.rsc"
    seed.write_text(f"# jan/02/2026 10:00:00 by RouterOS 6.49.2\n{(DATA / f'seed_{host}.txt').read_text()}")
    assert main(["render", host, "-c", str(config_path), "--against", str(seed)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed and not any(" remove " in c for c in printed)
    fleet = load_inventory(config_path)
    remediation, _ = offline_plan(fleet, build_plan(fleet), host, seed.read_text())
    current = parse_script(seed.read_text())
    after = future(current, remediation)

    def masquerades(config: Config) -> list[tuple[str, dict[str, str]]]:
        nat = config.items("/ip firewall nat")
        return [(i.comment, i.values) for i in nat if i.values["action"] == "masquerade"]

    assert masquerades(after) == masquerades(current)
    assert len(masquerades(current)) == (1 if host == "R2" else 0)
    intended = parse_script(render_host(fleet, build_plan(fleet), host))
    assert not remediate(after, intended, load_schema(6)).commands


def test_exported_version_reads_the_export_header() -> None:
    assert exported_version((SAMPLES / "v6__export__mplslab-PE1.txt").read_text()) == "6.49.19"
    assert exported_version((SAMPLES / "v7__export_ospf__vanoha-router2.txt").read_text()) == "7.6"
    assert exported_version("/ip address\nadd address=192.0.2.1/24 interface=ether1\n") is None


@pytest.mark.parametrize("version", ["6.49.2", "7.16.1"])
def test_terse_and_wrapped_exports_of_one_router_give_the_same_plan(
    config_path: Path, tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lab router in its factory state (real defconf), exported both ways by its console."""
    spec = RouterSpec(name="R2", role="initiator", host="127.0.0.1", port=1, username="admin", password="pw",
                      wan_address="198.51.100.2/24", lan_prefix="192.168.2.0/24", version=version)
    console = Session(Router(spec, tmp_path / "R2", config=initial_config(spec)), "admin", width=80)
    printed = []
    for form in ("/export", "/export terse"):
        path = tmp_path / f"{form.replace('/', '').replace(' ', '-')}.rsc"
        path.write_text(console.execute(form))
        assert main(["render", "R2", "-c", str(config_path), "--against", str(path)]) == 0
        printed.append(capsys.readouterr().out.splitlines())
    wrapped, terse = printed
    assert wrapped == terse and wrapped
    assert any(line.endswith("\\") for line in (tmp_path / "export.rsc").read_text().splitlines())
    assert not any("defconf" in c.split(" place-before=")[0] for c in terse)  # only ever an anchor
