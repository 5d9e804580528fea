"""The lab's routers send their SSH packets as RouterOS does, each one as it is made (docs/routeros-ssh.md
S12, S13), not with asyncssh's empty SSH_MSG_IGNORE before every encrypted packet."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import paramiko
import pytest
from tests_support import read_until

from ikefleet.lab.manager import Lab
from ikefleet.lab.sshd import EMPTY_STRING, SSH_MSG_IGNORE, send_packets_as_routeros

MSG_CHANNEL_DATA = 94


@pytest.fixture(scope="module", params=["6.49.2", "7.16.1"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("packets"), branches=1, version=request.param) as started:
        yield started


def _packets_of_a_session(lab: Lab) -> Counter[int]:
    """The packet types a client receives over a login, a console and one command."""
    spec = lab.spec("hub")
    transport = paramiko.Transport(socket.create_connection((spec.host, spec.port)))
    received: Counter[int] = Counter()
    read_message = transport.packetizer.read_message

    def counted() -> tuple[int, paramiko.Message]:
        ptype, message = read_message()
        received[ptype] += 1
        return ptype, message

    transport.packetizer.read_message = counted  # type: ignore[method-assign]
    try:
        transport.start_client(timeout=30)
        transport.auth_password(spec.username, spec.password)
        channel = transport.open_session()
        channel.get_pty(width=200)
        channel.invoke_shell()
        read_until(channel, b"] > ")
        channel.send(b"/system identity print\r")
        assert b"name: hub" in read_until(channel, b"] > ")
    finally:
        transport.close()
    return received


def test_a_session_brings_no_padding_packets(lab: Lab) -> None:
    received = _packets_of_a_session(lab)
    assert received[MSG_CHANNEL_DATA] >= 2  # (the console's data did come)
    assert received[SSH_MSG_IGNORE] == 0


def test_only_the_empty_ignore_packet_is_left_out() -> None:
    """asyncssh sends its padding through the connection's own `send_packet`; every other packet, an
    SSH_MSG_IGNORE with content included, goes out as it came."""
    sent: list[tuple[int, tuple[bytes, ...], Any]] = []

    class Connection:
        def send_packet(self, pkttype: int, *args: bytes, handler: Any = None) -> None:
            sent.append((pkttype, args, handler))

    conn: Any = Connection()
    send_packets_as_routeros(conn)
    conn.send_packet(SSH_MSG_IGNORE, EMPTY_STRING)
    conn.send_packet(SSH_MSG_IGNORE, b"\x00\x00\x00\x01x")
    conn.send_packet(MSG_CHANNEL_DATA, b"\x00\x00\x00\x00", b"\x00\x00\x00\x02ok", handler="log")
    assert sent == [
        (SSH_MSG_IGNORE, (b"\x00\x00\x00\x01x",), None),
        (MSG_CHANNEL_DATA, (b"\x00\x00\x00\x00", b"\x00\x00\x00\x02ok"), "log"),
    ]
