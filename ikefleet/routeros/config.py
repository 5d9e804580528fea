"""RouterOS configuration as data: menu path -> ordered items, each a dict of field values.

One model serves the lab (its routers' stored state) and the diff engine (a router's current and intended
configuration). Paths are written the way `/export` writes section headers: "/ip ipsec peer".
Values are kept as the strings RouterOS prints, so comparing, printing and exporting need no conversion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Item:
    """One entry of a list menu (or the single entry of a settings menu).

    `values` holds the fields set on the item (explicitly or by the router); the menu schema gives the
    defaults of the rest. `private` holds data never printed nor exported (a certificate's private key).
    `status` holds computed read-only fields (e.g. `running`, `actual-mtu`, `mac-address`) that the lab
    fabric sets: shown by print, never exported nor persisted.
    """

    id: int
    values: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    dynamic: bool = False
    default: bool = False
    comment: str = ""
    private: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, fallback: str = "") -> str:
        return self.values.get(name, fallback)

    def to_json(self) -> dict[str, Any]:
        # Copies, not references: a snapshot taken with to_json (safe mode) must not follow later changes.
        data: dict[str, Any] = {"id": self.id, "values": dict(self.values)}
        for flag in ("disabled", "dynamic", "default"):
            if getattr(self, flag):
                data[flag] = True
        if self.comment:
            data["comment"] = self.comment
        if self.private:
            data["private"] = dict(self.private)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        return cls(
            id=int(data["id"]),
            values=dict(data.get("values", {})),
            disabled=bool(data.get("disabled", False)),
            dynamic=bool(data.get("dynamic", False)),
            default=bool(data.get("default", False)),
            comment=str(data.get("comment", "")),
            private=dict(data.get("private", {})),
        )


@dataclass
class Config:
    """path -> items, in the router's order. Settings menus hold exactly one item."""

    menus: dict[str, list[Item]] = field(default_factory=dict)
    next_id: int = 1

    def items(self, path: str) -> list[Item]:
        return self.menus.setdefault(path, [])

    def add(self, path: str, values: dict[str, str], *, disabled: bool = False, dynamic: bool = False,
            default: bool = False, comment: str = "", private: dict[str, str] | None = None,
            status: dict[str, str] | None = None) -> Item:
        """A new item at the end of `path`, with a copy of `values` (an export's parse adds each line). The
        item's fields are named here, not taken as `**flags` (collected into a dict and spread again)."""
        item = Item(self.next_id, dict(values), disabled, dynamic, default, comment,
                    {} if private is None else private, {} if status is None else status)
        self.next_id += 1
        items = self.menus.get(path)
        if items is None:
            items = self.menus[path] = []
        items.append(item)
        return item

    def find(self, path: str, **where: str) -> Iterator[Item]:
        for item in self.menus.get(path, []):
            if all(item.values.get(k) == v for k, v in where.items()):
                yield item

    def to_json(self) -> dict[str, Any]:
        return {
            "next_id": self.next_id,
            "menus": {
                path: [item.to_json() for item in items if not item.dynamic]
                for path, items in self.menus.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Config:
        return cls(
            menus={p: [Item.from_json(i) for i in items] for p, items in data.get("menus", {}).items()},
            next_id=int(data.get("next_id", 1)),
        )
