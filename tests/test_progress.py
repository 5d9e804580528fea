"""Live progress (issue 21 point 1) and the processors that produce it (issue 20): the events of a lab
rollout and a lab verify, rendered as plain lines, as a rich live display on a forced terminal, and through
the CLI on a pipe (no escape codes) and with --quiet (only the report)."""

from __future__ import annotations

import itertools
import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO

import pytest
from rich.console import Console
from tests_support import fast_keys

from ikefleet.cli.lines import Lines
from ikefleet.cli.live import LiveView
from ikefleet.lab.manager import Lab
from ikefleet.processors.events import Event, HostDone
from ikefleet.processors.progress import SLOW_AFTER_S

ESCAPE = re.compile(r"\x1b")
LEFT = re.compile(r"\((\d+)s left\)$")


def replay(events: list[Event]) -> list[str]:
    lines: list[str] = []
    sink = Lines(lines.append)
    for event in events:
        sink(event)
    return lines


class Rolled:
    """A lab rolled out once with a gate that has to wait (tunnels come up 2 s after the last change), its
    events, and what results.jsonl held when each host's HostDone event arrived."""

    def __init__(self, lab: Lab) -> None:
        from ikefleet.runbooks.rollout import Rollout, RolloutOptions

        self.lab = lab
        self.events: list[Event] = []
        self.recorded_at_done: dict[str, list[str]] = {}
        self.summary = Rollout(RolloutOptions(lab.directory / "config.yaml", gate_timeout_s=60.0),
                               progress=self.sink).run()

    def sink(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, HostDone):
            runs = sorted((self.lab.directory / ".ikefleet" / "runs").iterdir())
            results = runs[-1] / "results.jsonl"
            text = results.read_text() if results.exists() else ""
            self.recorded_at_done[event.host] = [json.loads(line)["host"] for line in text.splitlines()]


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rolled]:
    with Lab.start(tmp_path_factory.mktemp("progress") / "lab", branches=2, convergence_delay=2.0) as lab:
        fast_keys(lab.directory)
        yield Rolled(lab)


def test_plain_lines_of_a_lab_rollout_show_waves_counts_and_the_gate(rolled: Rolled) -> None:
    assert not rolled.summary.failed, rolled.summary.hosts
    lines = replay(rolled.events)
    assert lines[0] == "rollout: rolling out to 3 router(s)"
    assert "hub: changed [1/3 done, 1 changed, 0 failed]" in lines
    assert "wave 1/2: br1" in lines and "wave 2/2: br2" in lines
    assert "br1: changed [2/3 done, 2 changed, 0 failed]" in lines
    assert "br2: changed [3/3 done, 3 changed, 0 failed]" in lines
    assert "gate: waiting up to 60s for br1 to pass verify's checks" in lines
    wave2 = lines.index("wave 2/2: br2")
    gate = [line for line in lines[:wave2] if line.startswith("gate: br1 ")]
    # the tunnel takes 2 s to come up: the gate shows br1 waiting with its layers, then passing
    assert gate[0].startswith("gate: br1 waiting: IKE ") and "OSPF " in gate[0] and "BFD " in gate[0], gate
    assert gate[-1].startswith("gate: br1 passes: IKE ok, SAs ok, OSPF ok, BFD ok"), gate
    left = [int(m.group(1)) for line in gate if (m := LEFT.search(line))]
    assert len(left) == len(gate) and all(0 < s <= 60 for s in left) and left == sorted(left, reverse=True)
    # a line per change, not per poll (the gate polls every 0.5 s for ~2 s)
    states = [LEFT.sub("", line) for line in gate]
    assert all(a != b for a, b in itertools.pairwise(states)), gate
    assert lines.index("wave 1/2: br1") < lines.index(gate[0]) < wave2
    # after the last wave, br1 is gated again (wave 2 changed the hub): one line, passing at once
    again = lines.index("gate again: 1 branch(es) of earlier waves, after the later waves")
    assert again > wave2, lines
    assert [LEFT.sub("", line) for line in lines[again:] if line.startswith("gate: br1 ")] == [
        LEFT.sub("", "gate: br1 passes: IKE ok, SAs ok, OSPF ok, BFD ok (60s left)")], lines[again:]


