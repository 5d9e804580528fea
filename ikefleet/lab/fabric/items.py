"""Dynamic items as the fabric writes them: menu paths, print flags, ids outside the configuration's range.

Flags: every computed item carries `status[<flag field>] = "yes"|"no"` for the flags of its menu's legend
(`running`, `responder`, `hw-aead`, `ESP`, `active`, `connect`, `ospf`, `inactive`, `up`, ...; the D flag is
the item's `dynamic` attribute) and the letters as `status["flags"]` (`R`, `HE`, `DA`, `ADC`, `ADo`, `U`).
"""

from __future__ import annotations

from ikefleet.routeros.config import Item

from ..router import Router
from .common import memory

ACTIVE_PEERS, INSTALLED_SA = "/ip ipsec active-peers", "/ip ipsec installed-sa"
POLICY, ADDRESS, ROUTE = "/ip ipsec policy", "/ip address", "/ip route"
OSPF_NEIGHBOR, OSPF_INTERFACE = "/routing ospf neighbor", "/routing ospf interface"
BFD = "/routing bfd neighbor"
BFD_V7 = "/routing bfd session"  # v7's name for the same state
INTERFACE_MENUS = ("/interface", "/interface ethernet", "/interface bridge", "/interface eoip")
DYNAMIC_IDS = 1 << 24  # ids of computed items start above any configuration's ids


# Print-legend letters -> the flag's field name in the menu schema (the engine shows a flag whose field is
# "yes"); `status["flags"]` keeps the letters too.
FLAG_FIELDS = {
    ACTIVE_PEERS: {"R": "responder", "N": "natt-peer"},
    INSTALLED_SA: {"S": "seen-traffic", "H": "hw-aead", "A": "AH", "E": "ESP"},  # S: v7 only
    POLICY: {"A": "active", "I": "invalid"},
    ROUTE: {"A": "active", "C": "connect", "S": "static", "o": "ospf"},
    OSPF_INTERFACE: {"I": "inactive", "P": "passive"},
    BFD: {"U": "up"},
    BFD_V7: {"U": "up", "I": "inactive"},
}


def set_flags(item: Item, path: str, flags: str) -> None:
    """Record print flags on `item.status`: the letters and one yes/no field per flag of the menu."""
    item.status["flags"] = flags
    for letter, name in FLAG_FIELDS.get(path, {}).items():
        if name == "passive" and not item.dynamic:
            continue  # a configured field, not status
        item.status[name] = "yes" if letter in flags else "no"


def add(router: Router, path: str, values: dict[str, str], flags: str, session: str = "") -> Item:
    """Append a dynamic item. Its id comes from the fabric's own range, so computed state never moves the
    configuration's `next_id` (which is persisted)."""
    mem = memory(router)
    mem.next_id += 1
    item = Item(id=DYNAMIC_IDS + mem.next_id, values=values, dynamic=True)
    router.config.items(path).append(item)
    set_flags(item, path, flags)
    if session:
        item.private["session"] = session
    return item


def clear_dynamic(router: Router) -> None:
    for path, items in router.config.menus.items():
        if any(i.dynamic for i in items):
            router.config.menus[path] = [i for i in items if not i.dynamic]
