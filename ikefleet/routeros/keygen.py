"""How long a RouterOS router takes to make a key and sign a certificate (`keygen_timing.yaml`).

RouterOS knowledge, so it lives here: ikefleet derives its signing timeout from the slowest class (it does
not know how fast an unknown router is), and the lab waits this long (scaled by its time scale) so tests and
benchmarks see the cost that dominates a real first rollout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

TABLE = Path(__file__).with_name("keygen_timing.yaml")


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(TABLE.read_text())
    return data


def cpu_class(model: str) -> str:
    """The CPU class of a model: the longest `models` prefix it starts with, else `default_class`."""
    data = table()
    prefixes = sorted((p for p in data["models"] if model.startswith(p)), key=len, reverse=True)
    return str(data["models"][prefixes[0]]) if prefixes else str(data["default_class"])


def seconds(model: str, key_size: str | int) -> float:
    """Real seconds `model` takes to sign a template of `key_size` (an unknown size: the 8192-bit time)."""
    row = table()["classes"][cpu_class(model)]["seconds"]
    return float(row.get(str(key_size), row["8192"]))


def slowest(key_size: str | int) -> float:
    """The longest time any class in the table takes for `key_size` (what a careful caller waits for)."""
    rows = [c["seconds"] for c in table()["classes"].values()]
    return max(float(row.get(str(key_size), row["8192"])) for row in rows)


def request_seconds(model: str) -> float:
    """Real seconds `model` takes to sign a certificate request with its CA's key (no key is made)."""
    return float(table()["classes"][cpu_class(model)]["sign_request"])
