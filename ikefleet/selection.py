"""`--limit`: which routers a command is about, in the same forms for every command.

A selection is host names and group names (the role groups `responder` and `initiators`, and any group of
groups.yaml), repeated or comma-separated (`--limit br1,br2 --limit moscow`). A name that matches no host
and no group is bad input (exit 2) naming the nearest names: a typo must never turn into "nothing to do,
all compliant".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ikefleet.fleet import Fleet
from ikefleet.inventory import INITIATOR_GROUP, RESPONDER_GROUP


class SelectionError(ValueError):
    """A --limit that names something the inventory does not have, or selects nothing (CLI exit 2)."""


def names(limit: Iterable[str]) -> list[str]:
    """The names of a --limit as given: each value split at commas, blanks dropped."""
    return [n.strip() for value in limit for n in value.split(",") if n.strip()]


def groups(fleet: Fleet) -> dict[str, list[str]]:
    """group -> its hosts, in fleet order: the role groups and the inventory's own."""
    members = {RESPONDER_GROUP: [fleet.hub.name], INITIATOR_GROUP: [b.name for b in fleet.branches]}
    for site in fleet.sites:
        for group in fleet.groups.get(site.name, ()):
            if site.name not in members.setdefault(group, []):
                members[group].append(site.name)
    return members


def nearest(name: str, known: Iterable[str]) -> list[str]:
    """Up to three known names closest to `name` (case ignored), best first."""
    by_lower = {k.lower(): k for k in known}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.5)]


def select(fleet: Fleet, limit: Iterable[str]) -> list[str]:
    """The selected hosts in fleet order (hub first); no --limit at all selects the whole fleet.
    Raises SelectionError naming every name that matched nothing, with its nearest names."""
    limit = list(limit)
    wanted = names(limit)
    hosts = [s.name for s in fleet.sites]
    if not limit:
        return hosts
    if not wanted:
        given = " ".join(map(repr, limit))
        raise SelectionError(f"--limit {given} names no host or group; fix: give host or group names, "
                             f"e.g. --limit {hosts[-1]} or --limit {INITIATOR_GROUP}")
    members = groups(fleet)
    known = set(hosts)
    unmatched = [n for n in wanted if n not in known and n not in members]
    if unmatched:
        words = []
        for name in dict.fromkeys(unmatched):
            close = nearest(name, [*hosts, *members])
            words.append(f"{name!r} (nearest: {', '.join(close)})" if close else repr(name))
        raise SelectionError(f"--limit: no host or group named {'; '.join(words)}; fix: use names from "
                             f"`ikefleet plan` (groups: {', '.join(sorted(members))})")
    chosen = {h for n in wanted for h in (members[n] if n in members and n not in known else [n])}
    return [h for h in hosts if h in chosen]