def test_each_branch_is_in_results_jsonl_as_soon_as_its_task_completes(rolled: Rolled) -> None:
    """The run-record processor writes a branch's line when its task completes: it is there when its
    HostDone event arrives, before the wave's gate (results.jsonl content is unchanged: test_rollout)."""
    assert rolled.recorded_at_done["br1"] == ["hub", "br1"]
    # the hub again before wave 2: it added br2, whose key it made in the background (issue 19.3)
    assert rolled.recorded_at_done["br2"] == ["hub", "br1", "hub", "br2"]


def test_the_rich_live_display_shows_wave_counts_and_gate_on_a_terminal(rolled: Rolled) -> None:
    out = StringIO()
    view = LiveView(Console(force_terminal=True, file=out, width=100))
    with view.live:
        for event in rolled.events:
            view(event)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "\x1b[" in out.getvalue()  # a terminal's display
    assert "wave 1/2: br1" in text and "wave 2/2: br2" in text
    assert "3/3 done, 3 changed, 0 failed" in text
    assert re.search(r"gate: \d+s left", text), text
    assert re.search(r"br1 +\S+ +\S+ +\S+ +\S+ +waiting", text), text  # the gate's table, branch by branch
    assert re.search(r"br2 +ok +ok +ok +ok +passes", text), text
    assert "IKE" in text and "OSPF" in text and "BFD" in text


def test_the_gate_timing_out_is_a_line_with_the_time_it_waited(rolled: Rolled) -> None:
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    lab = rolled.lab
    lab.fault("br2", "wan-down")
    lab.settle()
    try:
        lines: list[str] = []
        options = RolloutOptions(lab.directory / "config.yaml", gate_timeout_s=3.0, limit=("br2",))
        summary = Rollout(options, progress=Lines(lines.append)).run()
    finally:
        lab.clear_faults("br2")
        lab.settle()
    assert summary.failed == ["br2"]
    assert "gate: timed out after 3s: br2 not passing verify's checks" in lines, lines
    waiting = [line for line in lines if line.startswith("gate: br2 waiting: IKE fail")]
    assert len(waiting) == 1, lines
    failed = [line for line in lines if line.startswith("br2: failed (gate failed")]
    assert failed and failed[-1].endswith("[1/1 done, 0 changed, 1 failed]"), lines


def test_plain_lines_of_a_lab_verify_count_reads_and_name_the_slow_router(rolled: Rolled) -> None:
    from ikefleet.runbooks.verify import Verify, VerifyOptions

    lab = rolled.lab
    lab.fault("br1", "login-delay", int((SLOW_AFTER_S + 1.5) * 1000))
    try:
        lines: list[str] = []
        Verify(VerifyOptions(lab.directory / "config.yaml", record=False), Lines(lines.append)).run()
    finally:
        lab.clear_faults("br1")
    assert lines[0] == "verify: reading 3 router(s)"
    slow = f"br1: still reading after {SLOW_AFTER_S:.0f}s"
    assert slow in lines, lines
    assert lines[-1] == "br1: read [3/3 read]", lines  # the slow one finishes last
    assert {line.split(":")[0] for line in lines[1:3]} == {"hub", "br2"}, lines
    assert lines[1].endswith(": read [1/3 read]") and lines[2].endswith(": read [2/3 read]"), lines
    assert lines.index(slow) > 2
    assert [line for line in lines if "still" in line] == [slow]  # the fast ones are not named


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as cron or CI runs it: standard output and error are pipes."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "CLICOLOR_FORCE", "COLUMNS")}
    return subprocess.run([sys.executable, "-m", "ikefleet", *argv], capture_output=True, text=True,
                          timeout=300, env=env)


