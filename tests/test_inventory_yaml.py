"""The inventory's YAML loader reads every file as Nornir's SimpleInventory (ruamel's safe loader) does:
the same values, the same errors; and the inventory it builds is SimpleInventory's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fleet_factory import branch, hub, write_inventory
from nornir.plugins.inventory.simple import SimpleInventory
from ruamel.yaml import YAML

from ikefleet.inventory import load_nornir_inventory, read_config
from ikefleet.inventory_yaml import safe_yaml

TEXTS = {
    "booleans and nulls": "a: yes\nb: no\nc: on\nd: true\ne: ~\nf: null\ng: False\n",
    "numbers": "a: 0123\nb: 0o17\nc: 0x1f\nd: 1_000\ne: 1.5e3\nf: .inf\ng: -.NaN\nh: 6.49\ni: 7.16.1\n",
    "dates and addresses": "a: 2026-12-07\nb: 2026-12-07T09:00:00Z\nc: 203.0.113.1/24\nd: '22'\ne: 22:30\n",
    "a 1.1 directive": "%YAML 1.1\n---\na: yes\nb: 0123\nc: 1:30\n",
    "nested": "h:\n  data:\n    lan_prefixes: [192.168.1.0/24]\n    x: {y: [1, 2, {z: off}]}\n",
    "anchors": "base: &b {port: 22}\nh1: {<<: *b, hostname: a}\nh2: *b\n",
    "empty": "# only a comment\n",
}
BAD = {
    "duplicate keys": "a: 1\na: 2\n",
    "syntax": "a: [1, 2\nb: 3\n",
    "tab": "a:\n\t- 1\n",
}


def _as_ruamel(text: str) -> Any:
    return YAML(typ="safe").load(text)


@pytest.mark.parametrize("name", TEXTS)
def test_values_are_ruamels(name: str) -> None:
    assert safe_yaml().load(TEXTS[name]) == _as_ruamel(TEXTS[name])


@pytest.mark.parametrize("name", BAD)
def test_errors_are_ruamels(name: str) -> None:
    with pytest.raises(Exception) as ours:
        safe_yaml().load(BAD[name])
    with pytest.raises(Exception) as theirs:
        _as_ruamel(BAD[name])
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_one_loader_reads_several_documents_as_fresh_ones_would() -> None:
    yaml = safe_yaml()
    for text in [*TEXTS.values(), *TEXTS.values()]:
        assert yaml.load(text) == _as_ruamel(text)


def _dump(inventory: Any) -> Any:
    def element(e: Any) -> dict[str, Any]:
        return {"name": e.name, "hostname": e.hostname, "port": e.port, "platform": e.platform,
                "data": e.data, "groups": [g.name for g in e.groups],
                "username": e.username, "password": e.password}

    return ({n: element(h) for n, h in inventory.hosts.items()},
            {n: element(g) for n, g in inventory.groups.items()},
            (inventory.defaults.data, inventory.defaults.platform, inventory.defaults.port))


def test_the_inventory_is_simpleinventorys(tmp_path: Path) -> None:
    hosts = {"hub": hub(), **{f"br{n}": branch(n) for n in range(1, 4)}}
    hosts["br1"]["groups"] = ["initiators", "child"]
    groups = {"responder": {}, "initiators": {"data": {"lan_interface": "ether2"}}, "parent": {"port": 2222},
              "child": {"groups": ["parent"]}}
    config = read_config(write_inventory(tmp_path, hosts, groups=groups))
    files = (config.host_file, config.group_file, config.defaults_file)
    ours = load_nornir_inventory(*files)
    theirs = SimpleInventory(*(str(f) for f in files)).load()
    assert _dump(ours) == _dump(theirs)
    assert [g.name for g in ours.hosts["br1"].extended_groups()] == ["initiators", "child", "parent"]


def test_the_version_is_worked_out_once_per_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """ruamel works it out for every scalar (raising and catching two AttributeErrors on its C loader)."""
    from ruamel.yaml.resolver import VersionedResolver

    asked: list[int] = []
    real = VersionedResolver.processing_version

    def counted(self: Any) -> Any:
        asked.append(1)
        return real.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(VersionedResolver, "processing_version", property(counted))
    text = "".join(f"h{n}: {{port: {n}, data: {{a: yes, b: [1, 2]}}}}\n" for n in range(50))
    assert safe_yaml().load(text) == _as_ruamel(text)
    ruamels = len(asked)
    asked.clear()
    safe_yaml().load(text)
    assert len(asked) == 1 < ruamels
