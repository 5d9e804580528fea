"""A command imports only what it needs: `ikefleet verify` does not pay for the lab, the renderers of other
commands or the reports it was not asked for (issue 22: the whole process, as a user runs it)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ikefleet.cli import COMMANDS, build_parser, command_of

# Modules a verify (console report, the default) never uses: the lab (asyncssh server), other commands'
# modules, the rollout runbook, and the report formats and live display it was not asked for.
NOT_FOR_VERIFY = (
    "asyncssh",
    "ikefleet.lab",
    "ikefleet.cli.lab",
    "ikefleet.cli.demo",
    "ikefleet.cli.render",
    "ikefleet.cli.rollout",
    "ikefleet.cli.certs",
    "ikefleet.cli.restore",
    "ikefleet.runbooks.rollout",
    # the tasks package's face imports its names on first use: a verify needs only the reads
    "ikefleet.tasks.pki",
    "ikefleet.tasks.backup",
    "ikefleet.tasks.converge",
    "ikefleet.tasks.hub",
    "ikefleet.tasks.handover",
    "ikefleet.reports.html",
    "ikefleet.reports.prometheus",
    "ikefleet.reports.junit",
    "prometheus_client",
    "rich.live",
    # paramiko imports invoke for an SSH config's `Match exec` only: invoke loads when one is met
    "invoke.runners",
    "unittest.mock",
    "asyncio",
)


def _printed(code: str) -> Any:
    """What `code`, run by a fresh interpreter, printed last as JSON (imports counted from nothing)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _modules_after(code: str) -> set[str]:
    return set(_printed(code))


