"""Remediation and rollback for RouterOS (hier_config's WorkflowRemediation, for export-style configs).

`remediate(current, intended, schema)` gives the minimal RouterOS commands that turn the managed part of
`current` into `intended`, the per-field changes for the dry-run diff, and the rollback commands that bring
the post-change router back to `current` - computed together from the same operations, so they cannot
drift apart. `future(config, remediation)` applies the operations to a model (round-trip tests, previews).

Rules (why they are safe):
- items are matched by the menu's natural key (schema), compared on effective values (unset = default);
- only owned items are ever removed: marked `comment=ikefleet`, or, in menus without a comment field,
  named only by marked items (`ownership`; or what `owned` says); default/factory items and items the
  intent `set`s are only changed in the fields the intent names;
- an item whose comment is not the marker (`defconf: masquerade`, the operator's note) belongs to whoever
  wrote it: it is never matched to an intended item, so its comment and fields are never changed; an
  intended item that would clash with it on a unique field is a conflict (`Remediation.conflicts`), which
  the caller refuses before sending anything;
- on owned items every field the intent leaves out goes back to its default (or is unset), except the
  ones the router assigns itself (rules `router-assigned`: an EoIP tunnel's mac-address...) and fields the
  schema does not know;
- adds and sets run in dependency order (policy group -> proposal -> profile -> peer -> identity -> policy,
  bridge/eoip -> address -> ospf), removes afterwards in reverse order, so references always resolve;
- in ordered menus (firewall, routing filter) new rules go `place-before` the next intended rule that
  exists, else before the first user rule after the previous intended one; existing intended rules found
  out of order are `move`d back, anchored on ikefleet's own rules;
- commands find items by natural key in the stored form; removes and non-unique keys also name the
  marker and unset key fields (`prefix=""`), so they never reach a user's item with the same key.
  Limits: identical user rules cannot be told apart by any `find`; a rollback `move`/re-add anchors on
  the rule that followed, found by its values.

Commands and rollback commands carry secrets (they must reach the router); `Change` lines and reprs mask
them. Log commands only through `ikefleet.redact`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.quoting import quote, quoted
from ikefleet.routeros.schema import ValueProblem, load_rules, normalize_value
from ikefleet.routeros.script import NUMBER, add, apply, split_flags

MARKER = "ikefleet"
MASK = "********"

# Item attributes carried as command arguments next to the values.
_ATTRS = ("comment", "disabled")
# `find where` literals RouterOS reads as typed values; everything else is quoted, since a bare `16-32`
# is arithmetic and a bare `500,4500` an array in a RouterOS expression.
_LITERAL = re.compile(r"^(yes|no|\d+|\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?)$")


@dataclass(frozen=True)
class Selector:
    """Which item a command targets: a settings menu, the default item, or `find where k=v and ...`."""

    where: tuple[tuple[str, str], ...] = ()
    default: bool = False
    settings: bool = False

    def text(self, menu: Any) -> str:
        if self.settings or not (self.default or self.where):
            return ""
        if self.default:
            return "[ find default=yes ]"
        if len(self.where) == 1 and self.where[0][0] == NUMBER:
            return self.where[0][1]
        parts = []
        for name, value in self.where:
            fld = _fields(menu).get(name)
            bare = _LITERAL.match(value) and getattr(fld, "type", "str") not in ("name", "str", "text")
            parts.append(f"{name}={value if bare else quoted(value)}")
        return "[ find where " + " and ".join(parts) + " ]"

    def label(self) -> str:
        if self.settings:
            return ""
        if self.default:
            return "[default]"
        return "[" + " ".join(f"{k}={v}" for k, v in self.where) + "]"


@dataclass(frozen=True)
class Op:
    """One RouterOS command as data: add | set | unset | remove | move (`place_before` = destination)."""

    verb: str
    path: str
    selector: Selector = Selector()
    args: tuple[tuple[str, str], ...] = ()  # add/set arguments; unset: (("value-name", field),)
    place_before: Selector | None = None

    def __repr__(self) -> str:
        secret = load_rules().secret_names
        args = tuple((k, MASK if k in secret else v) for k, v in self.args)
        return f"Op({self.verb!r}, {self.path!r}, {self.selector!r}, {args!r}, {self.place_before!r})"

    def command(self, schema: Any) -> str:
        menu = _menu(schema, self.path)
        words = [self.path, self.verb]
        target = self.selector.text(menu)
        if target:
            words.append(target)
        if self.verb == "unset":  # `unset <target> <field>`: the field name is the positional value-name
            words.extend(v for _, v in self.args)
        else:
            words.extend(f"{k}={quote(v)}" for k, v in self.args)
        if self.place_before is not None:
            word = "destination" if self.verb == "move" else "place-before"
            words.append(f"{word}={self.place_before.text(menu)}")
        return " ".join(words)


@dataclass(frozen=True)
class Change:
    """One line of the dry-run diff: `+` item added, `-` item removed, `~` field changed (old -> new)."""

    op: str
    path: str
    key: str
    field: str = ""
    old: str | None = None
    new: str | None = None
    secret: bool = False

    def __repr__(self) -> str:
        return f"Change({self.text()!r})"

    def text(self) -> str:
        """The human line; secret values are masked."""
        if self.op == "~":
            old = "(unset)" if self.old is None else (MASK if self.secret else self.old)
            new = "(unset)" if self.new is None else (MASK if self.secret else self.new)
            return " ".join(p for p in ("~", self.path, self.key, f"{self.field}: {old} -> {new}") if p)
        return " ".join(p for p in (self.op, self.path, self.key) if p)


@dataclass
class Remediation:
    """What to run, what it changes, and how to undo it (all from one computation)."""

    ops: list[Op] = field(default_factory=list)
    rollback_ops: list[Op] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    schema: Any = field(default=None, repr=False)
    conflicts: list[str] = field(default_factory=list)  # intended items a foreign item blocks (no add)

    @property
    def commands(self) -> list[str]:
        return [op.command(self.schema) for op in self.ops]

    @property
    def rollback(self) -> list[str]:
        return [op.command(self.schema) for op in self.rollback_ops]

    def diff(self) -> list[str]:
        """Dry-run lines (`+`/`-`/`~`), secrets masked."""
        return [c.text() for c in self.changes]

    def inverse(self) -> Remediation:
        """The rollback as a Remediation of its own (for `future`)."""
        return Remediation(ops=list(self.rollback_ops), rollback_ops=list(self.ops), schema=self.schema)

    def __bool__(self) -> bool:
        return bool(self.ops)


# ------------------------------------------------------------------------------------------ schema access


class _Unknown:
    """Stand-in for menus the schema lacks: a list menu identified by all its values."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.kind = "list"
        self.fields: dict[str, Any] = {}
        self.key: tuple[str, ...] = ()
        self.addable = True