def test_on_a_pipe_progress_is_plain_lines_and_quiet_prints_only_the_report(rolled: Rolled) -> None:
    config = str(rolled.lab.directory / "config.yaml")
    verify = cli("verify", "-c", config, "--no-history")
    assert verify.returncode == 0, verify.stderr
    assert not ESCAPE.search(verify.stdout + verify.stderr)
    err = verify.stderr.splitlines()
    assert err[0] == "verify: reading 3 router(s)" and err[-1].endswith("[3/3 read]"), err
    assert "COMPLIANT" in verify.stdout

    rollout = cli("rollout", "-c", config)
    assert rollout.returncode == 0, rollout.stderr
    assert not ESCAPE.search(rollout.stdout + rollout.stderr)
    err = rollout.stderr.splitlines()
    # converged: every branch judged in the one pass, none in a wave
    assert "br2: unchanged [3/3 done, 0 changed, 0 failed]" in err, err
    assert not any(line.startswith("wave ") for line in err), err
    assert "rollout summary" in rollout.stdout

    for argv in (("verify", "-c", config, "--no-history", "--quiet"), ("rollout", "-c", config, "--quiet")):
        quiet = cli(*argv)
        assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
        assert "COMPLIANT" in quiet.stdout or "rollout summary" in quiet.stdout


def test_a_terminal_gets_the_live_display_a_pipe_plain_lines_and_quiet_nothing() -> None:
    from ikefleet.cli.progress import shown
    from ikefleet.processors.events import RunStarted

    events: list[Event] = [RunStarted("verify", ("hub", "br1")), HostDone("hub", "read")]

    def output(stream_of: str, quiet: bool = False) -> bytes:
        reader, writer = os.openpty() if stream_of == "tty" else os.pipe()
        with open(writer, "w") as stream, shown(quiet, stream) as sink:
            for event in events:
                sink(event)
        chunks = []
        while select.select([reader], [], [], 0.2)[0]:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # a pty whose writer closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(reader)
        return b"".join(chunks)

    tty = output("tty")
    assert b"\x1b[" in tty and b"1/2 read" in tty and b"hub: read [1/2 read]" in tty
    assert output("pipe") == b"verify: reading 2 router(s)\nhub: read [1/2 read]\n"
    assert output("pipe", quiet=True) == b""


def test_a_mixed_v6_v7_fleet_shows_its_gate_and_its_map(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A hub on RouterOS 7 with a v6 and a v7 branch: the gate's per-layer view reads each branch in its own
    dialect (v6 `/routing bfd neighbor`, v7 `/routing bfd session`), and the fleet map shows every router
    compliant."""
    from ikefleet.cli import main
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    directory = tmp_path_factory.mktemp("mixed") / "lab"
    with Lab.start(directory, branches=2, version="7.16.1,6.49.2", convergence_delay=0.5) as lab:
        fast_keys(lab.directory)
        events: list[Event] = []
        summary = Rollout(RolloutOptions(lab.directory / "config.yaml", gate_timeout_s=60.0),
                          progress=events.append).run()
        assert not summary.failed, summary.hosts
        assert {lab.spec(n).version for n in ("hub", "br1", "br2")} == {"7.16.1", "6.49.2"}
        lines = replay(events)
        for branch in ("br1", "br2"):
            passing = [line for line in lines if line.startswith(f"gate: {branch} passes: ")]
            assert passing and "BFD ok" in passing[-1], [line for line in lines if branch in line]
        lab.settle()
        out = lab.directory / "fleet.html"
        assert main(["verify", "-c", str(lab.directory / "config.yaml"), "--quiet", "--format", "html",
                     "--output", str(out)]) == 0
        match = re.search(r'<script id="data" type="application/json">(.*?)</script>', out.read_text(), re.S)
        assert match
        states = {n["name"]: n["state"] for n in json.loads(match.group(1))["nodes"]}
        assert states == {"hub": "compliant", "br1": "compliant", "br2": "compliant"}
