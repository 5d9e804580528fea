"""RouterOS menus as data: fields, defaults, allowed values, natural keys, flags and factory items.

The lab validates, prints and exports from it; the diff engine reads natural keys and defaults from it.
The data lives in `menus/v<major>/*.yaml`, and how the diff treats each menu (order, ownership, secret
names) in `menus/rules.yaml`; this module only loads it into frozen dataclasses. Adding a menu means adding
a table there, not code here.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml import __version__ as RUAMEL_VERSION

from ikefleet import private

FIELD_TYPES = frozenset(
    {
        "str",  # free text
        "name",  # item name (free text, usually unique)
        "bool",  # yes | no
        "int",  # decimal integer, optional min/max
        "int-range",  # N or N-M (prefix-length=16-32)
        "time",  # RouterOS durations: 30m, 00:30:00, 1d2h, 15 (seconds)
        "ip",  # IPv4 address
        "ip-prefix",  # IPv4 address with optional /len
        "ip-list",  # comma-separated addresses
        "ip-range",  # address, prefix or range a-b
        "port-list",  # 500,4500 / 1000-2000
        "enum",  # one of `values`
        "enum-list",  # comma-separated subset of `values`
        "ref",  # name of an item of menu `ref`
        "ref-list",  # comma-separated names of items of menu `ref`
        "enum-or-ref",  # one of `values` or a name of `ref`
        "mac",
        "size",  # 10MiB, 4096
        "text",  # read-only computed text
    }
)


@dataclass(frozen=True)
class Field:
    """One argument of a menu, as RouterOS prints it."""

    name: str
    type: str
    default: str | None  # printed/effective value when not set; None = unset (not printed in detail)
    values: tuple[str, ...] = ()  # allowed values for enum / enum-list / enum-or-ref
    ref: str | None = None  # referenced menu path for ref fields
    read_only: bool = False  # computed/status fields (running, actual-mtu, fingerprint)
    secret: bool = False  # hidden by export hide-sensitive; never in logs
    min: int | None = None  # bounds for int fields
    max: int | None = None
    negate: bool = False  # accepts a leading `!` (firewall matchers: in-interface-list=!LAN)
    required: bool = False  # `add` fails without it
    always: bool = False  # `add` stores the default and export writes it even then (filter action=accept)
    auto_name: str | None = None  # `add` without it names the item <auto_name><n> (bridge1, peer1)
    aliases: tuple[tuple[str, str], ...] = ()  # input -> stored form, e.g. ipsec policy protocol 255 -> all
    since: str = ""  # first RouterOS version that has it within its major ("6.44"); "" = the whole major

    @cached_property
    def stored_forms(self) -> dict[str, str]:
        """Typed value -> the form RouterOS stores, as `normalize_value` found them (the field's own, not a
        table keyed by its id)."""
        return {}


@dataclass(frozen=True)
class Flag:
    """A print legend flag; set when the item attribute or field of the same name is true."""

    letter: str
    name: str


@dataclass(frozen=True)
class Menu:
    path: str  # "/ip ipsec peer"
    kind: str  # "list" | "settings" | "state" (read-only, filled by the lab fabric)
    fields: dict[str, Field]  # in RouterOS print/detail order
    key: tuple[str, ...]  # natural key: what identifies an item
    unique: tuple[tuple[str, ...], ...] = ()
    flags: tuple[Flag, ...] = ()  # legend order as RouterOS prints it
    factory: tuple[dict[str, str], ...] = ()  # items present on a fresh router; "default": "yes" = `*` item
    commands: tuple[str, ...] = ()  # extra commands this menu accepts (sign, import, ...)
    addable: bool = True  # False for menus whose items only the router creates (/interface ethernet)
    exported: bool = True  # False where `/export` writes nothing (certificates, the /interface view)
    duplicate_error: str = "failure: already have such entry"
    default_remove_error: str = "failure: can not remove default item"  # unverified wording per menu

    @property
    def writable_fields(self) -> dict[str, Field]:
        return {n: f for n, f in self.fields.items() if not f.read_only}

    @cached_property
    def refs(self) -> dict[str, str]:
        """field -> the menu it names (`ref`/`ref-list` fields): who refers to what, for ownership."""
        return {n: f.ref for n, f in self.fields.items() if f.ref is not None}

    @cached_property
    def stored_defaults(self) -> dict[str, str | None]:
        """Each field's default as RouterOS stores it (the diff compares stored forms, for every item of
        every router); a default RouterOS would refuse is kept as written. Derived from the schema data
        alone, so it is kept with the menu."""
        out: dict[str, str | None] = {}
        for name, fld in self.fields.items():
            try:
                out[name] = None if fld.default is None else normalize_value(fld, fld.default)
            except ValueError:
                out[name] = fld.default
        return out

    def field(self, name: str) -> Field:
        return self.fields[name]


GENERIC_COMMANDS: dict[str, tuple[str, ...]] = {
    "list": (
        "add",
        "comment",
        "disable",
        "edit",
        "enable",
        "export",
        "find",
        "get",
        "move",
        "print",
        "remove",
        "set",
        "unset",
    ),
    "settings": ("edit", "export", "get", "print", "set"),
    "state": ("find", "get", "print", "remove"),
}


class Schema:
    """All menus of one RouterOS major version, by export-style path."""

    def __init__(self, menus: dict[str, Menu], major: int, export_order: tuple[str, ...] = ()) -> None:
        self.major = major
        self.menus = menus
        # `/export` section order; menus missing from the order file come last, alphabetically.
        known = [p for p in export_order if p in menus]
        self.export_order: tuple[str, ...] = tuple(known + sorted(set(menus) - set(known)))
        self._dirs: dict[str, tuple[str, ...]] = {}
        for path in [*self.menus, "/"]:
            self._add_dirs(path)

    def _add_dirs(self, path: str) -> None:
        parts = path.lstrip("/").split(" ") if path != "/" else []
        for i in range(len(parts) + 1):
            parent = "/" + " ".join(parts[:i]) if i else "/"
            child = parts[i] if i < len(parts) else None
            names = set(self._dirs.get(parent, ()))
            if child:
                names.add(child)
            self._dirs[parent] = tuple(sorted(names))

    def menu(self, path: str) -> Menu:
        """The menu at `path`; KeyError naming the path when the schema has no such menu."""
        try:
            return self.menus[path]
        except KeyError:
            raise KeyError(f"no menu {path!r} in the RouterOS v{self.major} schema") from None

    def has_menu(self, path: str) -> bool:
        return path in self.menus

    def is_directory(self, path: str) -> bool:
        """True for any navigable menu level, including ones without items ("/ip", "/routing ospf")."""
        return path in self._dirs

    def children(self, path: str) -> tuple[str, ...]:
        """Names of the sub-menus one level below `path` ("/ip" -> ("address", "dns", ...))."""
        return self._dirs.get(path, ())

    def commands(self, path: str) -> tuple[str, ...]:
        """Generic plus menu-specific commands accepted in `path`."""
        if path not in self.menus:
            return ("export",) if path in self._dirs else ()
        menu = self.menus[path]
        generic = GENERIC_COMMANDS[menu.kind]
        if not menu.addable:
            generic = tuple(c for c in generic if c not in ("add", "remove"))
        return tuple(sorted(set(generic) | set(menu.commands)))


def _field(name: str, spec: dict[str, Any] | str | None) -> Field:
    if spec is None or isinstance(spec, str):
        spec = {"type": spec or "str"}
    ftype = str(spec.get("type", "str"))
    if ftype not in FIELD_TYPES:
        raise ValueError(f"field {name}: unknown type {ftype}")
    values = spec.get("values", ())
    if isinstance(values, str):
        values = values.split()
    default = spec.get("default")
    return Field(
        name=name,
        type=ftype,
        default=None if default is None else str(default),
        values=tuple(str(v) for v in values),
        ref=spec.get("ref"),
        read_only=bool(spec.get("read-only", False)),
        secret=bool(spec.get("secret", False)),
        min=spec.get("min"),
        max=spec.get("max"),
        negate=bool(spec.get("negate", False)),
        required=bool(spec.get("required", False)),
        always=bool(spec.get("always", False)),
        auto_name=spec.get("auto-name"),
        aliases=tuple((str(k), str(v)) for k, v in (spec.get("aliases") or {}).items()),
        since=str(spec.get("since", "")),
    )


def _menu(path: str, spec: dict[str, Any]) -> Menu:
    fields = {name: _field(name, f) for name, f in (spec.get("fields") or {}).items()}
    flags = []
    for text in spec.get("flags", ()):
        letter, _, name = str(text).partition(" ")
        flags.append(Flag(letter, name.strip()))
    key = tuple(spec.get("key", ()))
    unique = tuple(tuple(u) for u in spec.get("unique", ()))
    for name in key + tuple(n for u in unique for n in u):
        if name not in fields:
            raise ValueError(f"{path}: key/unique field {name} is not a field")
    extra: dict[str, Any] = {}
    if "duplicate-error" in spec:
        extra["duplicate_error"] = str(spec["duplicate-error"])
    if "default-remove-error" in spec:
        extra["default_remove_error"] = str(spec["default-remove-error"])
    return Menu(
        path=path,
        kind=str(spec.get("kind", "list")),
        fields=fields,
        key=key,
        unique=unique,
        flags=tuple(flags),
        factory=tuple({str(k): str(v) for k, v in item.items()} for item in spec.get("factory", ())),
        commands=tuple(spec.get("commands", ())),
        addable=bool(spec.get("addable", True)),
        exported=bool(spec.get("exported", True)),
        **extra,
    )


@cache
def load_schema(major: int = 6) -> Schema:
    """The schema of RouterOS `major` (6; 7 once its data files exist), loaded once per process."""
    base = resources.files("ikefleet.routeros") / "menus" / f"v{major}"
    if not base.is_dir():
        raise ValueError(f"no RouterOS v{major} menu schema (ikefleet/routeros/menus/v{major}/)")
    menus: dict[str, Menu] = {}
    order: tuple[str, ...] = ()
    for name, data in _menu_files(base):
        if name == "_export_order.yaml":
            order = tuple(data or ())
            continue
        for path, spec in (data or {}).items():
            if path in menus:
                raise ValueError(f"menu {path} defined twice ({name})")
            menus[path] = _menu(path, spec)
    return Schema(menus, major, order)


def _menu_files(base: Any) -> list[tuple[str, Any]]:
    """(file name, its YAML data) of the menu files, in name order.

    ruamel's pure-Python loader takes ~0.13 s per version, paid by every CLI run; the loaded data is kept
    as JSON in the user's cache directory under a digest of the files' bytes, so an edited file is
    simply a new entry. The cache is best effort: unreadable or unwritable means loading the YAML.
    """
    entries = sorted((e for e in base.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    texts = [(e.name, e.read_text(encoding="utf-8")) for e in entries]
    return yaml_cached("menus", texts, YAML(typ="safe", pure=True).load)


def yaml_cached(kind: str, texts: list[tuple[str, str]], load: Callable[[str], Any]) -> list[tuple[str, Any]]:
    """(name, `load(text)`) of each YAML text, kept as JSON in the user's cache directory under `kind` and a
    digest of the texts and ruamel's version (an edited file or another loader is a new entry): ruamel's
    pure-Python loader costs every CLI run milliseconds a file, reading JSON a tenth of that. Best effort:
    an unreadable or unwritable cache means loading the YAML; data JSON would not give back as it is (keys
    that are not strings) is not kept."""
    digest = hashlib.sha256(json.dumps([RUAMEL_VERSION, texts]).encode()).hexdigest()[:32]
    entry = f"{kind}-{digest}.json"
    try:
        cached = private.user_cache() / entry
        return [(name, data) for name, data in json.loads(cached.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        pass
    loaded = [(name, load(text)) for name, text in texts]
    with contextlib.suppress(OSError, TypeError, ValueError):  # owner-only, whole or none
        text = json.dumps(loaded)
        if json.loads(text) == [list(pair) for pair in loaded]:
            private.replace_text(private.user_cache() / entry, text)
    return loaded


RULES_FILE = "rules.yaml"


@dataclass(frozen=True)
class MenuRules:
    """How the diff treats menus (menus/rules.yaml): the same on every major, so kept beside the schemas
    rather than in each; see the file for what each rule means."""

    order: tuple[str, ...]  # add/set dependency order (removes reversed)
    ordered: frozenset[str]  # item order is behaviour: place-before, move
    unmarked: frozenset[str]  # no comment field: owned by reference
    taken_over: dict[str, tuple[dict[str, str], ...]]  # marked items that are never ikefleet's to remove
    router_assigned: dict[str, frozenset[str]]  # fields the router fills in: never reset
    secret_names: frozenset[str]  # argument names masked in any menu


@cache
def load_rules() -> MenuRules:
    """menus/rules.yaml, loaded once per process; ValueError naming the file and the key on a key it does
    not know or a value of the wrong shape (a typo must not silently drop a rule)."""
    text = (resources.files("ikefleet.routeros") / "menus" / RULES_FILE).read_text(encoding="utf-8")
    ((_, data),) = yaml_cached("rules", [(RULES_FILE, text)], YAML(typ="safe", pure=True).load)
    return parse_rules(data or {})


def parse_rules(data: dict[str, Any]) -> MenuRules:
    """The rules file's data as MenuRules (see load_rules)."""
    known = {"order", "ordered", "unmarked", "taken-over", "router-assigned", "secret-names"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"menus/{RULES_FILE}: unknown key(s) {unknown}; known: {sorted(known)}")

    def paths(key: str) -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"menus/{RULES_FILE}: {key} must be a list of names")
        return value

    def by_menu(key: str) -> dict[str, list[Any]]:
        value = data.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
            raise ValueError(f"menus/{RULES_FILE}: {key} must map a menu path to a list")
        return value

    return MenuRules(
        order=tuple(paths("order")),
        ordered=frozenset(paths("ordered")),
        unmarked=frozenset(paths("unmarked")),
        taken_over={
            path: tuple({str(k): str(v) for k, v in item.items()} for item in items)
            for path, items in by_menu("taken-over").items()
        },
        router_assigned={
            path: frozenset(map(str, names)) for path, names in by_menu("router-assigned").items()
        },
        secret_names=frozenset(paths("secret-names")),
    )


