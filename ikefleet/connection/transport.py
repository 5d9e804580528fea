"""The SSH transport below netmiko: the TCP socket a session runs on and the host key a router offers.

The lowest layer of a connection, shared by the host-key pinning (`hostkeys`), the jump-host routes (`jump`)
and the session opening (`opening`), so none of them imports another for it.
"""

from __future__ import annotations

import socket
from typing import Any

import paramiko


def tcp_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to a router reached directly, with Nagle's algorithm off. paramiko leaves it on,
    and then each small write that follows another waits for the peer's delayed ACK: about 40 ms per key
    exchange and per command (a key exchange with the lab: 43 ms with Nagle, 2 ms without)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def offered_key(host: str, port: int, timeout: float = 10.0, sock: Any = None) -> paramiko.PKey:
    """The host key the SSH server presents (key exchange only, no authentication)."""
    sock = sock or tcp_socket(host, port, timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    finally:
        transport.close()
