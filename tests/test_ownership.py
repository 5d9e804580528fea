"""Ownership of items in menus without a comment field (mode-config, proposal, profile, policy group).

They cannot carry `comment=ikefleet`; `ikefleet.diff.ownership` counts one as ikefleet's when marked items
(and only those) name it. Model tests here; the same against the lab (revoke, branch deleted from the
inventory, --dry-run) at the end of the module.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_factory import SEED_DEFAULTS, branch, hub, write_inventory
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.diff import future, normalized, ownership, remediate
from ikefleet.intent import render_host
from ikefleet.inventory import load_inventory
from ikefleet.lab.certificates import cert_flags
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.plan import build_plan, client_versions
from ikefleet.routeros.config import Config
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script
from ikefleet.runbooks.certs import Certs
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary

SCHEMA = load_schema(6)
DELETED: dict[str, Any] = {}  # inventory entries a lab test took out, for a later one to put back
REVOKED: dict[str, Summary] = {}  # the module lab's revocations, made once by the first test needing one

# What an operator made by hand next to ikefleet's items: a proposal and a profile nothing of ikefleet's
# names, a mode-config and policy group their own identity and policy use.
HAND_MADE = """
/ip ipsec mode-config
add address=10.9.9.9 name=guests responder=yes
/ip ipsec policy group
add name=partners
/ip ipsec profile
add name=legacy-ike dh-group=modp2048
/ip ipsec proposal
add name=legacy-p2 pfs-group=none
/ip ipsec peer
add address=198.51.100.77/32 name=partner profile=legacy-ike
/ip ipsec identity
add mode-config=guests peer=partner policy-template-group=partners secret=Partner-PSK-1
"""


def hub_intent(root: Path, numbers: list[int], **crypto: dict[str, Any]) -> Config:
    """The hub's intended configuration for branches R<n> (crypto: overrides of the seed's names)."""
    data = copy.deepcopy(SEED_DEFAULTS)
    for key, value in crypto.items():
        data["crypto"][key] = value if isinstance(value, str) else {**data["crypto"][key], **value}
    hosts = {"R1": hub(), **{f"R{n}": branch(n) for n in numbers}}
    fleet = load_inventory(write_inventory(root, hosts=hosts, defaults_data=data))
    return parse_script(render_host(fleet, build_plan(fleet), "R1"))


def deployed(intended: Config, extra: str = HAND_MADE) -> Config:
    """A router holding the operator's items and `intended` pushed on top."""
    current = parse_script(extra)
    return future(current, remediate(current, intended, SCHEMA))


def names(config: Config, path: str) -> set[str]:
    return {i.values.get("name", "") for i in config.items(path)}


def crypto_names(config: Config) -> set[str]:
    return names(config, "/ip ipsec profile") | names(config, "/ip ipsec proposal")


def mentions(config: Config, word: str) -> list[str]:
    """Every item that names `word` anywhere (values or comment)."""
    return [
        f"{path} {item.values}"
        for path, items in config.menus.items()
        for item in items
        if any(word in v for v in [*item.values.values(), item.comment])
    ]


def test_deleted_branch_leaves_nothing_and_hand_made_items_stay(tmp_path: Path) -> None:
    before = deployed(hub_intent(tmp_path / "a", [2, 3, 4]))
    assert "R4" in names(before, "/ip ipsec mode-config")
    rem = remediate(before, hub_intent(tmp_path / "b", [2, 3]), SCHEMA)
    after = future(before, rem)
    assert mentions(after, "R4") == []
    assert names(after, "/ip ipsec mode-config") == {"R2", "R3", "guests"}
    assert {"legacy-ike", "legacy-p2"} <= crypto_names(after)
    assert "partners" in names(after, "/ip ipsec policy group")
    removed = "- /ip ipsec mode-config [name=R4] address=10.0.0.5 name=R4 responder=yes system-dns=no"
    assert removed in rem.diff()
    assert normalized(future(after, rem.inverse()), SCHEMA) == normalized(before, SCHEMA)


def test_deleted_branch_on_a_v7_hub(tmp_path: Path) -> None:
    """The same ownership with the v7 schema (its identity, peer and policy name the same menus)."""
    schema = load_schema(7)

    def intent(root: Path, numbers: list[int]) -> Config:
        hosts = {"R1": hub(ros_version="7.16.1"), **{f"R{n}": branch(n) for n in numbers}}
        fleet = load_inventory(write_inventory(root, hosts=hosts))
        return parse_script(render_host(fleet, build_plan(fleet), "R1"))

    current = parse_script(HAND_MADE)
    before = future(current, remediate(current, intent(tmp_path / "a", [2, 3]), schema))
    after = future(before, remediate(before, intent(tmp_path / "b", [2]), schema))
    assert "R3" in names(before, "/ip ipsec mode-config")
    assert mentions(after, "R3") == []
    assert names(after, "/ip ipsec mode-config") == {"R2", "guests"}
    assert {"legacy-ike", "legacy-p2"} <= crypto_names(after)


