"""The console's scripting: the `:`-commands (`:global`, `:local`, `:set`, `:put`, `:delay`, `:log`,
`:serialize`, `:len`), how a value is computed (`$variables`, `[ ... ]` substitutions, `{ ... }` blocks) and
`/import`, which runs a script file line by line in a login of its own.

`:delay` really sleeps, scaled like the lab's key generation (the seed's `:delay 130` after a sign is 130 ms
at time scale 0.001, while a 4096-bit key takes 80 ms on the lab's CCR), but at most `MAX_DELAY_S` seconds:
the sleep blocks the lab's event loop, so at time scale 1 a script's long `:delay` is cut short.
"""

from __future__ import annotations

import re
import time

from ikefleet.routeros.schema import ValueProblem, parse_time_ms
from ikefleet.routeros.versions import has, version_tuple

from . import render
from .console import AsValue, Console, Result, col_err
from .errors import CommandError
from .router import Router
from .syntax import Token, Value, Var, tokenize

MAX_DELAY_S = 2.0
ERROR_PREFIXES = (
    "failure:", "bad command name", "syntax error", "expected end of command", "expected command name",
    "no such item", "invalid value for argument", "input does not match any value", "ambiguous value",
    "value of ",
)  # fmt: skip


def is_error(text: str) -> bool:
    """Whether a console answer is a RouterOS error (a script stops at the first)."""
    return text.startswith(ERROR_PREFIXES)


def console_globals(router: Router) -> dict[str, str]:
    """`:global` variables: per router, shared by all its sessions, gone when the router restarts."""
    found: dict[str, str] = router.__dict__.setdefault("_console_globals", {})
    return found


def script(
    console: Console, word: str, tokens: list[Token], cwd: str, local: dict[str, str]
) -> tuple[str, Result]:
    """A `:`-command (`:global`, `:put`, `:delay`, ...): its output text and its value."""
    name = word[1:]
    args = tokens[1:]
    glob = console_globals(console.router)
    if name in ("global", "local"):
        if not args or args[0].word is None:
            raise col_err("syntax error", args[0].col if args else tokens[0].col + len(word) + 1)
        var = args[0].word
        scope = glob if name == "global" else local
        if len(args) > 2:
            raise col_err("expected end of command", args[2].col)
        if len(args) == 2:
            scope[var] = str(evaluate(console, args[1].value, cwd, local))
        elif name == "local" or var not in scope:
            scope.setdefault(var, "")
        return "", ""
    if name == "set":
        if not args or args[0].word is None:
            raise col_err("syntax error", tokens[0].col + len(word) + 1)
        var = args[0].word
        value = str(evaluate(console, args[1].value, cwd, local)) if len(args) > 1 else ""
        (local if var in local else glob)[var] = value
        return "", ""
    if name == "put":
        text = " ".join(str(token_value(console, t, cwd, local)) for t in args)
        return text, text
    if name == "delay":
        raw = str(evaluate(console, args[0].value, cwd, local)) if args else "1"
        try:
            ms = parse_time_ms(raw)
        except ValueProblem:
            raise CommandError("invalid value for argument delay-time") from None
        time.sleep(min(ms / 1000 * console.router.clock.time_scale, console.max_delay_s))
        return "", ""
    if name == "log":
        if len(args) < 2 or args[0].word not in ("info", "warning", "error", "debug"):
            raise col_err("syntax error", tokens[0].col)
        console.router.log(f"script,{args[0].word}", str(token_value(console, args[1], cwd, local)))
        return "", ""
    if name == "serialize" and has(console.router.spec.version, "serialize"):
        return "", serialize(console, tokens[0], args, cwd, local)
    if name == "len":
        value = str(evaluate(console, args[0].value, cwd, local)) if args else ""
        return "", str(len(value))
    raise col_err("bad", tokens[0].col, word)


def serialize(console: Console, word: Token, args: list[Token], cwd: str, local: dict[str, str]) -> str:
    """v7 `:serialize to=json value=[... print as-value]` (or the value positional): the JSON text.
    `options=` exists from 7.16, json.no-string-conversion from 7.17 (RAML inspect); 7.13+ only."""
    to, value, seen, options = "", None, False, ""
    version = console.router.spec.version
    for token in args:
        if token.name == "to":
            to = str(evaluate(console, token.value, cwd, local))
        elif token.name == "options" and version_tuple(version) >= (7, 16):
            options = str(evaluate(console, token.value, cwd, local))
        elif token.name == "value" or (token.name is None and not seen):
            value, seen = evaluate(console, token.value, cwd, local), True
        else:
            raise col_err("expected end of command", token.col)
    if to != "json":
        raise CommandError("invalid value for argument to")
    # json.pretty (7.16+) is not modelled (no capture shows its indentation): refused like a bad value.
    known = {"json.no-string-conversion"} if has(version, "serialize-no-string-conversion") else set()
    chosen = {o for o in options.split(",") if o}
    if chosen - known:
        raise CommandError("invalid value for argument options")
    convert = "json.no-string-conversion" not in chosen
    if isinstance(value, AsValue):
        return render.serialize_json(value.items, convert)
    return render.serialize_json(None if value in ("", None) else str(value), convert)


def token_value(console: Console, token: Token, cwd: str, local: dict[str, str]) -> Result:
    if token.name is not None:
        value = str(evaluate(console, token.value, cwd, local))
        return f"{token.name}{token.op}{value}"
    return evaluate(console, token.value, cwd, local)


def evaluate(console: Console, value: Value | None, cwd: str, local: dict[str, str]) -> Result:
    """A value as the console computes it: `[ ... ]` runs its statements, `$var` reads the variable."""
    if value is None:
        return ""
    if value.kind == "sub":
        result: Result = ""
        for st in tokenize(value.source, value.inner_col):
            _, result = console.statement(st, cwd, local)
        return result
    if value.kind == "block":
        return value.source
    glob = console_globals(console.router)
    parts = []
    for part in value.parts:
        if isinstance(part, Var):
            parts.append(local.get(part.name, glob.get(part.name, "")))
        else:
            parts.append(part)
    return "".join(parts)


def import_file(console: Console, tokens: list[Token], local: dict[str, str]) -> str:
    """`/import file-name=x.rsc`: run an exported script, joining backslash-continued lines."""
    name = ""
    for token in tokens:
        if token.name in ("file-name", "file") or (token.name is None and not name):
            name = str(evaluate(console, token.value, "/", local))
        elif token.name != "verbose":
            raise col_err("expected end of command", token.col)
    if not name or not console.router.files.exists(name):
        raise CommandError("failure: no such file")
    script = console.router.files.read(name).decode(errors="replace").replace("\r\n", "\n")
    script = re.sub(r"\\\n\s*", "", script)
    runner = console.login(console.user, width=console.width)
    runner.max_delay_s = console.max_delay_s
    for number, line in enumerate(script.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        out = runner.execute(line)
        if is_error(out):
            return f"{out}\nfailure: error in script at line {number}"  # unverified wording
    return "Script file loaded and executed successfully"
