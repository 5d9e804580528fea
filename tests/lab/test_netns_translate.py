"""The netns translators on the seed configuration: what charon and FRR get, and what is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ikefleet.lab.netns import Untranslatable, frr, strongswan

from .test_fabric_seed import Lab, build


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return build(Path(tmp_path_factory.mktemp("netns-seed")), 2)


def test_hub_answers_each_branch_with_its_pinned_certificate_and_pool(seed: Lab) -> None:
    charon = strongswan.translate(seed.hub)
    assert len(charon.connections) == 2
    assert 'id = "CN=client"' in charon.swanctl and 'id = "CN=client3"' in charon.swanctl
    assert "client { addrs = 10.0.0.2/32 }" in charon.swanctl
    assert "client3 { addrs = 10.0.0.3/32 }" in charon.swanctl
    assert "start_action = none" in charon.swanctl and "remote_addrs" not in charon.swanctl
    assert "private/server.pem" in charon.files and "x509ca/ca.pem" in charon.files
    assert not any(name.startswith("private/client") for name in charon.files)


def test_branch_initiates_and_asks_for_an_inner_address(seed: Lab) -> None:
    charon = strongswan.translate(seed.branches[0])
    assert "remote_addrs = 203.0.113.1" in charon.swanctl and "vips = 0.0.0.0" in charon.swanctl
    assert "start_action = start" in charon.swanctl and "remote_ts = 10.0.0.1/32" in charon.swanctl
    assert "encap = yes" in charon.swanctl
    key = seed.branches[0].config.find("/certificate", name="client")
    assert charon.files["private/client.pem"] == next(key).private["key"]


def test_proposals_follow_profile_and_proposal(seed: Lab) -> None:
    router = seed.branches[0]
    profile = next(router.config.find("/ip ipsec profile", name="SHA256"))
    proposal = next(i for i in router.config.items("/ip ipsec proposal") if i.get("pfs-group"))
    ike = strongswan.ike_proposals(router, profile)
    esp = strongswan.esp_proposals(router, proposal)
    enc, hash_, dh = profile.get("enc-algorithm"), profile.get("hash-algorithm"), profile.get("dh-group")
    assert ike == f"{enc.replace('-', '')}-{hash_}-{dh}"
    assert esp.endswith(proposal.get("pfs-group")) and proposal.get("auth-algorithms") in esp


def test_an_algorithm_strongswan_lacks_is_refused_by_name(tmp_path: Path) -> None:
    lab = build(tmp_path, 1)
    profile = next(lab.branches[0].config.find("/ip ipsec profile", name="SHA256"))
    profile.values["enc-algorithm"] = "blowfish"
    with pytest.raises(Untranslatable) as err:
        strongswan.translate(lab.branches[0])
    assert err.value.setting == "/ip ipsec profile enc-algorithm" and "blowfish" in str(err.value)


def test_ospf_config_keeps_router_id_networks_bfd_and_filters(seed: Lab) -> None:
    text = frr.translate(seed.branches[0])
    inst = next(i for i in seed.branches[0].config.items("/routing ospf instance"))
    assert f"ospf router-id {inst.get('router-id')}" in text
    for net in seed.branches[0].config.items("/routing ospf network"):
        assert f"network {net.get('network')} area 0.0.0.0" in text
    block = text[text.index("interface EoIP-Tunnel\n") :].split("!")[0].splitlines()
    # RouterOS's defaults written out (FRR's own differ: cost from link speed), then p2p and BFD
    assert block[1:] == [
        " ip ospf network point-to-point", " ip ospf cost 10", " ip ospf priority 1",
        " ip ospf hello-interval 10", " ip ospf dead-interval 40", " ip ospf retransmit-interval 5",
        " ip ospf transmit-delay 1", " ip ospf bfd", " ip ospf bfd profile routeros-200-200-x5",
    ]
    assert "route-map ospf-out" in text and "ip protocol ospf route-map ospf-in" in text


@pytest.mark.parametrize(
    ("field", "setting", "why"),
    [("authentication", "md5", "not translated"), ("hello-interval", "500ms", "whole seconds")],
)
def test_ospf_interface_settings_frr_would_not_match_are_refused(
    tmp_path: Path, field: str, setting: str, why: str
) -> None:
    branch = build(tmp_path, 1).branches[0]
    items = branch.config.items("/routing ospf interface")
    item = next(i for i in items if i.get("interface") == "EoIP-Tunnel")
    item.values[field] = setting
    with pytest.raises(Untranslatable, match=why) as err:
        frr.translate(branch)
    assert err.value.setting == f"/routing ospf interface {field}" and err.value.router == branch.name


def test_filter_prefix_lengths_become_prefix_list_ranges(tmp_path: Path) -> None:
    lab = build(tmp_path, 1)
    router = lab.branches[0]
    router.config.items("/routing filter").clear()
    router.config.add(
        "/routing filter", {"chain": "ospf-out", "prefix": "10.0.0.0/8", "prefix-length": "8-24"}
    )
    router.config.add("/routing filter", {"chain": "ospf-in", "prefix": "10.1.0.0/16", "action": "discard"})
    text = frr.translate(router)
    assert "ip prefix-list ospf-out seq 5 permit 10.0.0.0/8 le 24" in text
    assert "ip prefix-list ospf-in seq 5 deny 10.1.0.0/16\n" in text


@pytest.mark.parametrize(
    ("values", "setting"),
    [
        ({"chain": "bgp-in", "action": "accept"}, "/routing filter chain"),
        ({"chain": "ospf-out", "action": "accept", "set-distance": "5"}, "/routing filter set-distance"),
    ],
)
def test_filters_frr_cannot_reproduce_are_refused(
    tmp_path: Path, values: dict[str, str], setting: str
) -> None:
    lab = build(tmp_path, 1)
    lab.branches[0].config.add("/routing filter", values)
    with pytest.raises(Untranslatable) as err:
        frr.translate(lab.branches[0])
    assert err.value.setting == setting


def test_a_routeros_7_router_is_refused_not_run_without_its_ospf(tmp_path: Path) -> None:
    router = build(tmp_path, 1).branches[0]
    router.spec = replace(router.spec, version="7.16.1")
    for translate in (strongswan.translate, frr.translate):
        with pytest.raises(Untranslatable) as err:
            translate(router)
        assert err.value.setting == "/system resource version" and err.value.value == "7.16.1"


def test_bfd_runs_with_the_routeros_timers_not_frrs(tmp_path: Path) -> None:
    """Issue: the lab's bfdd ran FRR's 300 ms x 3 where the routers ikefleet configures run RouterOS 6's
    `/routing bfd interface` factory entry (interval=0.2s min-rx=0.2s multiplier=5, the v6 BFD neighbor
    capture). An entry for the interface wins over `interface=all`."""
    branch = build(tmp_path, 1).branches[0]
    text = frr.translate(branch)
    profile = text[text.index("bfd\n") :].split("\n!\n")[0].splitlines()
    assert profile == ["bfd", " profile routeros-200-200-x5", "  transmit-interval 200",
                       "  receive-interval 200", "  detect-multiplier 5", " !"]
    block = text.split("interface EoIP-Tunnel\n")[1].split("!")[0]
    assert " ip ospf bfd profile routeros-200-200-x5" in block
    add = branch.config.add
    add("/routing bfd interface", {"interface": "all", "interval": "0.3s"})
    add("/routing bfd interface", {"interface": "EoIP-Tunnel", "min-rx": "100ms", "multiplier": "3"})
    assert frr.bfd_timers(branch, "EoIP-Tunnel") == (200, 100, 3)
    assert frr.bfd_timers(branch, "bridge") == (300, 200, 5)
    assert "ip ospf bfd profile routeros-200-100-x3" in frr.translate(branch)


@pytest.mark.parametrize(
    ("field", "setting"), [("multiplier", "1"), ("interval", "5ms"), ("min-rx", "0.2505s")]
)
def test_bfd_timers_bfdd_cannot_run_are_refused(tmp_path: Path, field: str, setting: str) -> None:
    branch = build(tmp_path, 1).branches[0]
    branch.config.add("/routing bfd interface", {"interface": "EoIP-Tunnel", field: setting})
    with pytest.raises(Untranslatable) as err:
        frr.translate(branch)
    assert (err.value.setting, err.value.value) == (f"/routing bfd interface {field}", setting)


OPENS = ("interface ", "router ", "bfd", "profile ", "route-map ")  # the lines that enter a context


def changed(change: str) -> list[str]:
    """The commands of `change` with their context: `interface X: no ip ospf cost 10`."""
    out: list[str] = []
    context: list[str] = []
    previous = ""
    for line in change.splitlines():
        if line == "exit":
            if previous.startswith(OPENS):  # a block entered and left: the block itself is added
                out.append(": ".join(context))
            context.pop()
        elif line.startswith(OPENS):
            context.append(line)
        else:
            out.append(": ".join([*context, line]))
        previous = line
    assert not context, change  # every context entered is left
    return out


def test_a_hub_gaining_a_branch_changes_frr_in_place_by_that_interface_only(seed: Lab) -> None:
    """Issue: the lab restarted the hub's FRR when the hub gained a branch (its OSPF interface), so every
    other branch's OSPF and BFD went down after its gate had passed. RouterOS adds one interface and leaves
    the others' adjacencies alone: the change is that interface's lines, nothing else, there and back."""
    hub = seed.hub
    items = hub.config.items("/routing ospf interface")
    third = next(i for i in items if i.get("interface") == "EoIP-R3")
    full = frr.translate(hub)
    items.remove(third)
    try:
        without = frr.translate(hub)
    finally:
        items.append(third)
    assert frr.delta(full, full) == ""
    added = changed(frr.delta(without, full))
    assert added[0] == "interface EoIP-R3" and all(c.startswith("interface EoIP-R3") for c in added)
    assert "interface EoIP-R3: ip ospf bfd profile routeros-200-200-x5" in added and len(added) == 10
    removed = changed(frr.delta(full, without))
    assert removed[0] == "interface EoIP-R3: no ip ospf bfd profile routeros-200-200-x5"
    assert all(c.startswith("interface EoIP-R3: no ip ospf ") for c in removed) and len(removed) == 9


def test_a_changed_value_is_undone_before_the_new_one_and_a_removed_block_goes_at_once(
    tmp_path: Path,
) -> None:
    """`no ip ospf cost 10` after `ip ospf cost 20` would put FRR's default back: undo first, then add.
    A removed `router ospf` or BFD profile goes with one `no`, not line by line."""
    branch = build(tmp_path, 1).branches[0]
    old = frr.translate(branch)
    items = branch.config.items("/routing ospf interface")
    item = next(i for i in items if i.get("interface") == "EoIP-Tunnel")
    item.values["cost"] = "20"
    assert changed(frr.delta(old, frr.translate(branch))) == [
        "interface EoIP-Tunnel: no ip ospf cost 10", "interface EoIP-Tunnel: ip ospf cost 20"]
    gone = changed(frr.delta(old, ""))
    assert gone.count("no router ospf") == 1 and not [c for c in gone if c.startswith("router ospf:")]
    assert gone.count("no bfd") == 1 and not [c for c in gone if c.startswith("bfd:")]