def test_removal_order_is_dependency_safe(tmp_path: Path) -> None:
    """Identity before its mode-config, peer before its profile, policy before its proposal and group."""
    before = deployed(hub_intent(tmp_path / "a", [2, 3]))
    intended = hub_intent(tmp_path / "b", [3], policy_group="IKEv2-new", proposal={"name": "P2-new"},
                          profile={"name": "P1-new"})
    rem = remediate(before, intended, SCHEMA)
    commands = rem.commands

    def first(prefix: str) -> int:
        return next(n for n, c in enumerate(commands) if c.startswith(prefix))

    assert first("/ip ipsec identity remove") < first("/ip ipsec mode-config remove")
    assert first("/ip ipsec peer set") < first("/ip ipsec profile remove")
    assert first("/ip ipsec policy remove") < first("/ip ipsec proposal remove")
    assert first("/ip ipsec policy remove") < first("/ip ipsec policy group remove")
    assert first("/ip ipsec identity set") < first("/ip ipsec policy group remove")
    after = future(before, rem)
    assert not remediate(after, intended, SCHEMA)
    assert "SHA256" not in crypto_names(after)
    assert "IKEv2" not in names(after, "/ip ipsec policy group")
    assert {"legacy-ike", "legacy-p2"} <= crypto_names(after)
    rollback = rem.rollback
    assert rollback.index(next(c for c in rollback if c.startswith("/ip ipsec mode-config add"))) < (
        rollback.index(next(c for c in rollback if c.startswith("/ip ipsec identity add")))
    )


def test_an_item_the_operator_also_uses_is_never_removed(tmp_path: Path) -> None:
    """The old profile is named by ikefleet's peer and by the operator's own peer: it stays."""
    shared = HAND_MADE + "/ip ipsec peer\nadd address=198.51.100.78/32 name=old-partner profile=SHA256\n"
    before = deployed(hub_intent(tmp_path / "a", [2]), shared)
    after = future(before, remediate(before, hub_intent(tmp_path / "b", [2], profile={"name": "P1"}), SCHEMA))
    assert {"SHA256", "P1", "legacy-ike"} <= names(after, "/ip ipsec profile")


def test_an_item_nothing_marked_names_is_not_ikefleets(tmp_path: Path) -> None:
    """A mode-config left without its identity (removed by hand) is not known to be ikefleet's: it stays."""
    intended = hub_intent(tmp_path / "a", [2])
    extra = HAND_MADE + "/ip ipsec mode-config\nadd address=10.0.0.9 name=R8 responder=yes\n"
    before = deployed(intended, extra)
    assert not remediate(before, intended, SCHEMA)
    assert "R8" in names(before, "/ip ipsec mode-config")


def test_names_ikefleet_knows_it_gave_are_its_own(tmp_path: Path) -> None:
    """`known` (a revoked branch's mode-config name) claims an orphan; the operator's reference still wins."""
    intended = hub_intent(tmp_path / "a", [2])
    extra = HAND_MADE + "/ip ipsec mode-config\nadd address=10.0.0.9 name=R8 responder=yes\n"
    before = deployed(intended, extra)
    known = {"/ip ipsec mode-config": ["R8", "guests"]}
    rem = remediate(before, intended, SCHEMA, owned=ownership(before, SCHEMA, known=known))
    assert names(future(before, rem), "/ip ipsec mode-config") == {"R2", "guests"}


# ------------------------------------------------------------------------------------------ on the lab


def rollout(lab: Lab, **options: Any) -> Summary:
    lab.settle()
    opts = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0, **options)
    return Rollout(opts).run()


def hub_names(lab: Lab, path: str) -> set[str]:
    lab.settle()
    return {i.values.get("name", "") for i in lab.routers["hub"].config.items(path)}


def hub_mentions(lab: Lab, word: str) -> list[str]:
    lab.settle()
    config = lab.routers["hub"].config
    return [m for m in mentions(config, word) if not m.startswith("/certificate")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Hub + 3 branches rolled out, with a hand-made proposal and mode-config on the hub."""
    with Lab.start(tmp_path_factory.mktemp("ownership"), branches=3, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        first = rollout(lab)
        assert not first.failed, {h: o.error for h, o in first.hosts.items() if o.error}
        for line in ("/ip ipsec proposal add name=hand-made pfs-group=none",
                     "/ip ipsec mode-config add name=by-hand address=10.9.9.9 responder=yes"):
            assert Session(lab.routers["hub"], "admin").execute(line) == ""
        yield lab


def revoke_br2(lab: Lab) -> Summary:
    """br2 revoked on the module's lab, once: the later tests build on it, so each asks for it (a test run
    on its own, or apart from the first on another worker, then revokes it itself)."""
    if "br2" not in REVOKED:
        REVOKED["br2"] = Certs(lab.directory / "config.yaml").revoke("br2").summary
    return REVOKED["br2"]


def take_out_br3(lab: Lab) -> None:
    """br3 deleted from the lab's inventory (kept in DELETED for the test that brings it back)."""
    hosts = lab.directory / "inventory" / "hosts.yaml"
    yaml = YAML()
    data = yaml.load(hosts.read_text())
    DELETED["br3"] = data.pop("br3")
    with hosts.open("w") as out:
        yaml.dump(data, out)


