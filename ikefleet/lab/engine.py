"""The lab's RouterOS console: a `Session` turns one typed line into the router's answer.

The session owns a login's state (current menu, safe mode, print numbering) and routes each parsed
statement (`syntax`) to its family: `:`-commands to `scripting`, a menu's registered handler
(`commands.HANDLERS`: certificates, backups, ...) to `commands.registered`, the schema's generic commands
to `commands.menu`, `commands.printing` and `commands.export`; Ctrl-X goes to `safemode`. Families are
plain functions of the `console.Console` protocol and never import this module. Errors come back as
RouterOS's own text and never raise out of `execute`.
"""

from __future__ import annotations

import importlib
import re
import time
from typing import Any

from ikefleet.routeros.schema import Schema, load_schema

from . import safemode, scripting
from .commands import HANDLERS, export, printing, registered
from .commands import menu as generic
from .console import Result, col_err, pick
from .errors import CommandError
from .router import Router
from .safemode import HIJACK_PROMPT as HIJACK_PROMPT  # re-exported: the SSH tests wait for it
from .scripting import MAX_DELAY_S
from .scripting import console_globals as console_globals  # re-exported: tests read `:global`s
from .syntax import Statement, Token, Value, tokenize_line

ROOT_COMMANDS = ("export", "quit", "import", "beep", "ping", "undo", "redo")
# What a statement in a schema menu routes to (a registered handler for the menu comes first).
MENU_COMMANDS: dict[str, generic.Command] = {
    **generic.COMMANDS,
    "print": printing.print_command,
    "export": export.export_command,
}
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
        """The login ends (see `safemode.close`: a drop in safe mode undoes its changes)."""
        safemode.close(self, dropped)

    # --- statements ------------------------------------------------------------------------------------

    def statement(
        self, st: Statement, cwd: str, local: dict[str, str], top: bool = False
    ) -> tuple[str, Result]:
        """One statement run in menu `cwd`: its output text and its value (for `[ ... ]` and `:put`). The
        leading words walk the menu tree; a line of menu words only (`top`) moves the console there."""
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
        """Command names typed in menu `path` (abbreviations are matched against these)."""
        names = set(self.schema.commands(path))
        names.update(cmd for (p, cmd) in HANDLERS if p == path)
        if path == "/":
            names.update(ROOT_COMMANDS)
        return sorted(names)

    # --- commands --------------------------------------------------------------------------------------

    def _command(
        self, path: str, command: str, tokens: list[Token], local: dict[str, str], col: int
    ) -> tuple[str, Result]:
        """Route a command to its family: a registered handler first, then root commands, then the generic."""
        handler = HANDLERS.get((path, command))
        if handler is not None:
            return registered.call(self, path, command, handler, tokens, local)
        if path == "/" or not self.schema.has_menu(path):
            if command == "export":
                return export.export(self, path, tokens, local), ""
            if command == "quit":
                return "interrupted", ""
            if command == "import" and path == "/":
                return scripting.import_file(self, tokens, local), ""
            raise col_err("bad", col, command)
        menu = self.schema.menu(path)
        family = MENU_COMMANDS.get(command)
        if family is None:  # a real menu command nobody has implemented in the lab yet
            raise CommandError(f"failure: {command} is not implemented in the lab")
        return family(self, menu, tokens, local)