def _menu(schema: Any, path: str) -> Any:
    try:
        return schema.menu(path)
    except KeyError:
        return _Unknown(path)


_NO_FIELDS: dict[str, Any] = {}


def _fields(menu: Any) -> dict[str, Any]:
    return getattr(menu, "fields", None) or _NO_FIELDS


def _default(menu: Any, name: str) -> str | None:
    fld = _fields(menu).get(name)
    return None if fld is None else fld.default


def _normal(fld: Any, value: str | None) -> str | None:
    """`value` as RouterOS stores field `fld` (unchanged without a field, or when RouterOS refuses it)."""
    if value is None or fld is None:
        return value
    try:
        return normalize_value(fld, value)
    except (ValueProblem, ValueError):
        return value


def _norm(menu: Any, name: str, value: str | None) -> str | None:
    return _normal(_fields(menu).get(name), value)


def _effective(menu: Any, item: Item, name: str) -> str | None:
    """The value RouterOS would print: the set value, else the default (None = unset)."""
    if name == "comment":
        return item.comment or None
    if name == "disabled":
        return "yes" if item.disabled else "no"
    if type(menu) is _View:
        return menu.effective(item, menu.stored(item), name)
    fld = _fields(menu).get(name)
    return _normal(fld, item.values.get(name, None if fld is None else fld.default))


def _raw(menu: Any, item: Item, name: str) -> str | None:
    if name == "comment":
        return item.comment or None
    if name == "disabled":
        return "yes" if item.disabled else "no"
    return item.values.get(name, _default(menu, name))


def _is_secret(menu: Any, name: str) -> bool:
    fld = _fields(menu).get(name)
    return bool(getattr(fld, "secret", False)) or name in load_rules().secret_names


def _writable(menu: Any, name: str) -> bool:
    fld = _fields(menu).get(name)
    return fld is None or not fld.read_only


# ------------------------------------------------------------------------------------------ identity


