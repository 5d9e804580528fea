"""The YAML loader of the inventory's files (and checks.yaml): ruamel's safe loader as Nornir's
SimpleInventory uses it (YAML 1.2, its C parser, the same values and the same errors), with one cost taken
out. For every scalar, ruamel's resolver asks which YAML version the document is in through lookups that
fail on its C loader (two AttributeErrors raised and caught each time): ~1/3 of loading a 200-host
hosts.yaml. The answer cannot change during a load there, so it is asked once per load.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.resolver import VersionedResolver


class _OnceResolver(VersionedResolver):
    """VersionedResolver whose processing_version is worked out once per loader when the loader has no
    Python scanner (ruamel's C loader: no %YAML directive reaches the resolver, so the version is the
    loader's setting or the default throughout); with the pure-Python scanner it is asked every time, as
    ruamel does (a directive may change it between documents)."""

    @property
    def processing_version(self) -> Any:
        cached = self.__dict__.get("_version_once")
        if cached is not None:
            return cached
        version = super().processing_version
        if getattr(self.loadumper, "_scanner", None) is None:
            self.__dict__["_version_once"] = version
        return version


def safe_yaml() -> YAML:
    """A `YAML(typ="safe")` loader with the resolver above (a fresh one per caller: it is not thread-safe)."""
    yaml = YAML(typ="safe")
    yaml.Resolver = _OnceResolver
    return yaml
