"""The command line as a newcomer meets it: a version, a description on every subcommand, output piped into
`head`, a second `lab up`."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from ikefleet.cli import build_parser, main
from ikefleet.lab import control

ROOT = Path(__file__).resolve().parent.parent


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"ikefleet {version('ikefleet')}"


def test_every_subcommand_has_a_description() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name, parser in sub.choices.items() if not parser.description]
    assert not missing


def test_output_into_a_closed_pipe_is_no_traceback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ikefleet", "plan", "--json", "-c", str(ROOT / "config.yaml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader (`head`) is gone before the plan is written
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 0


def test_lab_up_on_a_running_lab_says_how_to_stop_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(control, "request", lambda *a, **k: {"routers": []})  # a lab answers
    assert main(["lab", "up", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already running" in err and "ikefleet lab down --dir" in err


def test_the_demo_passes_in_seconds_and_says_its_time_scale(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command: the lab makes keys at 1/100 of a real router's time (at real time the
    hub's 4096-bit keys alone took minutes), and the output says so."""
    assert main(["demo", "--branches", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines at the console's width
    assert "key generation at 0.01 of a real router's time" in out and "demo passed" in out