class _View:
    """One menu as one remediation reads it: its fields' defaults normalised once, and the stored form,
    identity and signature of each item of the two configurations compared (`_match` asks for them again
    and again, `_field_ops` field by field). Made per call and per menu, so nothing outlives the call;
    only the items `prime` is given are remembered (they are never changed during the call, while the
    copies `_sequence` edits are)."""

    def __init__(self, schema: Any, path: str) -> None:
        menu = _menu(schema, path)
        self.path = path
        self.kind: str = menu.kind
        self.fields: dict[str, Any] = _fields(menu)
        self.key: tuple[str, ...] = tuple(menu.key)
        self.unique: tuple[tuple[str, ...], ...] = tuple(getattr(menu, "unique", ()))
        self.addable: bool = getattr(menu, "addable", True)
        self.defaults: dict[str, str | None] = getattr(menu, "stored_defaults", _NO_FIELDS)
        self.skip = load_rules().router_assigned.get(path, frozenset())
        # id(item) -> (item, stored values, identity, signature), for primed items only
        self._known: dict[int, tuple[Item, dict[str, str | None], tuple[Any, ...], tuple[Any, ...]]] = {}

    def prime(self, items: Iterable[Item]) -> list[tuple[Item, dict[str, str | None], tuple[Any, ...],
                                                        tuple[Any, ...]]]:
        """Remember the items; their (item, stored values, identity, signature), in order (what `_match`
        reads of each, without looking each up again)."""
        known = self._known
        entries = []
        for item in items:
            entry = known.get(id(item))
            if entry is None or entry[0] is not item:
                stored = self._stored(item)
                fresh = (item, stored, self._identity(item, stored), self._signature(item, stored))
                if entry is None:
                    known[id(item)] = fresh
                entry = fresh
            entries.append(entry)
        return entries

    def stored(self, item: Item) -> dict[str, str | None]:
        """The values `item` sets, each as RouterOS stores it."""
        known = self._known.get(id(item))
        return known[1] if known is not None and known[0] is item else self._stored(item)

    def identity(self, item: Item) -> tuple[Any, ...]:
        known = self._known.get(id(item))
        if known is not None and known[0] is item:
            return known[2]
        return self._identity(item, self._stored(item))

    def signature(self, item: Item) -> tuple[Any, ...]:
        known = self._known.get(id(item))
        if known is not None and known[0] is item:
            return known[3]
        return self._signature(item, self._stored(item))

    def _stored(self, item: Item) -> dict[str, str | None]:
        fields = self.fields
        stored: dict[str, str | None] = {}
        for name, value in item.values.items():  # (_normal, written out: this runs for every value)
            fld = fields.get(name)
            if fld is None:
                stored[name] = value
                continue
            form = fld.stored_forms.get(value)  # (normalize_value's memo, read here: most values are in it)
            if form is None:
                try:
                    form = normalize_value(fld, value)
                except ValueError:  # RouterOS would refuse it: compared as written
                    form = value
            stored[name] = form
        return stored

    def _identity(self, item: Item, stored: dict[str, str | None]) -> tuple[Any, ...]:
        if self.kind == "settings":
            return ("<settings>",)
        if item.default:
            return ("<default>",)
        return tuple([(k, self.effective(item, stored, k)) for k in _key_fields(self, item)])

    def effective(self, item: Item, stored: dict[str, str | None], name: str) -> str | None:
        """`_effective` on the item's stored values."""
        if name == "comment":
            return item.comment or None
        if name == "disabled":
            return "yes" if item.disabled else "no"
        return stored[name] if name in stored else self.defaults.get(name)

    def _signature(self, item: Item, stored: dict[str, str | None]) -> tuple[Any, ...]:
        """What an item effectively holds (non-default, non-router-assigned values, comment, disabled)."""
        skip, defaults = self.skip, self.defaults
        values = []
        for name in sorted(stored):
            if name in skip:
                continue
            if name == "comment":
                value, default = item.comment or None, None
            elif name == "disabled":
                value, default = ("yes" if item.disabled else "no"), None
            else:
                value, default = stored[name], defaults.get(name)
            if value != default:
                values.append((name, value))
        return (item.comment, item.disabled, tuple(values))


def _match(menu: _View, cur_items: list[Item], want_items: list[Item]) -> dict[int, Item]:
    """id(intended item) -> current item with the same natural key. Exact matches first, so with a
    non-unique key (hub identities all keyed by the one hub peer) dropping one branch removes that
    branch's item instead of shifting every later one."""
    exact: dict[tuple[Any, ...], list[Item]] = {}
    by_key: dict[tuple[Any, ...], list[Item]] = {}
    for item, _, key, signature in menu.prime(cur_items):
        by_key.setdefault(key, []).append(item)
        exact.setdefault((key, signature), []).append(item)
    wanted = menu.prime(want_items)
    matched: dict[int, Item] = {}
    taken: set[int] = set()
    hit: Item | None
    for want, _, key, signature in wanted:
        if key not in by_key:
            continue
        hits = exact.get((key, signature))
        if hits:
            hit = hits.pop(0)
            matched[id(want)] = hit
            taken.add(id(hit))
    for want, _, key, _ in wanted:
        if id(want) in matched:
            continue
        hit = next((c for c in by_key.get(key, []) if id(c) not in taken), None)
        if hit is not None:
            matched[id(want)] = hit
            taken.add(id(hit))
    return matched


def _is_set_item(menu: Any, item: Item) -> bool:
    """Items the intent `set`s rather than adds: settings, factory default, default-name, by number."""
    return (
        menu.kind == "settings"
        or item.default
        or "default-name" in item.values
        or NUMBER in item.values
        or not getattr(menu, "addable", True)
    )


def _key_fields(menu: Any, item: Item) -> tuple[str, ...]:
    if item.default:
        return ()
    for special in ("default-name", NUMBER):
        if special in item.values:
            return (special,)
    if menu.key:
        return tuple(menu.key)
    return tuple(sorted(item.values))


def _selector(menu: Any, item: Item, *, full: bool = False, precise: bool = False) -> Selector:
    """How commands find `item`. A unique natural key alone finds it; otherwise (`full`, or a key that is
    not unique: hub identities all name the one hub peer) every value of the item. Removes (`precise`) and
    non-unique keys also name the comment and unset key fields (`k=""`), so a selector never reaches a
    user's item, or another ikefleet item, that merely shares the key."""
    if menu.kind == "settings":
        return Selector(settings=True)
    if item.default:
        return Selector(default=True)
    key = _key_fields(menu, item)
    if key and key[0] in ("default-name", NUMBER):
        return Selector(where=((key[0], item.values[key[0]]),))
    unique = tuple(menu.key) in tuple(tuple(u) for u in getattr(menu, "unique", ()))
    names = key
    if full or not unique:
        rest = sorted(n for n in item.values if n != NUMBER and not _is_secret(menu, n))
        names = tuple(dict.fromkeys([*key, *rest]))
    exact = full or precise or not unique
    where = []
    for k in names:  # in the form the router stores, which is what `find where` compares against
        if k in item.values:
            where.append((k, _effective(menu, item, k) or ""))
        elif exact and _default(menu, k) is None and k in _fields(menu):
            where.append((k, ""))
    if item.comment and exact:
        where.append(("comment", item.comment))
    return Selector(where=tuple(where))


