"""Helpers shared by the lab-driven tests of the main job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def fast_keys(lab_dir: Path) -> None:
    """2048-bit keys in the lab's inventory: RSA 4096 generation would dominate test time."""
    path = lab_dir / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": 2048}
    with path.open("w") as out:
        yaml.dump(data, out)


@contextmanager
def rolled_out_lab(directory: Path, **lab_options: Any) -> Iterator[Any]:
    """A lab (Lab.start options) with fast keys, rolled out once and settled: the fleet tests read."""
    from ikefleet.lab.manager import Lab
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    with Lab.start(directory, **lab_options) as lab:
        fast_keys(lab.directory)
        lab.settle()
        summary = Rollout(RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0)).run()
        assert not summary.failed, {h: o.error for h, o in summary.hosts.items() if o.error}
        lab.settle()
        yield lab


def defconf_items(config: Any) -> list[tuple[str, str, dict[str, str], bool]]:
    """Every item RouterOS's default configuration made (comment `defconf` or `defconf: ...`), in order:
    (menu, comment, values, disabled)."""
    return [
        (path, item.comment, dict(item.values), item.disabled)
        for path, items in config.menus.items()
        for item in items
        if item.comment == "defconf" or item.comment.startswith("defconf:")
    ]


def assert_defconf_untouched(lab: Any) -> None:
    """Each lab router still holds its factory defconf items, comments, fields and order unchanged."""
    from ikefleet.lab.factory import initial_config

    lab.settle()
    for name, router in lab.routers.items():
        before = defconf_items(initial_config(router.spec))
        assert len(before) >= 18, name  # bridge, 4 ports, 2 lists, 2 members, address, 11 rules, masquerade
        assert defconf_items(router.config) == before, name


def certificate_policy(lab_dir: Path, days: int, window: int) -> None:
    """The lab inventory's certificate policy: 2048-bit keys valid `days`, renewed `window` days before
    they expire (a test moves a fleet into its renewal window by raising `window`)."""
    defaults = lab_dir / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(defaults.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": 2048, "days_valid": days,
                                                   "renew_window_days": window}
    with defaults.open("w") as out:
        yaml.dump(data, out)
