"""The lab's RouterOS 6.49 console: a `Session` turns one typed line into the router's answer.

Menus, fields and defaults come from the schema (`ikefleet.routeros.schema`); the line grammar from
`syntax`; layouts from `render`. Menu-specific commands are handlers in `commands.HANDLERS` (certificates,
backups, files, ...). Errors come back as RouterOS's own text and never raise out of `execute`.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from typing import Any

from ikefleet.routeros.config import Item
from ikefleet.routeros.schema import (
    Menu,
    Schema,
    load_schema,
)
from ikefleet.routeros.versions import has

from . import menus, render, safemode, scripting
from .commands import HANDLERS, Context
from .commands import menu as generic
from .console import AsValue, Result, col_err, pick
from .errors import CommandError
from .router import Router
from .safemode import HIJACK_PROMPT as HIJACK_PROMPT  # re-exported: the SSH tests wait for it
from .scripting import MAX_DELAY_S
from .scripting import console_globals as console_globals  # re-exported: tests read `:global`s
from .syntax import Statement, Token, Value, tokenize, tokenize_line

# Bare words each generic command accepts (RouterOS "unnamed" flags).
PRINT_WORDS = frozenset(
    {"detail", "terse", "brief", "count-only", "without-paging", "as-value", "value-list", "stats", "follow",
     "interval", "oid", "show-ids", "proplist", "from", "file", "where"}
)  # fmt: skip
EXPORT_WORDS = frozenset({"terse", "compact", "verbose", "hide-sensitive"})
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
        self.safe_mode_snapshot: dict[str, Any] | None = None
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
                text, _ = self.statement(statement, self.path, local, top=True)
                if self.busy_until and (n + 1 < len(statements) or not self.waits_async):
                    time.sleep(self.take_wait())
                    self.router.finish_due()
                if text:
                    out.append(text)
            return "\n".join(out)
        except CommandError as exc:
            return str(exc)
        except RecursionError:
            return "failure: too deep nesting"
        except Exception as exc:
            self.router.log("system,error", f"console: internal error {type(exc).__name__}")
            return "failure: internal error"

    def take_wait(self) -> float:
        """Seconds the console must still hold the last line's answer (a monitor-style command's work)."""
        until, self.busy_until = self.busy_until, 0.0
        return max(0.0, until - time.monotonic())

    def login(self, user: str, width: int = 80) -> Session:
        """Another console login on the same router (a script or an imported file runs in its own)."""
        return Session(self.router, user, width=width)

    def toggle_safe_mode(self) -> str:
        """Ctrl-X (see `safemode.toggle`)."""
        return safemode.toggle(self)

    def answer_hijack(self, key: str) -> str | None:
        """The key typed at HIJACK_PROMPT (see `safemode.answer_hijack`)."""
        return safemode.answer_hijack(self, key)

    def close(self, dropped: bool) -> None:
        safemode.close(self, dropped)

    # --- statements ------------------------------------------------------------------------------------

    def statement(
        self, st: Statement, cwd: str, local: dict[str, str], top: bool = False
    ) -> tuple[str, Result]:
        tokens = st.tokens
        first = tokens[0].word
        if first is not None and first.startswith(":"):
            return scripting.script(self, first, tokens, cwd, local)
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
                child = pick(word, list(self.schema.children(path)))
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
            raise col_err("expected command name", token.col)
        command = pick(word, self._commands(path))
        if command is None:
            raise col_err("bad", token.col + (1 if word != token.word else 0), word)
        return self._command(path, command, tokens[i + 1 :], local, token.col)

    def _commands(self, path: str) -> list[str]:
        names = set(self.schema.commands(path))
        names.update(cmd for (p, cmd) in HANDLERS if p == path)
        if path == "/":
            names.update(ROOT_COMMANDS)
        return sorted(names)

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
                return scripting.import_file(self, tokens, local), ""
            raise col_err("bad", col, command)
        menu = self.schema.menu(path)
        family = generic.COMMANDS.get(command)
        if family is not None:
            return family(self, menu, tokens, local)
        method: Callable[..., tuple[str, Result]] | None = getattr(
            self, "_cmd_" + command.replace("-", "_"), None
        )
        if method is None:  # a real menu command nobody has implemented in the lab yet
            raise CommandError(f"failure: {command} is not implemented in the lab")
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
                    targets = menus.targets(self, menu, scripting.evaluate(self, token.value, path, local))
                    continue
                if word is not None:
                    args[word] = ""
                    continue
                raise col_err("expected end of command", token.col)
            if token.name == "numbers" and menu is not None:
                targets = menus.targets(self, menu, scripting.evaluate(self, token.value, path, local))
                continue
            args[token.name] = str(scripting.evaluate(self, token.value, path, local))
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
                self.statement(st, path, dict(local))
        return out, out

    def _cmd_print(self, menu: Menu, tokens: list[Token], local: dict[str, str]) -> tuple[str, Result]:
        where: list[Token] = []
        for n, token in enumerate(tokens):
            if token.word == "where":
                tokens, where = tokens[:n], tokens[n + 1 :]
                break
        # 7.21+ print hides sensitive values unless `show-sensitive` (7.21 changelog; RAML 7.20.8 -> 7.21)
        sensitive = has(self.router.spec.version, "show-sensitive")
        known = PRINT_WORDS | {"show-sensitive"} if sensitive else PRINT_WORDS
        positional, named, words = generic.split(self, menu, tokens, local, known)
        if positional:
            raise col_err("expected end of command", positional[0][0].col)
        for token, _ in named.values():
            if token.name not in ("file", "from", "proplist", "interval", "value-list"):
                raise col_err("expected end of command", token.col)
        show = not sensitive or "show-sensitive" in words
        menus.refresh(self.router, menu)
        if menu.kind == "settings":
            item = menus.settings_item(self.router, menu, create=False)
            values = menus.effective(self.router, menu, item, show)
            text = render.print_settings(menu, values, width=self.width)
            return self._print_out(text, named), ""
        if menu.path == "/certificate":
            certificates = menus.optional("ikefleet.lab.certificates")
            if certificates is not None:
                certificates.refresh_status(self.router)
        matches = menus.matching(self, menu, where, local)
        items = [i for i in menus.items(self.router, menu.path) if matches(i)]
        if "from" in named:
            wanted = {i.id for i in menus.targets(self, menu, named["from"][1])}
            items = [i for i in items if i.id in wanted]
        if "count-only" in words:
            return str(len(items)), str(len(items))
        # v7 numbers only the configured routes ("0   AS" under unnumbered "DAC" rows, v7 capture)
        skip = render.layout(menu.path, self.schema.major).unnumbered_dynamic
        numbered = [i for i in items if not (skip and i.dynamic)]
        self.numbers[menu.path] = [i.id for i in numbered]
        number = {i.id: n for n, i in enumerate(numbered)}
        r = self.router
        rows = [
            render.Row(
                number.get(i.id), menus.effective(r, menu, i, show), menus.flags(r, menu, i), i.comment, i.id
            )
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
                file_name = str(scripting.evaluate(self, token.value, path, local))
            elif token.word is not None and pick(token.word, known):
                words.add(pick(token.word, known) or "")
            else:
                raise col_err("expected end of command", token.col)
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
        for n, item in enumerate(menus.items(self.router, path)):
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
            defaults = [i for i in menus.items(self.router, menu.path) if i.default]
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