def _label(menu: Any, item: Item) -> str:
    """`[name=hub]`, `[default]` or "" (settings): the item's natural key, for diff lines."""
    selector = _selector(menu, item)
    if selector.settings or selector.default:
        return selector.label()
    key = _key_fields(menu, item)
    return Selector(where=tuple((k, v) for k, v in selector.where if k in key and v)).label()


def is_marked(path: str, item: Item) -> bool:
    """The item carries the `comment=ikefleet` marker."""
    return item.comment == MARKER


def is_foreign(item: Item) -> bool:
    """The item carries someone else's comment (`defconf: ...`, an operator's note): never ikefleet's."""
    return bool(item.comment) and item.comment != MARKER


def _clash(menu: Any, want: Item, foreign: list[Item]) -> Item | None:
    """The foreign item an add of `want` would collide with on one of the menu's unique fields."""
    if not foreign:
        return None
    for fields in getattr(menu, "unique", ()):
        wanted = tuple(_effective(menu, want, n) for n in fields)
        if None in wanted:
            continue
        for item in foreign:
            if tuple(_effective(menu, item, n) for n in fields) == wanted:
                return item
    return None


@cache
def _owner_refs(schema: Any, path: str) -> tuple[Any, dict[str, str]]:
    """A menu and its reference fields that name items of unmarked menus (field -> menu path): the same for
    every router, worked out once a schema and path."""
    menu = _menu(schema, path)
    unmarked = load_rules().unmarked
    return menu, {n: ref for n, ref in getattr(menu, "refs", _NO_FIELDS).items() if ref in unmarked}


def ownership(
    current: Config,
    schema: Any,
    marked: Callable[[str, Item], bool] = is_marked,
    known: Mapping[str, Iterable[str]] | None = None,
) -> Callable[[str, Item], bool]:
    """Who owns what on `current`. Marked items are ikefleet's. Items of menus without a comment field
    (rules `unmarked`) cannot carry the marker: one is ikefleet's when a marked item names it in a
    reference field (schema `ref`: a hub identity's mode-config, a peer's profile, the policy template's
    proposal and group) and no other item does. So a revoked or deleted branch's mode-config goes with the
    identity that named it, an old profile with the peer that switched away from it, while an item the
    operator made (named by nothing of ikefleet's, or also by one of the operator's own items) stays.
    `known` adds names ikefleet gave that nothing marked names any more (path -> names: a revoked branch's
    mode-config orphaned by an older version); the operator's own references still keep them."""
    rules = load_rules()
    ours: dict[str, set[str]] = {path: set(names) for path, names in (known or {}).items()}
    theirs: dict[str, set[str]] = {}
    for path, items in current.menus.items():
        menu, refs = _owner_refs(schema, path)
        if not refs or path in rules.unmarked:
            continue
        for item in items:
            if item.dynamic:
                continue
            names = ours if marked(path, item) else theirs
            for name, ref in refs.items():
                value = _effective(menu, item, name)
                names.setdefault(ref, set()).update(v for v in (value or "").split(",") if v)

    def owns(path: str, item: Item) -> bool:
        if marked(path, item):
            taken = rules.taken_over.get(path)
            return not taken or not any(all(item.values.get(k) == v for k, v in t.items()) for t in taken)
        name = item.values.get("name")
        return (
            path in rules.unmarked
            and name is not None
            and name in ours.get(path, ())
            and name not in theirs.get(path, ())
        )

    return owns


# ------------------------------------------------------------------------------------------ remediation


def _menu_order(paths: list[str]) -> list[str]:
    order = load_rules().order
    rank = {p: i for i, p in enumerate(order)}
    return [p for _, _, p in sorted((rank.get(p, len(order)), n, p) for n, p in enumerate(paths))]


def _add_args(menu: Any, item: Item) -> tuple[tuple[str, str], ...]:
    args = dict(item.values)
    args.pop(NUMBER, None)
    if item.comment:
        args["comment"] = item.comment
    if item.disabled:
        args["disabled"] = "yes"
    return tuple(sorted(args.items()))