def test_verify_imports_only_the_modules_it_needs(tmp_path: Path) -> None:
    missing = tmp_path / "config.yaml"  # the command runs up to the inventory and stops there (exit 2)
    code = (
        "import contextlib, io, json, sys\n"
        "from ikefleet.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        f"    rc = main(['verify', '-c', {str(missing)!r}])\n"
        "assert rc == 2, rc\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = _modules_after(code)
    assert "ikefleet.runbooks.verify" in loaded  # the run itself was reached
    assert "ikefleet.cli.verify" in loaded
    wrong = sorted(m for m in loaded if any(m == name or m.startswith(name + ".") for name in NOT_FOR_VERIFY))
    assert wrong == []


# What only a run needs: `verify --help` (or an argument error) shows the options without the SSH stack,
# Nornir, the inventory's YAML or the console renderer.
NOT_FOR_VERIFY_HELP = (
    *NOT_FOR_VERIFY, "paramiko", "netmiko", "nornir", "ruamel", "rich", "jinja2", "ikefleet.selection",
    "ikefleet.inventory", "ikefleet.secrets", "ikefleet.runbooks.verify",
)


@pytest.mark.parametrize("argv", [["verify", "--help"], ["compliance", "--help"], ["verify", "--nosuch"]])
def test_verify_help_imports_no_run(argv: list[str]) -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from ikefleet.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = _modules_after(code)
    assert "ikefleet.cli.verify" in loaded
    wrong = sorted(m for m in loaded
                   if any(m == name or m.startswith(name + ".") for name in NOT_FOR_VERIFY_HELP))
    assert wrong == []


def test_an_ssh_config_match_exec_still_runs_with_invoke_deferred() -> None:
    code = (
        "import json, sys\n"
        "from ikefleet.cli import defer_import\n"
        "defer_import('invoke')\n"
        "import paramiko\n"
        "before = 'invoke.runners' in sys.modules\n"
        "config = paramiko.SSHConfig.from_text('Match exec \"true\"\\n  User matched\\n')\n"
        "print(json.dumps([before, config.lookup('h').get('user'), 'invoke.runners' in sys.modules]))\n"
    )
    assert _printed(code) == [False, "matched", True]


def test_a_deferred_module_loads_once_when_threads_use_it_at_once() -> None:
    code = (
        "import json, sys, threading\n"
        "from ikefleet.cli import defer_import\n"
        "defer_import('invoke')\n"
        "import invoke\n"
        "stand_in, got, go = invoke, [], threading.Barrier(8)\n"
        "def use():\n"
        "    go.wait()\n"
        "    got.append(stand_in.run)\n"
        "threads = [threading.Thread(target=use) for _ in range(8)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "real = sys.modules['invoke']\n"
        "print(json.dumps([len(got), len({id(f) for f in got}), real is not stand_in, got[0] is real.run]))\n"
    )
    assert _printed(code) == [8, 1, True, True]


def test_every_command_is_registered_by_the_module_named_for_it() -> None:
    def choices(parser: argparse.ArgumentParser) -> set[str]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return set(sub.choices)

    assert choices(build_parser()) == set(COMMANDS)  # --help lists every command, and the map is complete
    for command in COMMANDS:
        assert command in choices(build_parser(command)), command


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["verify", "-c", "x.yaml"], "verify"),
        (["--version"], None),
        ([], None),
        (["nosuch"], None),
        (["lab", "up", "--branches", "3"], "lab"),
    ],
)
def test_the_command_is_the_first_word_that_is_not_an_option(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command


def test_the_tasks_face_gives_the_task_whatever_was_imported_first() -> None:
    """`gather` and `converge` name a module and its task: the face gives the task, before and after the
    module itself was imported, and `from ikefleet.tasks import pki` still gives the module."""
    code = (
        "import json, sys, types\n"
        "import ikefleet.tasks.converge\n"
        "import ikefleet.tasks as face\n"
        "from ikefleet.tasks import converge, gather, pki, read_export\n"
        "import ikefleet.tasks.gather\n"
        "names = (converge, gather, face.converge, face.gather, pki, read_export)\n"
        "kinds = [type(x).__name__ for x in names]\n"
        "print(json.dumps(kinds + [sys.modules['ikefleet.tasks.gather'].gather is face.gather,\n"
        "                          all(hasattr(face, n) for n in face.__all__)]))\n"
    )
    assert _printed(code) == ["function", "function", "function", "function", "module", "function",
                              True, True]


@pytest.mark.parametrize(("fmt", "rich"), [("json", False), ("junit", False), ("console", True)])
def test_rich_loads_only_for_a_console_report(fmt: str, rich: bool) -> None:
    """`compliance` (JSON for cron) and the other file formats draw nothing on a terminal: no rich."""
    verify_tests = Path(__file__).parent / "verify"
    code = (
        "import contextlib, io, json, sys\n"
        f"sys.path.insert(0, {str(verify_tests)!r})\n"
        "from recorded import report\n"
        "import ikefleet.runbooks.verify as runbook\n"
        "class Judged:  # a run that read a compliant lab\n"
        "    def __init__(self, *args, **kwargs): pass\n"
        "    def run(self): return report({})\n"
        "runbook.Verify = Judged\n"
        "from ikefleet.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    rc = main(['verify', '--format', {fmt!r}, '--no-history', '--quiet'])\n"
        "print(json.dumps([rc, bool(out.getvalue()), 'rich' in sys.modules]))\n"
    )
    assert _printed(code) == [0, True, rich]


def test_a_verify_without_history_loads_neither_the_database_nor_sqlite3(tmp_path: Path) -> None:
    """`--no-history` (the benches' and many a cron's run): the history's modules and sqlite3 are not loaded,
    the whole run through (set-up, the reads, the verdict, the report); the routers' reads are stood in for
    (every router unreachable), the rest is the real command."""
    from fleet_factory import write_inventory

    config = write_inventory(tmp_path)
    code = (
        "import contextlib, io, json, sys\n"
        "import ikefleet.runbooks.verify as runbook\n"
        "from ikefleet.verify.gather import HostState\n"
        "def gather(self, *processors):  # every router unreachable: no network\n"
        "    return {h: HostState(h, error='connection refused') for h in self.hosts()}\n"
        "runbook.Verify.gather = gather\n"
        "from ikefleet.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):\n"
        f"    rc = main(['verify', '-c', {str(config)!r}, '--no-history', '--quiet', '--format', 'json'])\n"
        "report = json.loads(out.getvalue())\n"
        "print(json.dumps([rc, sorted(report['hosts']),\n"
        "                  [m for m in ('sqlite3', 'ikefleet.verify.history') if m in sys.modules]]))\n"
    )
    rc, hosts, loaded = _printed(code)
    assert rc == 2  # no router reachable: the run could not happen (the report still written)
    assert hosts == ["R1", "R2"]  # judged and reported
    assert loaded == []