# --- value normalisation: what RouterOS stores and prints for what was typed ----------------------------


class ValueProblem(ValueError):
    """A typed value RouterOS refuses; `text(arg)` is the console error line."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind  # invalid | no-match | ambiguous | range
        self.detail = detail

    def text(self, arg: str) -> str:
        if self.kind == "no-match":
            return f"input does not match any value of {arg}"
        if self.kind == "ambiguous":
            return f"ambiguous value of {arg}, more than one possible value matches input"
        if self.kind == "range":
            return f"value of {arg} out of range ({self.detail})"
        return f"invalid value for argument {arg}"


_TIME_UNITS = {"w": 604800_000, "d": 86400_000, "h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}
_TIME_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")


def parse_time_ms(text: str) -> int:
    """RouterOS duration to milliseconds: `130` (seconds), `2s`, `500ms`, `00:30:00`, `1d2h`, `0.2s`."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return round(float(text) * 1000)
    days = 0
    m = re.fullmatch(r"(?:(\d+)d)?(\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    if m:
        days = int(m.group(1) or 0)
        return round(((days * 24 + int(m.group(2))) * 3600 + int(m.group(3)) * 60 + float(m.group(4))) * 1000)
    pos, total = 0, 0
    for match in _TIME_RE.finditer(text):
        if match.start() != pos:
            raise ValueProblem("invalid")
        total += round(float(match.group(1)) * _TIME_UNITS[match.group(2)])
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueProblem("invalid")
    return total


def format_time_ms(ms: int) -> str:
    """Milliseconds as RouterOS prints durations: `30m`, `1d`, `1h30m`, `200ms`, `0s`."""
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        count, ms = divmod(ms, _TIME_UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _match_word(word: str, values: tuple[str, ...]) -> str:
    """Exact value, or the single value `word` abbreviates (RouterOS completes unique prefixes)."""
    if word in values:
        return word
    hits = [v for v in values if v.startswith(word)] if word else []
    if len(hits) == 1:
        return hits[0]
    raise ValueProblem("ambiguous" if hits else "no-match")


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")  # an IPv4 address as ipaddress prints it


def _ip(text: str) -> str:
    if _DOTTED.fullmatch(text):  # already in its printed form (most values: one regex, not ipaddress's parse)
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueProblem("invalid") from None


def _prefix(text: str) -> str:
    addr, slash, length = text.partition("/")
    if _DOTTED.fullmatch(addr):
        ip, bits = addr, 32
    else:
        parsed = ipaddress.ip_address(_ip(addr))
        ip, bits = str(parsed), parsed.max_prefixlen
    if not slash:
        length = str(bits)
    if not length.isdigit() or int(length) > bits:
        raise ValueProblem("invalid")
    return f"{ip}/{int(length)}"


def _ports(text: str) -> str:
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        for p in (lo, hi) if hi else (lo,):
            if not p.isdigit() or int(p) > 65535:
                raise ValueProblem("invalid")
    return text


_NORMALIZED_MAX = 50_000  # stored forms a field remembers (a fleet's addresses; bad input may bring more)


def normalize_value(fld: Field, raw: str) -> str:
    """The stored/printed form of `raw` for `fld`; raises ValueProblem as RouterOS would refuse it.

    References (`ref`, `ref-list`) are only checked for form here; existence needs a configuration.
    Remembered per field and value: the diff engine asks the same (field, value) pairs for every host of
    a fleet (verify's config check normalises every value of every router).
    """
    known = fld.stored_forms
    value = known.get(raw)
    if value is None:
        value = _normalize(fld, raw)
        if len(known) >= _NORMALIZED_MAX:
            known.clear()
        known[raw] = value
    return value


def _normalize(fld: Field, raw: str) -> str:
    for alias, stored in fld.aliases:
        if raw == alias:
            raw = stored
    neg = ""
    if fld.negate and raw.startswith("!"):
        neg, raw = "!", raw[1:]
    t = fld.type
    if t == "bool":
        low = raw.lower()
        if low in ("yes", "true"):
            return "yes"
        if low in ("no", "false"):
            return "no"
        raise ValueProblem("invalid")
    if t == "int":
        try:
            number = int(raw, 0)
        except ValueError:
            raise ValueProblem("invalid") from None
        if (fld.min is not None and number < fld.min) or (fld.max is not None and number > fld.max):
            raise ValueProblem("range", f"{fld.min}..{fld.max}")
        return str(number)
    if t == "int-range":
        if not re.fullmatch(r"\d+(-\d+)?", raw):
            raise ValueProblem("invalid")
        return raw
    if t == "time":
        if fld.values and raw in fld.values:
            return raw
        return format_time_ms(parse_time_ms(raw))
    if t == "ip":
        return _ip(raw)
    if t == "ip-prefix":
        return neg + _prefix(raw)
    if t == "ip-list":
        return ",".join(_prefix(p) if "/" in p else _ip(p) for p in raw.split(",")) if raw else ""
    if t == "ip-range":
        if "-" in raw:
            lo, _, hi = raw.partition("-")
            return f"{neg}{_ip(lo)}-{_ip(hi)}"
        return neg + (_prefix(raw) if "/" in raw else _ip(raw))
    if t == "port-list":
        return neg + _ports(raw)
    if t == "enum":
        if raw == "" and "" in (fld.default, *fld.values):
            return ""
        return neg + _match_word(raw, fld.values)
    if t == "enum-list":
        return neg + ",".join(_match_word(w, fld.values) for w in raw.split(",")) if raw else ""
    if t == "mac":
        if not re.fullmatch(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}", raw):
            raise ValueProblem("invalid")
        return raw.upper()
    if t in ("enum-or-ref",) and raw in fld.values:
        return raw
    return neg + raw