def _field_ops(
    path: str, menu: _View, cur: Item, want: Item, only_named: bool, exact: bool = False
) -> tuple[list[Op], list[Op], list[Change]]:
    """set/unset ops (forward and rollback) and changes turning `cur` into `want`: forward commands find
    the item as it is now, rollback commands as it will be."""
    names = list(want.values)
    if not only_named:
        names += [n for n in cur.values if n not in want.values]
        names += ["comment", "disabled"]
    else:
        if want.comment:
            names.append("comment")
        if menu.kind != "settings":  # an item the intent configures is meant to be in effect
            names.append("disabled")
    sets, unsets, back_sets, back_unsets = [], [], [], []
    differ: list[tuple[str, str | None, str | None]] = []  # (field, old, new)
    fields = menu.fields
    assigned = menu.skip
    wanted, held = menu.stored(want), menu.stored(cur)
    for name in dict.fromkeys(names):
        fld = fields.get(name)
        if name == NUMBER or name == "default-name" or (fld is not None and fld.read_only):
            continue
        unknown = not exact and bool(fields) and fld is None
        skip = name in assigned or unknown
        if name not in want.values and name not in _ATTRS and skip:
            continue  # assigned by the router, or unknown to the schema: nothing to compare it with
        new, old = menu.effective(want, wanted, name), menu.effective(cur, held, name)
        if new == old:
            continue
        new_raw, old_raw = _raw(menu, want, name), _raw(menu, cur, name)
        if name == "comment":  # RouterOS clears a comment with comment=""
            new_raw, old_raw = new_raw or "", old_raw or ""
        if new_raw is None:
            unsets.append(name)
        else:
            sets.append((name, new_raw))
        if old_raw is None:
            back_unsets.append(name)
        else:
            back_sets.append((name, old_raw))
        differ.append((name, old_raw, new_raw))
    if not differ:  # the common case on a converged router: no label, no ops to build
        return [], [], []
    label = _label(menu, want)
    changes = [Change("~", path, label, n, old, new, _is_secret(menu, n)) for n, old, new in differ]
    fwd_plan: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        ("unset", (("value-name", n),)) for n in unsets
    ]
    fwd_plan += [("set", tuple(sets))] if sets else []
    back_plan: list[tuple[str, tuple[tuple[str, str], ...]]] = [
        ("unset", (("value-name", n),)) for n in back_unsets
    ]
    back_plan += [("set", tuple(back_sets))] if back_sets else []
    state = _copy(cur)
    fwd = _sequence(path, menu, state, fwd_plan)
    back = _sequence(path, menu, state, back_plan)
    return fwd, back, changes


def _copy(item: Item) -> Item:
    return Item(
        id=item.id,
        values=dict(item.values),
        disabled=item.disabled,
        default=item.default,
        comment=item.comment,
    )


def _sequence(
    path: str, menu: Any, state: Item, plan: list[tuple[str, tuple[tuple[str, str], ...]]]
) -> list[Op]:
    """Ops on one item, each finding it as the previous ones left it (`state` is updated in place)."""
    ops = []
    for verb, args in plan:
        ops.append(Op(verb, path, _selector(menu, state), args))
        _modify(state, verb, args)
    return ops


def _modify(item: Item, verb: str, args: tuple[tuple[str, str], ...]) -> None:
    """Apply a set/unset to an item of the model."""
    if verb == "set":
        apply(item, *split_flags(args))
    elif verb == "unset":
        name = dict(args)["value-name"]
        if name == "comment":
            item.comment = ""
        else:
            item.values.pop(name, None)


@dataclass
class _Step:
    """One item's forward ops, their inverse and the diff lines."""

    path: str
    kind: str  # add | set | move | remove
    fwd: list[Op]
    back: list[Op]
    changes: list[Change]


def remediate(
    current: Config,
    intended: Config,
    schema: Any,
    *,
    owned: Callable[[str, Item], bool] | None = None,
    shared: dict[Any, Any] | None = None,
) -> Remediation:
    """Commands turning the managed part of `current` into `intended`, their diff and their rollback.

    `shared`: a dict the caller keeps for the remediations of one run (verify's, of a whole fleet), so a
    menu whose items are the same on many routers (the firewall rules, the proposal) is worked out once."""
    return _remediate(current, intended, schema, owned or ownership(current, schema), False, shared)


def restore(current: Config, snapshot: Config, schema: Any) -> Remediation:
    """Commands putting the whole configuration back to `snapshot` (an earlier export), whoever owns what:
    for undoing a push that stopped half-way, where the remediation's own rollback would re-add or remove
    things that never changed. Items `snapshot` lacks are removed; factory/default items and settings are
    compared field by field against the snapshot (absent = factory state)."""
    return _remediate(current, snapshot, schema, lambda path, item: True, True)


def managed_part(
    snapshot: Config, intended: Config, schema: Any, known: Mapping[str, Iterable[str]] | None = None
) -> Config:
    """What ikefleet managed on a router when `snapshot` (its export) was read: the items it owned then
    (`ownership` on the snapshot) and, of each item the intent `set`s (settings, factory items), the
    fields the intent names, with their values then; items the intent matched by natural key (a run may
    adopt one: mark it, set a field) come back as they were. `remediate(now, managed_part(...))` puts back
    what a run changed: its items leave, the items it changed, adopted or removed come back, and items it
    did not manage are never touched, whoever changed them since."""
    owns = ownership(snapshot, schema, known=known)
    menus: dict[str, list[Item]] = {}
    for path, items in snapshot.menus.items():
        menu = _View(schema, path)
        if menu.kind == "state":
            continue
        items = [i for i in items if not i.dynamic and not _is_set_item(menu, i)]
        # an item the intent matches is the run's to change (it may adopt it: the marker, a field), so it
        # comes back as it was, whoever owned it
        wanted = [i for i in intended.menus.get(path, []) if not i.dynamic]
        adopted = {id(i) for i in _match(menu, items, wanted).values()}
        kept = [i for i in items if owns(path, i) or id(i) in adopted]
        if kept:
            menus[path] = [_copy(i) for i in kept]
    for path, items in intended.menus.items():
        menu = _View(schema, path)
        if menu.kind == "state":
            continue
        then = [i for i in snapshot.menus.get(path, []) if not i.dynamic and _is_set_item(menu, i)]
        for want in items:
            if want.dynamic or not _is_set_item(menu, want):
                continue
            cur = next((i for i in then if menu.identity(i) == menu.identity(want)), None)
            ident = {k: v for k, v in want.values.items() if k in ("default-name", NUMBER, "name")}
            values = dict(ident)
            for name in want.values:
                value = _raw(menu, cur, name) if cur is not None else _default(menu, name)
                if name not in ident and value is not None:
                    values[name] = value
            menus.setdefault(path, []).append(Item(
                id=0, values=values, default=want.default, disabled=bool(cur and cur.disabled),
                comment=cur.comment if cur is not None else "",
            ))
    return Config(menus=menus)