def test_revoked_branch_mode_config_and_identity_leave_the_hub(lab: Lab) -> None:
    assert "br2" in hub_names(lab, "/ip ipsec mode-config")
    summary = revoke_br2(lab)
    assert summary.hosts["hub"].status == "changed", summary.hosts["hub"].error
    assert "br2" not in hub_names(lab, "/ip ipsec mode-config")
    identities = lab.routers["hub"].config.items("/ip ipsec identity")
    assert [i for i in identities if i.values.get("mode-config") == "br2"] == []
    assert {"hand-made"} <= hub_names(lab, "/ip ipsec proposal")
    assert {"by-hand", "br1", "br3"} <= hub_names(lab, "/ip ipsec mode-config")


def test_a_revoked_branch_mode_config_left_by_an_older_version_goes(lab: Lab) -> None:
    """Older ikefleet left a revoked branch's mode-config behind, with nothing naming it: the rollout knows
    the name it gave (the revoked list) and removes it."""
    revoke_br2(lab)
    line = "/ip ipsec mode-config add name=br2 address=10.0.0.3 responder=yes system-dns=no"
    assert Session(lab.routers["hub"], "admin").execute(line) == ""
    dry = rollout(lab, dry_run=True, limit=("responder",))
    assert [c for c in dry.hosts["hub"].changes if "mode-config" in c] == [
        "- /ip ipsec mode-config [name=br2] address=10.0.0.3 name=br2 responder=yes system-dns=no"
    ]
    rollout(lab, limit=("responder",))
    assert "br2" not in hub_names(lab, "/ip ipsec mode-config")
    assert "by-hand" in hub_names(lab, "/ip ipsec mode-config")


def test_deleted_branch_dry_run_shows_removals_then_rollout_removes_everything(lab: Lab) -> None:
    revoke_br2(lab)
    take_out_br3(lab)
    dry = rollout(lab, dry_run=True, limit=("responder",))
    changes = dry.hosts["hub"].changes
    assert any(c.startswith("- /ip ipsec mode-config [name=br3]") for c in changes), changes
    assert any(c.startswith("- /ip ipsec identity") and "br3-client" in c for c in changes), changes
    assert "br3" in hub_names(lab, "/ip ipsec mode-config")  # a dry run changes nothing
    done = rollout(lab, limit=("responder",))
    assert done.hosts["hub"].status == "changed", done.hosts["hub"].error
    assert hub_mentions(lab, "br3") == []
    assert {"hand-made"} <= hub_names(lab, "/ip ipsec proposal")
    assert "by-hand" in hub_names(lab, "/ip ipsec mode-config")
    again = rollout(lab, limit=("responder",))
    assert again.hosts["hub"].status == "unchanged"
    # its certificate is revoked on the hub (the revoked br2's stays revoked, the others valid)
    lab.settle()
    certs = {i.values["name"]: cert_flags(i, lab.routers["hub"].now()) for i in
             lab.routers["hub"].config.items("/certificate")}
    assert "R" in certs["br3-client"] and "R" in certs["br2-client"] and "R" not in certs["br1-client"]
    assert "R" not in certs["hub-server"] and "R" not in certs["ca"]


def test_a_deleted_branch_that_comes_back_gets_a_new_certificate(lab: Lab) -> None:
    hosts = lab.directory / "inventory" / "hosts.yaml"
    yaml = YAML()
    if "br3" not in DELETED:  # (run without the test before it: br3 is deleted and rolled out first)
        take_out_br3(lab)
        assert not rollout(lab, limit=("responder",)).failed
    data = yaml.load(hosts.read_text())
    if "br3" not in data:
        data["br3"] = DELETED["br3"]
        with hosts.open("w") as out:
            yaml.dump(data, out)
    summary = rollout(lab, limit=("responder", "br3"))
    assert not summary.failed, {h: o.error for h, o in summary.hosts.items()}  # its tunnel passed the gate
    assert summary.hosts["hub"].status == "changed"
    lab.settle()

    def client(router: str) -> Any:
        """The newest br3-client (a renewal has a new name; the revoked one stays on the hub, the CA's)."""
        items = {i.values["name"]: i for i in lab.routers[router].config.items("/certificate")}
        return items[client_versions(items, "br3-client")[-1]]

    assert "R" not in cert_flags(client("hub"), lab.routers["hub"].now())
    assert client("hub").values.get("fingerprint")
    assert client("br3").values.get("fingerprint") == client("hub").values.get("fingerprint")
    assert "br3" in hub_names(lab, "/ip ipsec mode-config")
