"""`ikefleet` command line: a thin layer; each subcommand lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import logging
import os
import sys
import threading
import types
from typing import Any

from ikefleet.interrupt import EXIT_INTERRUPTED, INTERRUPTED

# Each command and the module that registers it: the module defines `register(subparsers) -> None`; the
# parser it adds sets `func(args) -> int`. A run imports only its command's module (a verify does not pay
# for the lab's, the renderer's or the PKI's imports); --help and an unknown command import them all.
COMMANDS: dict[str, str] = {
    "demo": "ikefleet.cli.demo",
    "plan": "ikefleet.cli.plan",
    "render": "ikefleet.cli.render",
    "lab": "ikefleet.cli.lab",
    "rollout": "ikefleet.cli.rollout",
    "certs": "ikefleet.cli.certs",
    "parse": "ikefleet.cli.parse",
    "verify": "ikefleet.cli.verify",
    "compliance": "ikefleet.cli.verify",
    "history": "ikefleet.cli.verify",
    "report": "ikefleet.cli.report",
    "backup": "ikefleet.cli.backup",
    "restore": "ikefleet.cli.restore",
}
SUBCOMMANDS = list(dict.fromkeys(COMMANDS.values()))
# Subcommands that connect to routers: they take --accept-new-hostkeys (ikefleet.connection.hostkeys).
HOSTKEY_COMMANDS = ("rollout", "verify", "compliance", "certs", "restore")


def command_of(argv: list[str]) -> str | None:
    """The subcommand `argv` names (its first word that is not an option), if it is one of COMMANDS: the
    top-level parser has no option that takes a value, so that word is the command."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (given a known `command`) the top level and that command's module only."""
    parser = argparse.ArgumentParser(
        prog="ikefleet",
        description="Roll out, verify and keep compliant a MikroTik RouterOS IKEv2 + EoIP + OSPF VPN.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_parser = subparsers.add_parser

    def described(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """Every subcommand's --help opens with a description: its one-line help unless it has more."""
        kwargs.setdefault("description", kwargs.get("help"))
        return add_parser(name, **kwargs)

    subparsers.add_parser = described  # type: ignore[method-assign]
    chosen = COMMANDS.get(command or "")
    for name in [chosen] if chosen else SUBCOMMANDS:
        importlib.import_module(name).register(subparsers)
    for command in HOSTKEY_COMMANDS:
        if command in subparsers.choices:
            subparsers.choices[command].add_argument(
                "--accept-new-hostkeys", action="store_true",
                help="a router's SSH host key changed on purpose (replaced/reinstalled): pin the new key",
            )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # (0.1 s of imports: only when asked)

    try:
        return version("ikefleet")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """argparse's `version` action, but the version is looked up only when --version is given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


class _ReaderGone(io.TextIOBase):
    """stdout that outlives its reader: once the pipe is closed (`ikefleet plan --json | head`), output is
    dropped instead of raising BrokenPipeError, so a run in progress is never cut short by its pager."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)  # the interpreter's own flush at exit goes there too
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)

    def isatty(self) -> bool:
        return bool(self.stream.isatty())

    def fileno(self) -> int:
        return int(self.stream.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(self.stream.encoding)


def quiet_libraries() -> None:
    """ikefleet reports every host's failure itself; Nornir's and paramiko's tracebacks are noise."""
    for name in ("nornir", "paramiko", "netmiko", "asyncssh"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its names is used, then imports it (once, whatever the threads)
    and answers from it. (importlib's LazyLoader does not defer: `import` itself reads `__spec__`.)"""

    _lock = threading.Lock()

    def __getattr__(self, attr: str) -> Any:
        with self._lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
        # (the import outside the lock: importlib's own module lock makes a second thread wait for the first)
        return getattr(importlib.import_module(self.__name__), attr)


def defer_import(name: str) -> None:
    """Let the module `name` load on first use of one of its names instead of when imported: paramiko
    imports invoke (0.08 s, with unittest.mock and asyncio) only to run an SSH config's `Match exec`,
    which most runs never meet. Nothing changes for a run that meets one; a missing module stays missing."""
    if name not in sys.modules and importlib.util.find_spec(name) is not None:
        sys.modules[name] = _Deferred(name)


def main(argv: list[str] | None = None) -> int:
    """The command line: 130 and one line on Ctrl-C wherever it lands, the arguments' parsing and the
    command's imports included (a run handles its own first Ctrl-C, ikefleet/interrupt.py)."""
    try:
        quiet_libraries()
        defer_import("invoke")
        if not isinstance(sys.stdout, _ReaderGone):
            sys.stdout = _ReaderGone(sys.stdout)
        words = sys.argv[1:] if argv is None else argv
        args = build_parser(command_of(words)).parse_args(words)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