def _remediate(
    current: Config,
    intended: Config,
    schema: Any,
    owns: Callable[[str, Item], bool],
    exact: bool,
    shared: dict[Any, Any] | None = None,
) -> Remediation:
    paths = _menu_order(list(dict.fromkeys([*intended.menus, *current.menus])))
    steps: list[_Step] = []
    removes: list[_Step] = []
    conflicts: list[str] = []
    for path in paths:
        cur_items = [i for i in current.menus.get(path, []) if not i.dynamic]
        want_items = [i for i in intended.menus.get(path, []) if not i.dynamic]
        if not exact and _unchanged(schema, path, cur_items, want_items, owns):
            continue
        owned = [owns(path, i) for i in cur_items]
        key = None
        if shared is not None:  # a menu's steps follow from what its items hold and who owns them
            key = (schema, path, exact, _contents(cur_items), tuple(owned), _contents(want_items))
            done = shared.get(key)
            if done is None:
                done = shared[key] = _menu_steps(_View(schema, path), cur_items, want_items, owned, exact)
        else:
            done = _menu_steps(_View(schema, path), cur_items, want_items, owned, exact)
        steps.extend(done[0])
        removes.extend(done[1])
        conflicts.extend(done[2])
    remediation = _assemble(steps, removes, schema)
    remediation.conflicts = conflicts
    return remediation


def _unchanged(
    schema: Any, path: str, cur_items: list[Item], want_items: list[Item], owns: Callable[[str, Item], bool]
) -> bool:
    """`_menu_steps` would give nothing to do, and it is plain without working it out: nothing intended
    and nothing ikefleet's (a menu only the router has), or the menu holds the intended items, item for
    item and in order (values, comment, flags), none of them someone else's, so each intended item's twin
    is its match (`_match` takes equal items in order), with nothing to set, move or remove. Other items
    may sit among the twins when the intended items are all added: the router's own (not ikefleet's), each
    someone else's or with a key no intended item has, so none can be matched instead of a twin. A
    converged router's menus that no other router shares (its addresses, tunnel, identity) are such: their
    steps were most of a verify's drift check. Held to `_menu_steps` by tests/test_diff_unchanged.py."""
    if not want_items:
        return not any(owns(path, i) for i in cur_items)
    if len(cur_items) < len(want_items):
        return False
    extras: list[Item] = []
    at = 0
    for cur in cur_items:
        want = want_items[at] if at < len(want_items) else None
        if (
            want is not None
            and cur.values == want.values
            and cur.comment == want.comment
            and cur.disabled == want.disabled
            and cur.default == want.default
        ):
            at += 1
        else:
            extras.append(cur)
    if at < len(want_items) or any(is_foreign(w) for w in want_items):
        return False
    if len(cur_items) < 2:
        return True
    # (distinct ids: `_moves` finds items by equality, and an item equal to another would be found twice)
    if len({i.id for i in cur_items}) != len(cur_items):
        return False
    menu = _menu(schema, path)
    if not extras:
        return len({_is_set_item(menu, i) for i in cur_items}) == 1
    if any(_is_set_item(menu, w) for w in want_items) or any(owns(path, e) for e in extras):
        return False
    mine = [e for e in extras if not is_foreign(e)]
    if not mine:
        return True
    view = _View(schema, path)
    keys = {view.identity(w) for w in want_items}
    return not any(view.identity(e) in keys for e in mine)


def _contents(items: list[Item]) -> tuple[Any, ...]:
    """Everything of the items a remediation reads (values in their order: changes follow it)."""
    return tuple([(tuple(i.values.items()), i.comment, i.disabled, i.default) for i in items])


