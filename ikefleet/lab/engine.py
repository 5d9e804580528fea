"""The lab's RouterOS 6.49 console: a `Session` turns one typed line into the router's answer.

Menus, fields and defaults come from the schema (`ikefleet.routeros.schema`); the line grammar from
`syntax`; layouts from `render`. Menu-specific commands are handlers in `commands.HANDLERS` (certificates,
backups, files, ...). Errors come back as RouterOS's own text and never raise out of `execute`.

`:delay` really sleeps, scaled like the lab's key generation (the seed's `:delay 130` after a sign is 130 ms
at time scale 0.001, while a 4096-bit key takes 80 ms on the lab's CCR), but at most `MAX_DELAY_S` seconds:
the sleep blocks the lab's event loop, so at time scale 1 a script's long `:delay` is cut short.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ikefleet.routeros.config import Config, Item
from ikefleet.routeros.schema import (
    Field,
    Flag,
    Menu,
    Schema,
    ValueProblem,
    load_schema,
    normalize_value,
    parse_time_ms,
)
from ikefleet.routeros.versions import has, version_tuple

from . import render, system_menus
from .commands import HANDLERS, Context
from .errors import CommandError
from .router import Router
from .syntax import Statement, Token, Value, Var, tokenize, tokenize_line
from .where import col_error, compile_where

MAX_DELAY_S = 2.0
# Ctrl-X while another session holds safe mode; RouterOS then waits for u, r or d. Wording from the MikroTik
# manual (wiki Manual:Console, "Safe Mode"), which prints "someone", not a user name.
HIJACK_PROMPT = "Hijacking Safe Mode from someone - unroll/release/don't take it [u/r/d]: "
INTERFACE_MENUS = (
    "/interface ethernet",
    "/interface bridge",
    "/interface eoip",
    "/interface bonding",
    "/interface vlan",
)
INTERFACE_TYPES = {
    "/interface ethernet": "ether",
    "/interface bridge": "bridge",
    "/interface eoip": "eoip-tunnel",
    "/interface bonding": "bond",
    "/interface vlan": "vlan",
}
# Bare words each generic command accepts (RouterOS "unnamed" flags).
PRINT_WORDS = frozenset(
    {"detail", "terse", "brief", "count-only", "without-paging", "as-value", "value-list", "stats", "follow",
     "interval", "oid", "show-ids", "proplist", "from", "file", "where"}
)  # fmt: skip
EXPORT_WORDS = frozenset({"terse", "compact", "verbose", "hide-sensitive"})
TARGET_COMMANDS = frozenset({"set", "remove", "enable", "disable", "comment", "get", "move", "unset", "edit"})
ROOT_COMMANDS = ("export", "quit", "import", "beep", "ping", "undo", "redo")
FLAG_ONLY_COMMANDS = frozenset({"print", "save", "monitor", "load"})
_SYSTEM_MODULES = ("ikefleet.lab.certificates",)


def _load_handlers() -> None:
    """Import handler modules once; the certificate module is optional (another engineer's)."""
    for name in _SYSTEM_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def _optional(name: str) -> Any:
    """A lab module another engineer owns, or None while it does not exist."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


ERROR_PREFIXES = (
    "failure:", "bad command name", "syntax error", "expected end of command", "expected command name",
    "no such item", "invalid value for argument", "input does not match any value", "ambiguous value",
    "value of ",
)  # fmt: skip


def _is_error(text: str) -> bool:
    return text.startswith(ERROR_PREFIXES)


def item_id(item: Item) -> str:
    return render.format_id(item.id)


@dataclass
class IdList:
    """What `[find ...]` returns: item ids, printed `*1;*2` by `:put`."""

    ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return ";".join(render.format_id(i) for i in self.ids)


class AsValue(str):
    """What `print as-value` returns: its console text (`.id=*1;address=...`), plus the typed items
    `:serialize` turns into JSON."""

    items: list[dict[str, Any]]

    def __new__(cls, text: str, items: list[dict[str, Any]]) -> AsValue:
        obj = super().__new__(cls, text)
        obj.items = items
        return obj


Result = str | IdList


def console_globals(router: Router) -> dict[str, str]:
    """`:global` variables: per router, shared by all its sessions, gone when the router restarts."""
    return router.__dict__.setdefault("_console_globals", {})


def _err(text: str) -> CommandError:
    return CommandError(text)


def _col_err(kind: str, col: int, word: str = "") -> CommandError:
    return col_error(f"bad command name {word}" if kind == "bad" else kind, col)


def _pick(word: str, names: tuple[str, ...] | list[str]) -> str | None:
    """Exact name, else the single name `word` abbreviates; None when nothing (or too much) matches."""
    if word in names:
        return word
    hits = [n for n in names if n.startswith(word)] if word else []
    return hits[0] if len(hits) == 1 else None


def _slash_words(tokens: list[Token]) -> list[Token]:
    """v7 writes menu paths with slashes (`/routing/ospf/instance/print`, `/ip/ address/ print`): the
    leading slash-carrying words become one word per level, as the v6 space-separated form."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        word = tokens[i].word
        if word is None or ("/" not in word[1:] and not (i == 0 and word.startswith("/"))):
            break
        col = tokens[i].col
        lead = "/" if word.startswith("/") else ""
        parts = [p for p in word.split("/") if p]
        if lead and not parts:
            out.append(tokens[i])
        for n, part in enumerate(parts):
            text = (lead if n == 0 else "") + part
            out.append(Token(col=col, value=Value(kind="word", col=col, parts=(text,))))
            col += len(text) + 1
        i += 1
    return out + tokens[i:] if out else tokens


def join_path(path: str, child: str) -> str:
    return f"/{child}" if path == "/" else f"{path} {child}"


def parent_path(path: str) -> str:
    return path.rpartition(" ")[0] or "/"


class Session:
    """One console login on a lab router (SSH shell or in-process)."""

    def __init__(self, router: Router, user: str, width: int = 80) -> None:
        _load_handlers()
        self.router = router
        self.user = user
        self.width = width
        self.schema: Schema = load_schema(router.major_version)
        self.path = "/"
        self.safe_mode = False
        self.hijacking = False  # Ctrl-X asked HIJACK_PROMPT: the next key answers it
        self.notices: list[str] = []  # lines the console shows before its next prompt
        self._snapshot: dict | None = None
        self.numbers: dict[str, list[int]] = {}
        self.max_delay_s = MAX_DELAY_S
        # A monitor-style command (`/certificate sign`) holds the console until this monotonic time. The SSH
        # layer sets `waits_async` and awaits it with asyncio when the command ends its line (`take_wait`);
        # otherwise (an in-process session, or more statements after it on the line) the engine sleeps.
        self.busy_until = 0.0
        self.waits_async = False

    # --- the contract with the SSH layer ---------------------------------------------------------------

    @property
    def prompt(self) -> str:
        where = "" if self.path == "/" else self.path
        name = self.identity
        if self.safe_mode:
            return f"[{self.user}@{name}] {where}<SAFE> "
        return f"[{self.user}@{name}] {where}> "

    @property
    def identity(self) -> str:
        items = self.router.config.menus.get("/system identity") or []
        return items[0].values.get("name", "MikroTik") if items else "MikroTik"

    def execute(self, line: str, refuse: tuple[str, str] | None = None) -> str:
        """Run one console line; the output (or RouterOS error text) without the prompt. Its statements run
        one by one until one fails (MikroTik scripting manual: "until a runtime error occurs"); the ones
        before it stay done. `refuse` (regex, error): statements matching it fail with that error (the
        `fail-command` fault)."""
        try:
            out: list[str] = []
            local: dict[str, str] = {}  # `:local` lives for the whole line, like a script body
            statements = tokenize_line(line)
            for n, statement in enumerate(statements):
                if refuse is not None:
                    end = statements[n + 1].col - 1 if n + 1 < len(statements) else len(line)
                    if re.search(refuse[0], line[statement.col - 1 : end]):
                        raise CommandError(refuse[1])
                self.router.finish_due()
                text, _ = self._statement(statement, self.path, local, top=True)
                if self.busy_until and (n + 1 < len(statements) or not self.waits_async):
                    time.sleep(self.take_wait())
                    self.router.finish_due()
                if text:
                    out.append(text)
            return "\n".join(out)
        except CommandError as exc:  # what the statements before it printed stays on the screen (a
            # capture: github.com/beeyev/Mikrotik-RouterOS-automatic-backup-and-update issue 80)
            return "\n".join([*out, str(exc)])
        except RecursionError:
            return "failure: too deep nesting"
        except Exception as exc:
            self.router.log("system,error", f"console: internal error {type(exc).__name__}")
            return "failure: internal error"

    def take_wait(self) -> float:
        """Seconds the console must still hold the last line's answer (a monitor-style command's work)."""
        until, self.busy_until = self.busy_until, 0.0
        return max(0.0, until - time.monotonic())

    def toggle_safe_mode(self) -> str:
        """Ctrl-X. While another session holds safe mode the answer is HIJACK_PROMPT and the console waits
        for one key, given to `answer_hijack`."""
        if self.safe_mode:
            self._give_up()
            return "[Safe Mode released]"
        holder = self.router.safe_mode_holder
        if isinstance(holder, Session) and holder is not self and holder.safe_mode:
            self.hijacking = True
            return HIJACK_PROMPT
        self._take()
        return "[Safe Mode taken]"

    def answer_hijack(self, key: str) -> str | None:
        """The key typed at HIJACK_PROMPT. Verified (MikroTik manual, wiki Manual:Console, "Safe Mode"): `u`
        undoes the holder's changes and takes safe mode, `r` keeps them and takes it and the holder is told
        "[Safe mode released by another user]", `d` does not take it. Assumed: after `r` the holder's changes
        are released (a later drop of this session does not undo them), the holder is told the same after
        `u`, the key is echoed before the answer, other keys are ignored while RouterOS keeps asking."""
        key = key.lower()
        holder = self.router.safe_mode_holder
        if key not in ("u", "r", "d"):
            return None
        self.hijacking = False
        if key == "d" or not isinstance(holder, Session):
            return ""
        if key == "u":
            holder.close(dropped=True)
        holder._give_up()
        holder.notices.append("[Safe mode released by another user]")
        self._take()
        return "[Safe Mode taken]"

    def _take(self) -> None:
        self.safe_mode = True
        self._snapshot = self.router.config.to_json()
        self.router.safe_mode_holder = self

    def _give_up(self) -> None:
        """Leave safe mode keeping the changes."""
        self.safe_mode = False
        self._snapshot = None
        if self.router.safe_mode_holder is self:
            self.router.safe_mode_holder = None

    def close(self, dropped: bool) -> None:
        if dropped and self.safe_mode and self._snapshot is not None:
            self.router.config = Config.from_json(self._snapshot)
            self.router.changed()
        self._give_up()

    # --- statements ------------------------------------------------------------------------------------

    def _statement(
        self, st: Statement, cwd: str, local: dict[str, str], top: bool = False
    ) -> tuple[str, Result]:
        tokens = st.tokens
        first = tokens[0].word
        if first is not None and first.startswith(":"):
            return self._script(first, tokens, cwd, local)
        if self.schema.major >= 7:
            tokens = _slash_words(tokens)
        path, i = cwd, 0
        command_word: str | None = None
        while i < len(tokens):
            word = command_word = tokens[i].word
            if word is None:
                break
            if i == 0 and word.startswith("/"):
                path, word = "/", word[1:]
                command_word = word
                if not word:
                    i += 1
                    continue
            if word == "..":
                path = parent_path(path)
            elif word == "/":
                path = "/"
            else:
                child = _pick(word, list(self.schema.children(path)))
                if child is None or word in self._commands(path):
                    break
                path = join_path(path, child)
            i += 1
        if i == len(tokens):
            if top:
                self.path = path
            return "", ""
        token = tokens[i]
        word = command_word if i == 0 else token.word
        if word is None:
            raise _col_err("expected command name", token.col)
        command = _pick(word, self._commands(path))
        if command is None:
            raise _col_err("bad", token.col + (1 if word != token.word else 0), word)
        return self._command(path, command, tokens[i + 1 :], local, token.col)

    def _commands(self, path: str) -> list[str]:
        names = set(self.schema.commands(path))
        names.update(cmd for (p, cmd) in HANDLERS if p == path)
        if path == "/":
            names.update(ROOT_COMMANDS)
        return sorted(names)

    # --- scripting (`:global`, `:put`, ...) -------------------------------------------------------------

    def _script(self, word: str, tokens: list[Token], cwd: str, local: dict[str, str]) -> tuple[str, Result]:
        name = word[1:]
        args = tokens[1:]
        glob = console_globals(self.router)
        if name in ("global", "local"):
            if not args or args[0].word is None:
                raise _col_err("syntax error", args[0].col if args else tokens[0].col + len(word) + 1)
            var = args[0].word
            scope = glob if name == "global" else local
            if len(args) > 2:
                raise _col_err("expected end of command", args[2].col)
            if len(args) == 2:
                scope[var] = str(self._value(args[1].value, cwd, local))
            elif name == "local" or var not in scope:
                scope.setdefault(var, "")
            return "", ""
        if name == "set":
            if not args or args[0].word is None:
                raise _col_err("syntax error", tokens[0].col + len(word) + 1)
            var = args[0].word
            value = str(self._value(args[1].value, cwd, local)) if len(args) > 1 else ""
            (local if var in local else glob)[var] = value
            return "", ""
        if name == "put":
            text = " ".join(str(self._token_value(t, cwd, local)) for t in args)
            return text, text
        if name == "delay":
            raw = str(self._value(args[0].value, cwd, local)) if args else "1"
            try:
                ms = parse_time_ms(raw)
            except ValueProblem:
                raise _err("invalid value for argument delay-time") from None
            time.sleep(min(ms / 1000 * self.router.clock.time_scale, self.max_delay_s))
            return "", ""
        if name == "log":
            if len(args) < 2 or args[0].word not in ("info", "warning", "error", "debug"):
                raise _col_err("syntax error", tokens[0].col)
            self.router.log(f"script,{args[0].word}", str(self._token_value(args[1], cwd, local)))
            return "", ""
        if name == "serialize" and has(self.router.spec.version, "serialize"):
            return "", self._serialize(tokens[0], args, cwd, local)
        if name == "len":
            value = str(self._value(args[0].value, cwd, local)) if args else ""
            return "", str(len(value))
        raise _col_err("bad", tokens[0].col, word)

    def _serialize(self, word: Token, args: list[Token], cwd: str, local: dict[str, str]) -> str:
        """v7 `:serialize to=json value=[... print as-value]` (or the value positional): the JSON text.
        `options=` exists from 7.16, json.no-string-conversion from 7.17 (RAML inspect); 7.13+ only."""
        to, value, seen, options = "", None, False, ""
        version = self.router.spec.version
        for token in args:
            if token.name == "to":
                to = str(self._value(token.value, cwd, local))
            elif token.name == "options" and version_tuple(version) >= (7, 16):
                options = str(self._value(token.value, cwd, local))
            elif token.name == "value" or (token.name is None and not seen):
                value, seen = self._value(token.value, cwd, local), True
            else:
                raise _col_err("expected end of command", token.col)
        if to != "json":
            raise _err("invalid value for argument to")
        # json.pretty (7.16+) is not modelled (no capture shows its indentation): refused like a bad value.
        known = {"json.no-string-conversion"} if has(version, "serialize-no-string-conversion") else set()
        chosen = {o for o in options.split(",") if o}
        if chosen - known:
            raise _err("invalid value for argument options")
        convert = "json.no-string-conversion" not in chosen
        if isinstance(value, AsValue):
            return render.serialize_json(value.items, convert)
        return render.serialize_json(None if value in ("", None) else str(value), convert)

    def _token_value(self, token: Token, cwd: str, local: dict[str, str]) -> Result:
        if token.name is not None:
            value = str(self._value(token.value, cwd, local))
            return f"{token.name}{token.op}{value}"
        return self._value(token.value, cwd, local)

    def _value(self, value: Value | None, cwd: str, local: dict[str, str]) -> Result:
        if value is None:
            return ""
        if value.kind == "sub":
            result: Result = ""
            for st in tokenize(value.source, value.inner_col):
                _, result = self._statement(st, cwd, local)
            return result
        if value.kind == "block":
            return value.source
        glob = console_globals(self.router)
        parts = []
        for part in value.parts:
            if isinstance(part, Var):
                parts.append(local.get(part.name, glob.get(part.name, "")))
            else:
                parts.append(part)
        return "".join(parts)

    # --- commands --------------------------------------------------------------------------------------

    def _command(
        self, path: str, command: str, tokens: list[Token], local: dict[str, str], col: int
    ) -> tuple[str, Result]:
        handler = HANDLERS.get((path, command))
        if handler is not None:
            return self._handler(path, command, handler, tokens, local)
        if path == "/" or not self.schema.has_menu(path):
            if command == "export":
                return self._export(path, tokens, local), ""
            if command == "quit":
                return "interrupted", ""
            if command == "import" and path == "/":
                return self._import(tokens, local), ""
            raise _col_err("bad", col, command)
        menu = self.schema.menu(path)
        method: Callable[..., tuple[str, Result]] | None = getattr(
            self, "_cmd_" + command.replace("-", "_"), None
        )
        if method is None:  # a real menu command nobody has implemented in the lab yet
            raise _err(f"failure: {command} is not implemented in the lab")
        return method(menu, tokens, local)

    def _menu_snapshot(self, path: str) -> tuple[int, list[dict[str, Any]]]:
        """What a handler may change: its own menu (a script's lines report their own changes). The whole
        configuration was copied twice per command before, a hub's thousand certificates included."""
        items = self.router.config.menus.get(path, [])
        return self.router.config.next_id, [i.to_json() for i in items if not i.dynamic]

    def _handler(
        self, path: str, command: str, handler: Callable[..., str], tokens: list[Token], local: dict[str, str]
    ) -> tuple[str, Result]:
        args: dict[str, str] = {}
        targets: list[Item] = []
        menu = self.schema.menus.get(path)
        for n, token in enumerate(tokens):
            if token.name is None:
                word = token.word
                takes_target = command not in FLAG_ONLY_COMMANDS and menu is not None and menu.kind == "list"
                is_flag = not takes_target or n > 0
                if word is not None and is_flag and not word[:1].isdigit() and not word.startswith("*"):
                    args[word] = ""
                    continue
                if menu is not None and menu.kind != "settings" and not targets:
                    targets = self._targets(menu, self._value(token.value, path, local))
                    continue
                if word is not None:
                    args[word] = ""
                    continue
                raise _col_err("expected end of command", token.col)
            if token.name == "numbers" and menu is not None:
                targets = self._targets(menu, self._value(token.value, path, local))
                continue
            args[token.name] = str(self._value(token.value, path, local))
        before = self._menu_snapshot(path)
        now = self.router.now()
        ctx = Context(router=self.router, path=path, now=now, timed=True)
        out = handler(ctx, args, targets)
        self.busy_until = max(self.busy_until, ctx.wait_until)
        if self._menu_snapshot(path) != before:
            self.router.changed()
        if "do" in args and args["do"].strip():
            block = Value("block", 1, (), args["do"], 1)
            for st in tokenize(block.source):
                self._statement(st, path, dict(local))
        return out, out

    def _import(self, tokens: list[Token], local: dict[str, str]) -> str:
        """`/import file-name=x.rsc`: run an exported script, joining backslash-continued lines."""
        name = ""
        for token in tokens:
            if token.name in ("file-name", "file") or (token.name is None and not name):
                name = str(self._value(token.value, "/", local))
            elif token.name != "verbose":
                raise _col_err("expected end of command", token.col)
        if not name or not self.router.files.exists(name):
            raise _err("failure: no such file")
        script = self.router.files.read(name).decode(errors="replace").replace("\r\n", "\n")
        script = re.sub(r"\\\n\s*", "", script)
        runner = Session(self.router, self.user, width=self.width)
        runner.max_delay_s = self.max_delay_s
        for number, line in enumerate(script.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out = runner.execute(line)
            if _is_error(out):
                return f"{out}\nfailure: error in script at line {number}"  # unverified wording
        return "Script file loaded and executed successfully"

    # item access ----------------------------------------------------------------------------------------

    def items(self, path: str) -> list[Item]:
        """Items of a menu; `/interface` is the union of the typed interface menus."""
        if path == "/interface":
            return [i for p in INTERFACE_MENUS for i in self.router.config.menus.get(p, [])]
        if path == "/file":
            return system_menus.file_items(self.router)
        if path == "/log":
            return system_menus.log_items(self.router)
        if path == "/user active":
            return system_menus.active_items(self.router)
        return self.router.config.items(path)

    def _menu_of(self, path: str, item: Item) -> str:
        if path != "/interface":
            return path
        return next(p for p in INTERFACE_MENUS if item in self.router.config.menus.get(p, []))

    def names(self, path: str) -> list[str]:
        return [i.values.get("name", "") for i in self.items(path)]

    def effective(self, menu: Menu, item: Item, show_secret: bool = True) -> dict[str, str]:
        """Field values as print detail shows them: set values, then status, then defaults."""
        values: dict[str, str] = {}
        for name, fld in menu.fields.items():
            if fld.secret and not show_secret:
                continue
            value = self.effective_value(menu, item, name)
            if value is not None:
                values[name] = value
        return values

    def effective_value(self, menu: Menu, item: Item, name: str) -> str | None:
        """One field of `effective` (None where print detail shows nothing): a `where` names one or two
        fields of each item, and working out all of them for every route of a large table is the cost."""
        fld = menu.fields.get(name)
        if fld is None or (fld.read_only and any(f.name == name for f in menu.flags)):
            return None
        if name in item.values:
            return item.values[name]
        if name in item.status:
            return item.status[name]
        if name == "type" and menu.path == "/interface":
            return INTERFACE_TYPES.get(self._menu_of(menu.path, item), "")
        return fld.default

    def flags(self, menu: Menu, item: Item) -> str:
        if menu.path == "/certificate":
            certificates = _optional("ikefleet.lab.certificates")
            if certificates is not None:
                return str(certificates.cert_flags(item, self.router.now()))
        return "".join(f.letter for f in menu.flags if _flag_set(item, f))

    def has_flag(self, menu: Menu, item: Item, flag: Flag) -> bool:
        """`flag.letter in flags(menu, item)`, without working out every other flag of the item."""
        if menu.path == "/certificate":
            return flag.letter in self.flags(menu, item)
        return _flag_set(item, flag)

    def _matching(self, menu: Menu, expr: list[Token], local: dict[str, str]) -> Callable[[Item], bool]:
        """The test of one item against a `where` (compiled once per command, see `where`)."""
        return compile_where(expr, menu, self, local)

    def resolve(self, value: Value | None, menu: Menu, local: dict[str, str]) -> str:
        """A `where` condition's right-hand side, as text."""
        return str(self._value(value, menu.path, local))

    def normal(self, menu: Menu, name: str, raw: str) -> str:
        """A `where` value in the form the item holds it (`yes` for `true`, `1s` for `1000ms`)."""
        fld = menu.fields.get(name)
        if fld is None or fld.type in ("ref", "str", "name", "text"):
            return raw
        try:
            return normalize_value(fld, raw)
        except ValueProblem:
            return raw

    def _refresh(self, menu: Menu) -> None:
        """Operational state of `menu` current before it is read (print, find)."""
        if self.router.refresh_state is not None:
            self.router.refresh_state(self.router, menu.path)

    def _find(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> IdList:
        if tokens and tokens[0].word == "where":
            tokens = tokens[1:]
        self._refresh(menu)
        matches = self._matching(menu, tokens, local)
        return IdList([i.id for i in self.items(menu.path) if matches(i)])

    def _targets(self, menu: Menu, value: Result) -> list[Item]:
        """Items named by numbers from the last print, ids (`*1A`), names, or a `[find]` result."""
        items = self.items(menu.path)
        by_id = {i.id: i for i in items}
        if isinstance(value, IdList):
            return [by_id[i] for i in value.ids if i in by_id]
        found: list[Item] = []
        for word in [w for w in value.replace(";", ",").split(",") if w]:
            if word.startswith("*"):
                try:
                    found.append(by_id[int(word[1:], 16)])
                except (ValueError, KeyError):
                    raise _err("no such item") from None
                continue
            if re.fullmatch(r"\d+(-\d+)?", word):
                numbers = self.numbers.get(menu.path, [i.id for i in items])
                lo, _, hi = word.partition("-")
                for n in range(int(lo), int(hi or lo) + 1):
                    if n >= len(numbers) or numbers[n] not in by_id:
                        raise _err("no such item")
                    found.append(by_id[numbers[n]])
                continue
            named = [i for i in items if i.values.get("name") == word]
            if not named:
                raise _err("no such item")
            found.extend(named)
        return found

    # argument parsing -------------------------------------------------------------------------------

    def _split(
        self, menu: Menu, tokens: list[Token], local: dict[str, str], words: frozenset[str] = frozenset()
    ) -> tuple[list[tuple[Token, Result]], dict[str, tuple[Token, Result]], set[str]]:
        positional: list[tuple[Token, Result]] = []
        named: dict[str, tuple[Token, Result]] = {}
        flags: set[str] = set()
        for token in tokens:
            if token.name is not None:
                if token.op != "=":
                    raise _col_err("expected end of command", token.col)
                named[token.name] = (token, self._value(token.value, menu.path, local))
            elif token.word is not None and _pick(token.word, sorted(words)):
                flags.add(_pick(token.word, sorted(words)) or "")
            else:
                positional.append((token, self._value(token.value, menu.path, local)))
        return positional, named, flags

    def _arg_field(self, menu: Menu, token: Token, extra: tuple[str, ...] = ()) -> str:
        version = version_tuple(self.router.spec.version)
        names = [n for n, f in menu.fields.items()
                 if not f.read_only and (not f.since or version >= version_tuple(f.since))] + list(extra)
        if menu.kind == "list":
            names += ["comment"]
            if any(f.name == "disabled" for f in menu.flags):
                names += ["disabled"]
        name = _pick(token.name or "", names)
        if name is None:
            raise _col_err("expected end of command", token.col)
        return name

    def _convert(self, menu: Menu, name: str, raw: Result) -> str:
        if name == "comment":
            return str(raw)
        if name == "disabled":
            return normalize_value(Field("disabled", "bool", "no"), str(raw))
        fld = menu.fields[name]
        text = str(raw)
        try:
            value = normalize_value(fld, text)
        except ValueProblem as exc:
            raise _err(exc.text(name)) from None
        is_ref = fld.type in ("ref", "enum-or-ref") and fld.ref and value not in fld.values
        if is_ref and not self._ref_exists(fld.ref or "", value.lstrip("!")):
            raise _err(f"input does not match any value of {name}")
        if fld.type == "ref-list" and fld.ref:
            for part in value.split(","):
                if part and not self._ref_exists(fld.ref, part):
                    raise _err(f"input does not match any value of {name}")
        return value

    def _ref_exists(self, ref: str, name: str) -> bool:
        key = "interface" if ref in ("/routing bfd interface",) else "name"
        return any(i.values.get(key) == name for i in self.items(ref))

    def _apply(self, menu: Menu, item: Item, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name == "disabled":
                item.disabled = value == "yes"
            elif name == "comment":
                item.comment = value
            else:
                item.values[name] = value

    def _check_unique(self, menu: Menu, item: Item, items: list[Item]) -> None:
        name = item.values.get("name")
        if menu.path in INTERFACE_MENUS and name is not None:
            # Interface names are unique across every kind of interface.
            others = (o for o in self.items("/interface") if o is not item)
            if any(o.values.get("name") == name for o in others):
                raise _err("failure: already have interface with such name")
        for fields in menu.unique:
            mine = tuple(self.effective(menu, item).get(f, "") for f in fields)
            for other in items:
                if other is item or other.dynamic:
                    continue
                if tuple(self.effective(menu, other).get(f, "") for f in fields) == mine:
                    raise _err(menu.duplicate_error)

    def _changed(self) -> None:
        self.router.changed()

    # generic commands ---------------------------------------------------------------------------------

    def _cmd_add(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        if menu.kind != "list" or not menu.addable:
            raise _col_err("bad", tokens[0].col if tokens else 1, "add")
        positional, named, _ = self._split(menu, tokens, local)
        if positional:
            raise _col_err("expected end of command", positional[0][0].col)
        values: dict[str, str] = {}
        base: Item | None = None
        before: int | None = None
        for token, raw in named.values():
            name = self._arg_field(menu, token, ("place-before", "copy-from"))
            if name == "copy-from":
                found = self._targets(menu, raw)
                if not found:
                    raise _err("no such item")
                base = found[0]
            elif name == "place-before":
                found = self._targets(menu, raw)
                if not found:
                    raise _err("no such item")
                before = self.items(menu.path).index(found[0])
            else:
                values[name] = self._convert(menu, name, raw)
        if base is not None:
            copied = {
                k: v
                for k, v in base.values.items()
                if not menu.fields.get(k, Field(k, "str", None)).read_only
            }
            values = {**copied, **values}
            if "comment" not in values and base.comment:
                values["comment"] = base.comment
        for name, fld in menu.fields.items():
            if fld.required and name not in values:
                raise _err(f"failure: {name} not specified")
            if fld.always and name not in values and fld.default is not None:
                values[name] = fld.default
            if fld.auto_name and not values.get(name):
                taken = {i.values.get(name) for i in self.items(menu.path)}
                values[name] = next(
                    f"{fld.auto_name}{n}" for n in range(1, 10**6) if f"{fld.auto_name}{n}" not in taken
                )
        item = Item(id=self.router.config.next_id)
        self._apply(menu, item, values)
        self._derive(menu, item)
        items = self.items(menu.path)
        self._check_unique(menu, item, items)
        self.router.config.next_id += 1
        stored = self.router.config.items(menu.path)
        if before is not None:
            stored.insert(stored.index(items[before]) if items[before] in stored else 0, item)
        else:
            stored.append(item)
        self._changed()
        return "", item_id(item)

    def _derive(self, menu: Menu, item: Item) -> None:
        """Values RouterOS fills in itself (an address's network)."""
        if menu.path == "/ip address" and "address" in item.values and "network" not in item.values:
            iface = ipaddress.ip_interface(item.values["address"])
            item.values["network"] = str(iface.network.network_address)

    def _modify(
        self, menu: Menu, tokens: list[Token], local: dict[str, str], command: str
    ) -> tuple[list[Item], dict[str, tuple[Token, Result]], list[tuple[Token, Result]]]:
        positional, named, _ = self._split(menu, tokens, local)
        targets: list[Item] = []
        if "numbers" in named:
            targets = self._targets(menu, named.pop("numbers")[1])
        elif menu.kind == "list" or command not in ("set", "unset", "get", "edit"):
            if not positional:  # RouterOS would prompt for `numbers:`; the lab cannot
                raise _err("no such item")
            targets = self._targets(menu, positional.pop(0)[1])
        return targets, named, positional

    def _settings_item(self, menu: Menu, create: bool = True) -> Item:
        """The one item of a settings menu; created on first change (reading leaves config alone)."""
        items = self.router.config.menus.get(menu.path) or []
        if not items and not create:
            return Item(id=0)
        items = self.router.config.items(menu.path)
        if not items:
            items.append(Item(id=self.router.config.next_id))
            self.router.config.next_id += 1
        return items[0]

    def _cmd_set(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        if menu.kind == "state":
            raise _col_err("bad", 1, "set")
        targets, named, positional = self._modify(menu, tokens, local, "set")
        if positional:
            raise _col_err("expected end of command", positional[0][0].col)
        values = {}
        for token, raw in named.values():
            name = self._arg_field(menu, token)
            values[name] = self._convert(menu, name, raw)
        if menu.kind == "settings":
            targets = [self._settings_item(menu)]
        for item in targets:
            if item.dynamic:
                raise _err("failure: can not change dynamic")
        for item in targets:
            old = (dict(item.values), item.disabled, item.comment)
            self._apply(menu, item, values)
            try:
                self._check_unique(menu, item, self.items(menu.path))
            except CommandError:
                item.values, item.disabled, item.comment = old
                raise
            if "name" in values and old[0].get("name") not in (None, values["name"]):
                self._rename_references(self._menu_of(menu.path, item), old[0]["name"], values["name"])
        if targets and values:
            self._changed()
        return "", ""

    def _rename_references(self, path: str, old: str, new: str) -> None:
        """RouterOS links items by id, so a rename shows up wherever the item is referenced."""
        targets = {path, "/interface"} if path in INTERFACE_MENUS else {path}
        for other in self.schema.menus.values():
            for fld in other.fields.values():
                if fld.ref not in targets or fld.type not in ("ref", "ref-list", "enum-or-ref"):
                    continue
                for item in self.router.config.menus.get(other.path, []):
                    value = item.values.get(fld.name)
                    if value is None:
                        continue
                    parts = value.split(",") if fld.type == "ref-list" else [value]
                    renamed = [
                        ("!" if p.startswith("!") else "") + new if p.lstrip("!") == old else p for p in parts
                    ]
                    item.values[fld.name] = ",".join(renamed)

    def _cmd_unset(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        targets, named, positional = self._modify(menu, tokens, local, "unset")
        if menu.kind == "settings":
            targets = [self._settings_item(menu)]
        fields = [self._arg_field(menu, t) for t, _ in named.values()]
        fields += [self._arg_field(menu, Token(t.col, None, t.word or "")) for t, _ in positional]
        for item in targets:
            for name in fields:
                item.values.pop(name, None)
        self._changed()
        return "", ""

    def _cmd_remove(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        targets, named, positional = self._modify(menu, tokens, local, "remove")
        if named or positional:
            token = (list(named.values()) + positional)[0][0]
            raise _col_err("expected end of command", token.col)
        for item in targets:
            if item.default or item.values.get("builtin") == "yes":
                raise _err(menu.default_remove_error)
            if item.dynamic and menu.kind != "state":
                raise _err("failure: can not remove dynamic item")
        if menu.path == "/file":
            for item in targets:
                self.router.files.remove(item.values["name"])
            return "", ""
        for item in targets:
            path = self._menu_of(menu.path, item)
            stored = self.router.config.items(path)
            if item in stored:
                stored.remove(item)
        if targets:
            self._changed()
        return "", ""

    def _flag_cmd(
        self, menu: Menu, tokens: list[Token], local: dict[str, str], disabled: bool
    ) -> tuple[str, Result]:
        targets, named, positional = self._modify(menu, tokens, local, "enable")
        if named or positional:
            raise _col_err("expected end of command", (list(named.values()) + positional)[0][0].col)
        for item in targets:
            item.disabled = disabled
        if targets:
            self._changed()
        return "", ""

    def _cmd_enable(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        return self._flag_cmd(menu, tokens, local, False)

    def _cmd_disable(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        return self._flag_cmd(menu, tokens, local, True)

    def _cmd_comment(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        targets, named, positional = self._modify(menu, tokens, local, "comment")
        if "comment" in named:
            text = str(named["comment"][1])
        elif positional:
            text = str(positional[0][1])
        else:
            text = ""
        for item in targets:
            item.comment = text
        self._changed()
        return "", ""

    def _cmd_move(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        targets, named, positional = self._modify(menu, tokens, local, "move")
        stored = self.router.config.items(menu.path)
        dest_raw = (
            named["destination"][1] if "destination" in named else (positional[0][1] if positional else None)
        )
        for token, _ in [v for k, v in named.items() if k != "destination"] + positional[1:]:
            raise _col_err("expected end of command", token.col)
        dest = None
        if dest_raw not in (None, ""):
            found = self._targets(menu, dest_raw)  # type: ignore[arg-type]
            if not found:
                raise _err("no such item")
            dest = found[0]
        if any(item not in stored for item in targets) or (dest is not None and dest not in stored):
            raise _err("no such item")  # /interface is a view: its items live in the typed menus
        for item in targets:
            stored.remove(item)
        index = stored.index(dest) if dest is not None and dest in stored else len(stored)
        for offset, item in enumerate(targets):
            stored.insert(index + offset, item)
        self._changed()
        return "", ""

    def _cmd_get(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        positional, named, _ = self._split(menu, tokens, local)
        if menu.kind == "list":
            if not positional:
                raise _err("no such item")
            targets = self._targets(menu, positional.pop(0)[1])
            if not targets:
                raise _err("no such item")
            item = targets[0]
        else:
            item = self._settings_item(menu, create=False) if menu.kind == "settings" else Item(id=0)
        values = self.effective(menu, item)
        if menu.kind != "list" and menu.path in system_menus.STATE_VALUES:
            values = system_menus.STATE_VALUES[menu.path](self.router, self.router.now())
        if "value-name" in named:
            positional.append(named["value-name"])
        if not positional:
            return "", ";".join(f"{k}={v}" for k, v in values.items())
        name = str(positional[0][1])
        if name == "comment":
            return "", item.comment
        if name == "disabled":
            return "", "true" if item.disabled else "false"
        if name == ".id":
            return "", item_id(item)
        if name not in menu.fields and name not in values:
            raise _err("input does not match any value of value-name")
        value = values.get(name, "")
        if name in menu.fields and menu.fields[name].type == "bool" and value in ("yes", "no"):
            value = "true" if value == "yes" else "false"
        return "", value

    def _cmd_find(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        return "", self._find(menu, tokens, local)

    def _cmd_edit(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        # The interactive editor needs a full-screen terminal the lab does not emulate.
        raise _err("failure: interactive editor is not available in this console, use set")

    def _cmd_print(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        where: list[Token] = []
        for n, token in enumerate(tokens):
            if token.word == "where":
                tokens, where = tokens[:n], tokens[n + 1 :]
                break
        # 7.21+ print hides sensitive values unless `show-sensitive` (7.21 changelog; RAML 7.20.8 -> 7.21)
        sensitive = has(self.router.spec.version, "show-sensitive")
        known = PRINT_WORDS | {"show-sensitive"} if sensitive else PRINT_WORDS
        positional, named, words = self._split(menu, tokens, local, known)
        if positional:
            raise _col_err("expected end of command", positional[0][0].col)
        for token, _ in named.values():
            if token.name not in ("file", "from", "proplist", "interval", "value-list"):
                raise _col_err("expected end of command", token.col)
        show = not sensitive or "show-sensitive" in words
        self._refresh(menu)
        if menu.kind == "settings":
            values = self.effective(menu, self._settings_item(menu, create=False), show)
            text = render.print_settings(menu, values, width=self.width)
            return self._print_out(text, named), ""
        if menu.path == "/certificate":
            certificates = _optional("ikefleet.lab.certificates")
            if certificates is not None:
                certificates.refresh_status(self.router)
        matches = self._matching(menu, where, local)
        items = [i for i in self.items(menu.path) if matches(i)]
        if "from" in named:
            wanted = {i.id for i in self._targets(menu, named["from"][1])}
            items = [i for i in items if i.id in wanted]
        if "count-only" in words:
            return str(len(items)), str(len(items))
        # v7 numbers only the configured routes ("0   AS" under unnumbered "DAC" rows, v7 capture)
        skip = render.layout(menu.path, self.schema.major).unnumbered_dynamic
        numbered = [i for i in items if not (skip and i.dynamic)]
        self.numbers[menu.path] = [i.id for i in numbered]
        number = {i.id: n for n, i in enumerate(numbered)}
        rows = [
            render.Row(number.get(i.id), self.effective(menu, i, show), self.flags(menu, i), i.comment, i.id)
            for i in items
        ]
        if "as-value" in words:
            text = render.print_as_value(menu, rows, version=self.schema.major)
            return text, AsValue(text, render.as_value_items(menu, rows))
        if "terse" in words:
            text = render.print_terse(menu, rows, version=self.schema.major)
        elif "detail" in words:
            text = render.print_detail(menu, rows, width=self.width, version=self.schema.major)
        else:
            text = render.print_table(menu, rows, width=self.width, version=self.schema.major)
        return self._print_out(text, named), ""

    def _print_out(self, text: str, named: dict[str, tuple[Token, Result]]) -> str:
        if "file" in named:
            name = str(named["file"][1])
            self.router.files.write(name if name.endswith(".txt") else name + ".txt", (text + "\n").encode())
            return ""
        return text

    # export -------------------------------------------------------------------------------------------

    def _cmd_export(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        return self._export(menu.path, tokens, local), ""

    def _export(self, path: str, tokens: list[Token], local: dict[str, str]) -> str:
        words: set[str] = set()
        file_name = ""
        # v7 hides secrets unless `show-sensitive`; v6 shows them unless `hide-sensitive` (and has no
        # show-sensitive).
        known = sorted(EXPORT_WORDS | ({"show-sensitive"} if self.schema.major >= 7 else set()))
        for token in tokens:
            if token.name == "file" and token.op == "=":
                file_name = str(self._value(token.value, path, local))
            elif token.word is not None and _pick(token.word, known):
                words.add(_pick(token.word, known) or "")
            else:
                raise _col_err("expected end of command", token.col)
        hide = "hide-sensitive" in words or (self.schema.major >= 7 and "show-sensitive" not in words)
        prefix = "" if path == "/" else path
        paths = [
            p for p in self.schema.export_order if p == path or p.startswith(prefix + " ") or path == "/"
        ]
        sections = [
            (p, self.export_lines(p, verbose="verbose" in words, hide=hide))
            for p in paths
        ]
        r = self.router
        header = render.ExportHeader(r.now(), r.spec.version, "", r.spec.model, "")
        text = render.export(sections, terse="terse" in words, header=header, width=self.width)
        if file_name:
            name = file_name if file_name.endswith(".rsc") else file_name + ".rsc"
            r.files.write(name, (text + "\n").encode())
            return ""
        return text

    def export_lines(self, path: str, verbose: bool = False, hide: bool = False) -> list[render.ExportLine]:
        """The `add`/`set` lines that rebuild a menu from its factory state."""
        menu = self.schema.menu(path)
        if menu.kind == "state" or not menu.exported:
            return []
        lines: list[render.ExportLine] = []
        if menu.kind == "settings":
            item = (self.router.config.menus.get(path) or [Item(id=0)])[0]
            args = self._export_args(menu, item, verbose, hide)
            return [render.ExportLine("set", args)] if args else []
        for n, item in enumerate(self.items(path)):
            if item.dynamic:
                continue
            args = self._export_args(menu, item, verbose, hide)
            if item.default and "name" in menu.fields:
                if args:
                    lines.append(render.ExportLine("set", args, "[ find default=yes ]"))
            elif item.default:
                if args:
                    lines.append(render.ExportLine("set", args, str(n)))
            elif item.values.get("builtin") == "yes":
                continue
            elif not menu.addable:
                key = "default-name" if "default-name" in menu.fields else "name"
                original = item.status.get(key) or item.values.get(key, "")
                if key == "default-name":
                    args = tuple(a for a in args if a[0] != "default-name")
                if args:
                    find = f"[ find default-name={original} ]" if key == "default-name" else original
                    lines.append(render.ExportLine("set", args, find))
            else:
                lines.append(render.ExportLine("add", args))
        return lines

    def _export_args(self, menu: Menu, item: Item, verbose: bool, hide: bool) -> tuple[tuple[str, str], ...]:
        args: list[tuple[str, str]] = []
        factory = self._factory_values(menu, item)
        for name, fld in menu.fields.items():
            if fld.read_only:
                continue
            if hide and fld.secret:
                continue
            value = item.values.get(name)
            if value is None:
                if verbose and fld.default is not None:
                    args.append((name, fld.default))
                continue
            if not verbose:
                if name in factory:
                    if factory[name] == value:
                        continue
                elif value == fld.default and not fld.always:
                    continue
            if menu.path == "/ip address" and name == "address" and value.endswith("/32"):
                value = value[:-3]  # v6 exports host addresses without their /32
            args.append((name, value))
        if item.comment:
            args.append(("comment", item.comment))
        if item.disabled:
            args.append(("disabled", "yes"))
        elif verbose and any(f.name == "disabled" for f in menu.flags):
            args.append(("disabled", "no"))
        return tuple(args)

    def _factory_values(self, menu: Menu, item: Item) -> dict[str, str]:
        """Values a factory item started with (not exported: `set` lists only what changed).

        Default items cannot be removed, so the n-th default item is the n-th `default` factory entry.
        """
        if item.default:
            defaults = [i for i in self.items(menu.path) if i.default]
            specs = [s for s in menu.factory if s.get("default") == "yes"]
            index = defaults.index(item)
            return {k: v for k, v in specs[index].items() if k != "default"} if index < len(specs) else {}
        if not menu.addable:
            original = item.values.get("default-name")
            if original:
                return {"name": original}
            name = item.values.get("name")
            return next(({k: v for k, v in s.items()} for s in menu.factory if s.get("name") == name), {})
        return {}


def _flag_set(item: Item, flag: Flag) -> bool:
    """One flag of an item: its letter in the computed status, its attribute, or its property `yes`."""
    if flag.letter in item.status.get("flags", ""):
        return True
    if flag.name in ("disabled", "dynamic", "default") and getattr(item, flag.name, None):
        return True
    return item.values.get(flag.name, item.status.get(flag.name)) in ("yes", "true")
