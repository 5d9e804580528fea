"""bench/wan.py, the WAN mode's relay: every chunk held N ms each way, and the request->reply turns counted
per router (bench/run.py --wan-ms prints them as the sequential round trips of each phase)."""

from __future__ import annotations

import json
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_relay_delays_each_way_and_counts_turns(echo: int, tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"r1": ["127.0.0.1", echo]}))
    relay = subprocess.Popen([sys.executable, str(ROOT / "bench" / "wan.py"), "--ms", "20", "--targets",
                              str(targets)], stdout=subprocess.PIPE, text=True)
    try:
        assert relay.stdout is not None
        started = json.loads(relay.stdout.readline())
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", started["ports"]["r1"])) as conn:
            for word in (b"one", b"two", b"three"):  # three request -> reply turns
                conn.sendall(word)
                got = b""
                while len(got) < len(word):
                    got += conn.recv(4096)
                assert got == word
        elapsed = time.monotonic() - start
        with socket.create_connection(("127.0.0.1", started["control"])) as control:
            control.sendall(b"take\n")
            counts = json.loads(control.makefile().readline())
            control.sendall(b"take\n")  # taken: the counts start again
            again = json.loads(control.makefile().readline())
    finally:
        relay.kill()
        relay.wait()
    assert counts == {"r1": [1, 4]}  # one connection: its handshake and three turns
    assert again == {}
    assert elapsed >= 4 * 0.040  # each turn waited 20 ms each way (a floor, not a speed)


def test_a_wan_run_prints_the_round_trips_of_each_phase() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--branches", "2", "--wan-ms", "2", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["wan_ms"] == 2 and figures["verify_ok"] is True
    trips = figures["round_trips"]
    assert set(trips) == {"rerun", "verify", "floor"}
    for phase in trips.values():  # every router was reached through its relay, once per phase
        assert phase["hub_connections"] == 1 and phase["branch_connections"] == 1
        assert phase["branch_turns"] > 1 and phase["hub_turns"] > 1
    assert trips["verify"]["branch_commands"] >= 1 and trips["verify"]["login_turns"] >= 1
    assert figures["rerun_wall_rtts"] > 0