def _menu_steps(
    menu: _View, cur_items: list[Item], want_items: list[Item], owned: list[bool], exact: bool
) -> tuple[list[_Step], list[_Step], list[str]]:
    """One menu's steps (adds, sets, moves), removes and conflicts; `owned[n]`: cur_items[n] is ours."""
    if menu.kind == "state":
        return [], [], []
    path = menu.path
    ours = {id(i) for i, o in zip(cur_items, owned, strict=True) if o}

    def owns(_: str, item: Item) -> bool:
        return id(item) in ours

    steps: list[_Step] = []
    removes: list[_Step] = []
    conflicts: list[str] = []
    want_items = list(want_items)
    if exact:  # set-items the snapshot does not list were in their factory state
        listed = {menu.identity(w) for w in want_items}
        for item in cur_items:
            if _is_set_item(menu, item) and menu.identity(item) not in listed:
                ident = {k: v for k, v in item.values.items() if k in ("default-name", NUMBER, "name")}
                want_items.append(Item(id=0, values=ident, default=item.default))
    # Items the intent adds never match a foreign item; the ones it `set`s (factory, settings) do, and
    # get only the fields it names.
    foreign = [] if exact else [i for i in cur_items if is_foreign(i)]
    adds = [w for w in want_items if not _is_set_item(menu, w)]
    mine = [i for i in cur_items if exact or not is_foreign(i)]
    matched = _match(menu, mine, adds)
    taken = {id(i) for i in matched.values()}
    sets = [w for w in want_items if _is_set_item(menu, w)]
    matched.update(_match(menu, [i for i in cur_items if id(i) not in taken], sets))
    used = {id(i) for i in matched.values()}
    ordered = path in load_rules().ordered
    if ordered:
        steps.extend(_moves(path, menu, want_items, matched, cur_items))
    for index, want in enumerate(want_items):
        cur = matched.get(id(want))
        set_item = _is_set_item(menu, want)
        if cur is None and set_item:  # absent from the export = factory state
            ident = {k: v for k, v in want.values.items() if k in ("default-name", NUMBER, "name")}
            cur = Item(id=0, values=ident, default=want.default)
        if cur is None and (clash := _clash(menu, want, foreign)) is not None:
            conflicts.append(
                f"{path} {_label(menu, want)}: the router has an item ikefleet did not create with the "
                f"same {_label(menu, clash) or 'key'} (comment={quote(clash.comment)}); rename or remove "
                "it, or set comment=ikefleet on it to hand it over"
            )  # still missing: the diff and the drift check say so, no command adds it
            steps.append(_Step(path, "add", [], [], [Change("+", path, _describe(menu, want))]))
            continue
        if cur is None:
            before = _place_before(path, menu, want_items, index, matched, cur_items, owns)
            fwd = Op("add", path, Selector(), _add_args(menu, want), before)
            change = Change("+", path, _describe(menu, want))
            back = Op("remove", path, _selector(menu, want, precise=True))
            steps.append(_Step(path, "add", [fwd], [back], [change]))
            continue
        if menu.signature(cur) == menu.signature(want) and (
            menu.skip.isdisjoint(want.values)
            or (cur.values == want.values and cur.comment == want.comment and cur.disabled == want.disabled)
        ):
            continue  # the same non-default values (or the same values, router-assigned ones too), comment
            # and flag: no field to change
        fwd_ops, back_ops, changes = _field_ops(path, menu, cur, want, set_item and not exact, exact)
        if fwd_ops:
            steps.append(_Step(path, "set", fwd_ops, back_ops, changes))
    for position, item in enumerate(cur_items):
        if id(item) in used or item.default or id(item) not in ours:
            continue
        later = [i for i in cur_items[position + 1 :] if id(i) in used or id(i) not in ours]
        before = _selector(menu, later[0], full=True) if later and ordered else None
        back = Op("add", path, Selector(), _add_args(menu, item), before)
        change = Change("-", path, _describe(menu, item))
        fwd = Op("remove", path, _selector(menu, item, precise=True))
        removes.append(_Step(path, "remove", [fwd], [back], [change]))
    return steps, removes, conflicts


def _describe(menu: Any, item: Item) -> str:
    label = _label(menu, item)
    shown = " ".join(f"{k}={MASK if _is_secret(menu, k) else quote(v)}" for k, v in _add_args(menu, item))
    return f"{label} {shown}".strip()


def _moves(
    path: str, menu: Any, want_items: list[Item], matched: dict[int, Item], cur_items: list[Item]
) -> list[_Step]:
    """`move` ops putting existing intended rules of an ordered menu back in the intended order. From the
    last rule back, a rule found below its intended successor moves right before it, so destinations are
    always ikefleet's own rules. The rollback moves each rule back before the rule that followed it."""
    present = [matched[id(w)] for w in want_items if id(w) in matched]
    state = list(cur_items)
    steps: list[_Step] = []
    for index in range(len(present) - 2, -1, -1):
        item, anchor = present[index], present[index + 1]
        if state.index(item) < state.index(anchor):
            continue
        old_position = state.index(item)
        successor = state[old_position + 1] if old_position + 1 < len(state) else None
        state.remove(item)
        state.insert(state.index(anchor), item)
        sel = _selector(menu, item, precise=True)
        back_dest = None if successor is None else _selector(menu, successor, full=True)
        fwd = Op("move", path, sel, (), _selector(menu, anchor, full=True))
        back = Op("move", path, sel, (), back_dest)
        change = Change("~", path, _label(menu, item), "position", None, "before " + _label(menu, anchor))
        steps.append(_Step(path, "move", [fwd], [back], [change]))
    return steps


