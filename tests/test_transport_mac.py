"""The SSH packet MAC check ikefleet's sessions run (connection/transport.py `mac_check`): the same
constant-time comparison as paramiko's, in C, and a tampered packet is still refused."""

from __future__ import annotations

import hashlib
import hmac
import socket

import paramiko
import paramiko.util
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from paramiko.message import Message
from paramiko.packet import Packetizer

import ikefleet.connection.opening  # noqa: F401 (what a run imports before it opens a session)

KEY, IV, MAC_KEY = bytes(range(16)), bytes(16), bytes(range(32))


def _pair() -> tuple[Packetizer, Packetizer, socket.socket, socket.socket]:
    """A sending and a receiving packetizer over a socket pair, aes128-ctr + hmac-sha2-256 (what paramiko
    negotiates with a RouterOS 6 router offering sha2 MACs)."""
    left, right = socket.socketpair()
    right.settimeout(5)
    out, inn = Packetizer(left), Packetizer(right)
    cipher = Cipher(algorithms.AES(KEY), modes.CTR(IV))
    out.set_outbound_cipher(cipher.encryptor(), 16, hashlib.sha256, 32, MAC_KEY, sdctr=True)
    inn.set_inbound_cipher(cipher.decryptor(), 16, hashlib.sha256, 32, MAC_KEY)
    return out, inn, left, right


def _message() -> Message:
    m = Message()
    m.add_byte(bytes([paramiko.common.MSG_IGNORE]))
    m.add_string("ikefleet")
    return m


def test_sessions_compare_macs_with_the_constant_time_c_comparison() -> None:
    assert paramiko.util.constant_time_bytes_eq is hmac.compare_digest
    assert paramiko.util.constant_time_bytes_eq(b"\x01" * 32, b"\x01" * 32)
    assert not paramiko.util.constant_time_bytes_eq(b"\x01" * 32, b"\x01" * 31 + b"\x02")
    assert not paramiko.util.constant_time_bytes_eq(b"\x01" * 32, b"\x01" * 20)


def test_a_packet_with_its_mac_intact_is_read() -> None:
    out, inn, left, right = _pair()
    try:
        out.send_message(_message())
        kind, message = inn.read_message()
        assert kind == paramiko.common.MSG_IGNORE
        assert message.get_text() == "ikefleet"
    finally:
        left.close()
        right.close()


def test_a_packet_with_a_tampered_mac_is_refused() -> None:
    out, inn, left, right = _pair()
    sent: list[bytes] = []
    out.write_all = sent.append  # type: ignore[method-assign]  # keep the packet to tamper with it
    try:
        out.send_message(_message())
        packet = sent[0][:-1] + bytes([sent[0][-1] ^ 1])  # the MAC's last byte flipped
        left.sendall(packet)
        with pytest.raises(paramiko.SSHException, match="Mismatched MAC"):
            inn.read_message()
    finally:
        left.close()
        right.close()
