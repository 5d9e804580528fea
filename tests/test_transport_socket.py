"""The session's TCP socket (connection/transport.py) reads ahead: what arrived together is taken in by one
system call and handed to paramiko piece by piece, the byte stream unchanged."""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
from collections.abc import Iterator

import pytest

from ikefleet.connection.transport import tcp_socket


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(the router's end, the client's end made by tcp_socket) over loopback."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = tcp_socket("127.0.0.1", server.getsockname()[1], timeout=2.0)
        router, _ = server.accept()
    with router, client:
        yield router, client


def _unread(sock: socket.socket) -> int:
    """Bytes the kernel still holds for the socket (FIONREAD)."""
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0])


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        data += sock.recv(n - len(data))
    return data


def test_what_arrived_together_is_read_in_one_system_call(pair: tuple[socket.socket, socket.socket]) -> None:
    router, client = pair
    stream = bytes(range(256)) * 40  # several SSH packets' worth, sent together
    router.sendall(stream)
    first = _recv_exactly(client, 16)  # paramiko's first block of a packet
    assert first == stream[:16]
    assert _unread(client) == 0  # the rest came in with that read: no system call for the next pieces
    rest = b"".join(_recv_exactly(client, n) for n in (4000, 32, 1000, len(stream) - 5048))
    assert first + rest == stream


def test_pieces_across_reads_keep_the_stream_and_its_end(pair: tuple[socket.socket, socket.socket]) -> None:
    router, client = pair
    sent = b"SSH-2.0-ROSSSH\r\n" + b"a" * 100
    router.sendall(sent)
    assert _recv_exactly(client, 10) == sent[:10]
    router.sendall(b"b" * 50)  # comes after what was read ahead
    assert _recv_exactly(client, len(sent) - 10 + 50) == sent[10:] + b"b" * 50
    router.close()
    assert client.recv(16) == b""  # the peer's close reads as paramiko expects it


def test_a_silent_router_is_a_timeout_as_before(pair: tuple[socket.socket, socket.socket]) -> None:
    _, client = pair
    assert client.gettimeout() == 2.0
    assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    client.settimeout(0.05)  # as paramiko's transport sets it
    with pytest.raises(TimeoutError):
        client.recv(16)
