"""Helpers shared by the lab-driven tests of the main job."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML


def fast_keys(lab_dir: Path) -> None:
    """2048-bit keys in the lab's inventory: RSA 4096 generation would dominate test time."""
    path = lab_dir / "inventory" / "defaults.yaml"
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.setdefault("data", {})["certificates"] = {"key_size": 2048}
    with path.open("w") as out:
        yaml.dump(data, out)
