"""The SSH transport below netmiko: the TCP socket a session runs on and the host key a router offers.

The lowest layer of a connection, shared by the host-key pinning (`hostkeys`), the jump-host routes (`jump`)
and the session opening (`opening`), so none of them imports another for it.
"""

from __future__ import annotations

import socket
from typing import Any

import paramiko

from ikefleet.connection import kex

READ_AHEAD = 65536  # bytes one system call may bring in for the packets that follow


class ReadAheadSocket(socket.socket):
    """A TCP socket whose `recv` takes in what has arrived, up to READ_AHEAD bytes, and hands it out as
    asked. paramiko's transport thread asks for each SSH packet in two or three pieces (the first block,
    the rest, the MAC), each a poll and a read system call that also gives up and takes back the GIL; what
    a router sends together (its packets of one reply) now costs one read. Only the transport thread reads
    (paramiko: one reader per transport), with plain `recv` calls; everything else is the socket's own."""

    __slots__ = ("_ahead", "_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead, self._at = b"", 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self._at < len(self._ahead):  # what came with an earlier read first, without a system call
            chunk = self._ahead[self._at : self._at + bufsize]
            self._at += len(chunk)
            if self._at == len(self._ahead):  # (not kept for the session's life)
                self._ahead, self._at = b"", 0
            return chunk
        data = super().recv(max(bufsize, READ_AHEAD), flags)
        if len(data) <= bufsize:
            return data
        self._ahead, self._at = data, bufsize
        return data[:bufsize]


def tcp_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to a router reached directly, with Nagle's algorithm off, reading ahead
    (ReadAheadSocket). paramiko leaves Nagle on, and then each small write that follows another waits for
    the peer's delayed ACK: about 40 ms per key exchange and per command (a key exchange with the lab:
    43 ms with Nagle, 2 ms without)."""
    plain = socket.create_connection((host, port), timeout=timeout)
    sock = ReadAheadSocket(plain.family, plain.type, plain.proto, fileno=plain.detach())
    sock.settimeout(timeout)  # (a socket made from a descriptor takes the default timeout, not the fd's mode)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def offered_key(host: str, port: int, timeout: float = 10.0, sock: Any = None) -> paramiko.PKey:
    """The host key the SSH server presents (key exchange only, no authentication), through the same
    key exchange as the session's (`kex.Transport`)."""
    sock = sock or tcp_socket(host, port, timeout)
    transport = kex.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    finally:
        transport.close()