def _place_before(
    path: str,
    menu: Any,
    want_items: list[Item],
    index: int,
    matched: dict[int, Item],
    cur_items: list[Item],
    owns: Callable[[str, Item], bool],
) -> Selector | None:
    """In ordered menus: before the next intended rule that exists; else before the first user rule after
    the previous intended rule (so new rules go above the user's rules); else at the end."""
    if path not in load_rules().ordered:
        return None
    for later in want_items[index + 1 :]:
        if id(later) in matched:
            return _selector(menu, matched[id(later)], full=True)
    used = {id(i) for i in matched.values()}
    start = 0
    for earlier in want_items[:index]:
        if id(earlier) in matched:
            start = max(start, cur_items.index(matched[id(earlier)]) + 1)
    for item in cur_items[start:]:
        if id(item) not in used and not owns(path, item) and not item.default:
            return _selector(menu, item, full=True)
    return None


def _assemble(steps: list[_Step], removes: list[_Step], schema: Any) -> Remediation:
    """Forward: adds/sets in dependency order, then removes in reverse. Rollback: undo the sets and moves,
    then re-add what was removed (dependency order; anchors are back in place by then), then remove what
    was added (reverse order)."""
    rem = Remediation(schema=schema)
    rem.ops = [op for s in steps for op in s.fwd] + [op for s in reversed(removes) for op in s.fwd]
    readd = [op for s in removes for op in s.back]
    undo_sets = [op for s in steps if s.kind == "set" for op in s.back]
    undo_sets += [op for s in reversed(steps) if s.kind == "move" for op in s.back]
    undo_adds = [op for s in reversed(steps) if s.kind == "add" for op in s.back]
    rem.rollback_ops = _merge_by_order(undo_sets, readd) + undo_adds
    rem.changes = [c for s in [*steps, *removes] for c in s.changes]
    return rem


def _merge_by_order(first: list[Op], second: list[Op]) -> list[Op]:
    paths = _menu_order(list(dict.fromkeys(op.path for op in [*first, *second])))
    rank = {p: i for i, p in enumerate(paths)}
    tagged = [(rank[op.path], 0, n, op) for n, op in enumerate(first)]
    tagged += [(rank[op.path], 1, n, op) for n, op in enumerate(second)]
    return [op for *_, op in sorted(tagged, key=lambda t: t[:3])]


# ------------------------------------------------------------------------------------------ future


def _matches(menu: Any, item: Item, sel: Selector) -> bool:
    if sel.settings:
        return True
    if sel.default:
        return item.default
    for name, value in sel.where:
        if name == NUMBER:  # a print number: the model keeps the one the script used
            if item.values.get(NUMBER) != value:
                return False
            continue
        if (_effective(menu, item, name) or "") != (_norm(menu, name, value) or ""):
            return False
    return True


def future(current: Config, remediation: Remediation) -> Config:
    """`current` after running `remediation.ops` (a model: what the router would hold)."""
    schema = remediation.schema
    config = Config.from_json(current.to_json())
    for op in remediation.ops:
        menu = _menu(schema, op.path)
        items = config.items(op.path)
        if op.verb == "add":
            values, flags = split_flags(op.args)
            item = add(config, op.path, values, flags)
            if op.place_before is not None:
                items.remove(item)
                target = next((i for i in items if _matches(menu, i, op.place_before)), None)
                items.insert(items.index(target) if target is not None else len(items), item)
            continue
        if op.verb == "move":
            moving = [i for i in items if _matches(menu, i, op.selector)]
            for item in moving:
                items.remove(item)
            dest = None
            if op.place_before is not None:
                dest = next((i for i in items if _matches(menu, i, op.place_before)), None)
            at = items.index(dest) if dest is not None else len(items)
            items[at:at] = moving
            continue
        targets = [i for i in items if _matches(menu, i, op.selector)]
        if not targets and op.verb in ("set", "unset") and (op.selector.settings or op.selector.default):
            targets = [config.add(op.path, {}, default=op.selector.default)]
        for item in targets:
            if op.verb == "remove":
                items.remove(item)
            else:
                _modify(item, op.verb, op.args)
    return config


__all__ = [
    "MARKER",
    "Change",
    "Op",
    "Remediation",
    "Selector",
    "future",
    "is_foreign",
    "is_marked",
    "normalized",
    "ownership",
    "remediate",
    "restore",
]


# ------------------------------------------------------------------------------------------ comparison


def normalized(config: Config, schema: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Effective content per menu, for "same configuration?" checks: defaults filled in, factory-state
    items (settings/default items holding only defaults) dropped, order kept only in ordered menus."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for path, items in config.menus.items():
        menu = _menu(schema, path)
        if menu.kind == "state":
            continue
        rows = []
        for item in items:
            if item.dynamic:
                continue
            names = set(item.values) | {n for n, f in _fields(menu).items() if f.default is not None}
            names = {n for n in names if _writable(menu, n)}
            values = tuple(sorted((n, _effective(menu, item, n) or "") for n in names))
            idents = ("default-name", NUMBER, "name")
            factory = all(
                _effective(menu, item, n) == _norm(menu, n, _default(menu, n))
                for n in item.values
                if n not in idents
            )
            factory = factory and not item.comment and not item.disabled
            if (menu.kind == "settings" or item.default) and factory:
                continue
            rows.append((item.default, item.disabled, item.comment, values))
        if rows:
            out[path] = rows if path in load_rules().ordered else sorted(rows, key=repr)
    return out
