"""Which items a `print where` needs to test, found in a sorted index instead of by testing every item.

A branch's route read (`ospf and (dst-address in <hub LAN> or ...)`) looks for a few routes in a table that
holds every other branch's LAN: tested one by one, each print cost the lab time in proportion to the fleet,
on every branch (issue 22). When the `where` can only pass items whose field lies inside given prefixes,
and testing an item can neither fail nor run anything (`where.narrowing`), the items outside them are left
out untested: the output is the same. Only the dynamic items of the menus in INDEXED are indexed: RouterOS
refuses to change a dynamic item, so a dynamic item's address stays what it was when the index was built;
the index is rebuilt whenever the menu's list holds other items than it did (the fabric rebuilds a table as
new items), and every configured item is still tested.
"""

from __future__ import annotations

import bisect
import ipaddress
import operator
from collections.abc import Callable
from dataclasses import dataclass

from ikefleet.routeros.config import Item

from .router import Router

# (menu, field) pairs whose dynamic items are indexed by the field's prefix.
INDEXED = frozenset({("/ip route", "dst-address")})
Reader = Callable[[Item, str], "str | None"]  # an item's value of a field, as the `where` test reads it


@dataclass(frozen=True)
class _Index:
    items: list[Item]  # the menu's items when built (a copy of the list): the index holds while they are
    starts: list[int]  # first address of each indexed item's prefix, ascending
    positions: list[int]  # the item's place in `items`, parallel to `starts`
    others: list[int]  # places of the items not indexed (configured ones, values that are no IPv4 prefix)


def _network(text: str) -> ipaddress.IPv4Network | None:
    """As `where.inside` reads a value (non-strict); None for anything but an IPv4 prefix or address."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


def _build(items: list[Item], field: str, value_of: Reader) -> _Index:
    keyed: list[tuple[int, int]] = []
    others: list[int] = []
    for n, item in enumerate(items):
        net = _network(value_of(item, field) or "") if item.dynamic else None
        if net is None:
            others.append(n)
        else:
            keyed.append((int(net.network_address), n))
    keyed.sort()
    return _Index(list(items), [start for start, _ in keyed], [n for _, n in keyed], others)


def candidates(router: Router, path: str, items: list[Item], field: str, containers: tuple[str, ...],
               value_of: Reader) -> list[Item]:
    """The items of `items` (menu `path`, in order) that can have `field` inside one of `containers`: every
    item not indexed, and the indexed ones whose prefix starts inside a container. `value_of(item, field)`
    reads the value as the `where` test does. All of `items` when the pair is not indexed or a container
    is not an IPv4 prefix."""
    if (path, field) not in INDEXED:
        return items
    wanted = [_network(text) for text in containers]
    if any(net is None for net in wanted):
        return items
    cache: dict[tuple[str, str], _Index] = router.__dict__.setdefault("_where_index", {})
    index = cache.get((path, field))
    if index is None or len(index.items) != len(items) or not all(map(operator.is_, index.items, items)):
        index = cache[(path, field)] = _build(items, field, value_of)
    chosen = set(index.others)
    for net in wanted:
        assert net is not None
        low = bisect.bisect_left(index.starts, int(net.network_address))
        high = bisect.bisect_right(index.starts, int(net.broadcast_address))
        chosen.update(index.positions[low:high])
    return [items[n] for n in sorted(chosen)]
