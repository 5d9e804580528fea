"""The untyped record every reader produces: RouterOS field names and string values, flags by name."""

from __future__ import annotations

from dataclasses import dataclass, field

from ikefleet.parsers.values import is_secret


@dataclass(slots=True)
class RawRecord:
    """One printed item: `flags` are the legend names of its flag letters (`{"active", "dynamic"}`)."""

    index: int | None = None
    object_id: str | None = None
    flags: set[str] = field(default_factory=set)
    comment: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    printed: bool = True  # False for as-value / JSON items, which carry no flag letters
    from_table: bool = False  # its values come from table columns, whose headers may be cut short


def from_mapping(values: dict[str, str]) -> RawRecord:
    """A record from as-value / JSON fields: `.id` and `comment` lifted out, secrets dropped."""
    record = RawRecord(printed=False)
    for key, value in values.items():
        if is_secret(key):
            continue
        if key == ".id":
            record.object_id = value
        elif key == "comment":
            record.comment = value
        else:
            record.values[key] = value
    return record
