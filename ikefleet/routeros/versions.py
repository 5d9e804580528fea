"""What each RouterOS version can do, as data: the first version of each feature ikefleet relies on, and
the source that dates it. Validation refuses a version that lacks what the design needs; the reads pick the
form the version has (`:serialize` JSON or text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Feature:
    since: tuple[int, ...]
    what: str  # operator words: what the version lacks
    source: str  # where the first version comes from


FEATURES: dict[str, Feature] = {
    "mode-config-address": Feature(
        (6, 44),
        "the hub's /ip ipsec mode-config address= (one fixed address per branch)",
        "first real support 6.44 (the docs say 6.43; issue 18.7)",
    ),
    "serialize": Feature(
        (7, 13),
        ":serialize (JSON reads)",
        "7.13 changelog 'added :serialize'; RAML inspect 7.12.2 lacks it, 7.13.5 has it",
    ),
    "serialize-no-string-conversion": Feature(
        (7, 17),
        ":serialize options=json.no-string-conversion (without it number-looking strings become "
        "1234.000000 and values such as 0123 or 1.10 cannot be read back)",
        "RAML inspect: :serialize has no options before 7.16, only json.pretty in 7.16.x, "
        "json.no-string-conversion from 7.17",
    ),
    "sign-certificate-request": Feature(
        (7, 9),
        "/certificate sign-certificate-request (the hub signs a branch's PKCS#10 request: the branch makes "
        "its own key, which never leaves it)",
        "RAML inspect.json command trees have it in every version they hold, 7.9 to 7.24 and nightly (args "
        "ca, file-name, days-valid, digest-algorithm), as does MikroTik's CLI reference; used on 7.16.1 in "
        "a forum thread. RAML holds no 6.x or 7.0-7.8 trees and no changelog or v6 wiki page names it: "
        "earlier versions are not confirmed, so 7.9 is the first ikefleet relies on",
    ),
    "show-sensitive": Feature(
        (7, 21),
        "print hides sensitive values unless show-sensitive",
        "7.21 changelog 'added show-sensitive option for print command'; RAML 7.20.8 -> 7.21",
    ),
}
_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@cache
def version_tuple(version: str) -> tuple[int, ...]:
    """`7.16.1` -> (7, 16, 1); `7.16` -> (7, 16, 0); ValueError when it is no version."""
    found = _VERSION.match(version.strip())
    if found is None:
        raise ValueError(f"not a RouterOS version: {version!r}")
    return tuple(int(p or 0) for p in found.groups())


def has(version: str, feature: str) -> bool:
    """Whether RouterOS `version` has `feature` (a FEATURES key)."""
    return version_tuple(version) >= FEATURES[feature].since


def since(feature: str) -> str:
    """The first version of `feature`, as text (`7.17`)."""
    return ".".join(str(p) for p in FEATURES[feature].since)


def json_reads(version: str) -> bool:
    """Verification reads come as `:serialize` JSON only where every value survives it (7.17+, with
    json.no-string-conversion); older v7 routers and v6 are read as text."""
    return has(version, "serialize-no-string-conversion")
