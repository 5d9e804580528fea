"""The client's group exchange against RouterOS's key exchange lists (the lab offers them): negotiated
through ikefleet's own transport, with OpenSSH's short private exponent, and the session works."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import gmpy2
import paramiko
import pytest
from nornir.core.task import Result, Task
from paramiko.kex_curve25519 import KexCurve25519

from ikefleet.connection import kex
from ikefleet.connection.driver import RouterOSDriver
from ikefleet.connection.transport import offered_key
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.tasks.device import device


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("kex"), branches=1) as lab:
        yield lab


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Each exponent paramiko's client draws in a group exchange: (class, bits of x, bits of p)."""
    seen: list[tuple[str, int, int]] = []
    classes = (paramiko.kex_gex.KexGexSHA256, kex.ShortExponentGex)
    originals = {cls: vars(cls)["_generate_x"] for cls in classes}

    def spy(self: paramiko.kex_gex.KexGexSHA256) -> None:
        originals[type(self)](self)
        assert self.x is not None and self.p is not None
        seen.append((type(self).__name__, self.x.bit_length(), self.p.bit_length()))

    monkeypatch.setattr(paramiko.kex_gex.KexGexSHA256, "_generate_x", spy)
    monkeypatch.setattr(kex.ShortExponentGex, "_generate_x", spy)
    return seen


def _branch_session(lab: Lab) -> tuple[paramiko.Transport, str]:
    """br1's session as a verify opens it (host-key check, login): its transport and its identity read."""
    nr = init_nornir(lab.directory / "config.yaml")
    seen: dict[str, Any] = {}

    def task(task: Task) -> Result:
        conn = device(task).connection
        seen["transport"] = conn.remote_conn.get_transport()
        seen["identity"] = conn.send_command("/system identity print")
        return Result(host=task.host)

    try:
        nr.filter(name="br1").run(task=task, raise_on_error=True)
    finally:
        nr.close_connections(on_failed=True)
    return seen["transport"], seen["identity"]


def test_a_session_negotiates_the_group_exchange_with_openssh_s_exponent_and_works(
    lab: Lab, drawn: list[tuple[str, int, int]]
) -> None:
    """RouterOS's lists leave paramiko GEX-sha256 with aes128-ctr and hmac-sha1: OpenSSH's client draws a
    512-bit exponent there (20 bytes needed, raised to 256 bits, doubled). The version read after the login
    is the proof that both sides derived the same keys."""
    transport, identity = _branch_session(lab)
    assert type(transport) is kex.Transport
    assert (transport.local_cipher, transport.local_mac) == ("aes128-ctr", "hmac-sha1")
    assert "name: br1" in identity
    assert drawn and set(drawn) == {("ShortExponentGex", 512, 2048)}  # the host-key check's and the session's


@pytest.fixture(scope="module")
def lab7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("kex7"), branches=1, version="7.16.1") as lab:
        yield lab


def test_a_v7_session_takes_curve25519_under_its_rfc_name_and_works(
    lab7: Lab, drawn: list[tuple[str, int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RouterOS 7 offers `curve25519-sha256` (docs/routeros-ssh.md S11, S12), which paramiko knows only as
    `curve25519-sha256@libssh.org`; ikefleet's transport takes it, so no group exchange is drawn, and the
    session's reads work on the keys it derived."""
    curves: list[paramiko.Transport] = []
    start_kex = KexCurve25519.start_kex

    def started(self: KexCurve25519) -> None:
        curves.append(self.transport)
        start_kex(self)

    monkeypatch.setattr(KexCurve25519, "start_kex", started)
    transport, identity = _branch_session(lab7)
    assert transport in curves and all(type(t) is kex.Transport for t in curves)
    assert "name: br1" in identity
    assert drawn == []  # neither the host-key check nor the session drew a group-exchange exponent
    assert kex.Transport._preferred_kex.index(kex.CURVE25519) < kex.Transport._preferred_kex.index(kex.GEX)


def test_the_host_key_precheck_takes_the_same_exchange(lab: Lab, drawn: list[tuple[str, int, int]]) -> None:
    spec = lab.spec("hub")
    assert offered_key(spec.host, spec.port).get_name() == "ssh-rsa"
    assert drawn == [("ShortExponentGex", 512, 2048)]


def test_other_paramiko_clients_keep_paramiko_s_exchange(lab: Lab, drawn: list[tuple[str, int, int]]) -> None:
    """No global change: a plain paramiko Transport (anyone else's in the process) draws its own exponent."""
    spec = lab.spec("hub")
    transport = paramiko.Transport((spec.host, spec.port))
    try:
        transport.start_client(timeout=30)
    finally:
        transport.close()
    assert len(drawn) == 1 and drawn[0][0] == "KexGexSHA256" and drawn[0][1] > 2000


def test_the_driver_hands_paramiko_the_transport_for_a_jump_host_s_socket_too(tmp_path: Path) -> None:
    """Behind a jump host netmiko's `sock` is a ProxyCommand; the transport factory goes with it."""
    proxy = paramiko.ProxyCommand("cat")
    try:
        driver = RouterOSDriver(host="r1", username="u", password="p", sock=proxy, auto_connect=False)
        params = driver._connect_params_dict()
    finally:
        proxy.close()
    assert params["transport_factory"] is kex.Transport and params["sock"] is proxy


@pytest.mark.parametrize(("cipher", "mac", "need", "exponent"), [
    ("aes128-ctr", "hmac-sha1", 160, 512),  # RouterOS's defaults: 20 bytes of MAC key, raised to 256 bits
    ("aes256-ctr", "hmac-sha2-256", 256, 512),
    ("aes192-ctr", "hmac-sha2-512", 512, 1024),  # strong-crypto's kind of choice
    ("aes256-gcm@openssh.com", None, 256, 512),  # an AEAD cipher has no MAC
])
def test_the_exponent_is_twice_what_the_cipher_and_mac_need(cipher: str, mac: str | None, need: int,
                                                             exponent: int) -> None:
    agreed = type("Agreed", (), {})()
    vars(agreed).update(local_cipher=cipher, remote_cipher=cipher, local_mac=mac, remote_mac=mac)
    assert kex.need_bits(cast(paramiko.Transport, agreed)) == need
    assert kex.exponent_bits(need, 2048) == exponent


def test_the_exponent_stays_below_a_small_group_s_size() -> None:
    assert kex.exponent_bits(1024, 2048) == 2047
    assert kex.exponent_bits(160, 1024) == 512


def test_paramiko_s_powers_run_in_gmp(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """x is a GMP integer, so paramiko's own `pow(g, x, p)` gives one (computed by GMP, not CPython), and the
    exchange still works: the host key comes back."""
    exchanges: list[kex.ShortExponentGex] = []
    original = vars(kex.ShortExponentGex)["_generate_x"]

    def kept(self: kex.ShortExponentGex) -> None:
        original(self)
        exchanges.append(self)

    monkeypatch.setattr(kex.ShortExponentGex, "_generate_x", kept)
    spec = lab.spec("hub")
    assert offered_key(spec.host, spec.port).get_name() == "ssh-rsa"
    [exchange] = exchanges
    assert isinstance(exchange.x, gmpy2.mpz) and isinstance(exchange.e, gmpy2.mpz)


@pytest.fixture
def stalling_server() -> Iterator[tuple[str, int]]:
    """An SSH server that sends its banner, then takes in whatever comes and never answers (a router whose
    SSH daemon stalls in the key exchange)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                accepted.append(conn)
                conn.sendall(b"SSH-2.0-ROSSSH\r\n")
                threading.Thread(target=_drain, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[:2]
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


def _drain(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


def _handshake_error(cls: type[paramiko.Transport], address: tuple[str, int],
                     timeout: float) -> tuple[str, float]:
    transport = cls(socket.create_connection(address))
    transport.handshake_timeout = timeout
    start = time.monotonic()
    try:
        with pytest.raises(BaseException) as raised:  # (a deadline never met: start_client returns at 10 s)
            transport.start_client(timeout=10)
        return repr(raised.value), time.monotonic() - start
    finally:
        transport.close()


def test_a_stalled_key_exchange_fails_as_paramiko_s_does_within_the_handshake_timeout(
    stalling_server: tuple[str, int],
) -> None:
    """The handshake timeout as a deadline: the same error as paramiko's timer gives, and no later."""
    theirs, _ = _handshake_error(paramiko.Transport, stalling_server, 0.3)
    ours, took = _handshake_error(kex.Transport, stalling_server, 0.3)
    assert ours == theirs == "EOFError()"
    assert 0.3 <= took < 2.0  # (paramiko looks at it between socket waits of 0.1 s; a loaded machine lags)


def test_no_thread_is_started_for_the_handshake_timeout(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """paramiko's packetizer starts a threading.Timer per connection for it; ikefleet's transport does not,
    and its handshake completes (the host key comes back)."""
    timers: list[object] = []

    class Spy(threading.Timer):
        def start(self) -> None:
            timers.append(self)
            super().start()

    monkeypatch.setattr(threading, "Timer", Spy)
    spec = lab.spec("hub")
    assert offered_key(spec.host, spec.port).get_name() == "ssh-rsa"
    assert timers == []
    packetizer = kex.DeadlinePacketizer(socket.socket())
    try:
        packetizer.start_handshake(60)
        assert not packetizer.handshake_timed_out()
        packetizer.complete_handshake()
        assert not packetizer.handshake_timed_out()
    finally:
        packetizer.close()


@pytest.mark.parametrize("secret", [
    2, 127, 128, 255, 256, 2**2047, 2**2048 - 1, 2**2047 - 1, 2**2040 + 12345,
    gmpy2.mpz(2**2047 + 99), *(random.Random(seed).getrandbits(2048) for seed in range(20)),
], ids=lambda secret: f"{int(secret).bit_length()}-bits")
def test_the_shared_secret_is_written_as_paramiko_writes_it_without_its_python_loop(
    secret: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K as an mpint: the same bytes as paramiko's `Message.add_mpint`, in C rather than paramiko's
    32-bits-at-a-time `deflate_long` (six times a key exchange)."""
    theirs = paramiko.Message()
    theirs.add_mpint(secret)
    transport = kex.Transport(socket.socket())
    try:
        transport.K = secret
        monkeypatch.setattr(paramiko.util, "deflate_long", None)  # (any call would fail)
        ours = paramiko.Message()
        transport._add_K(ours)
    finally:
        transport.close()
    assert ours.asbytes() == theirs.asbytes()


def test_a_string_secret_is_still_paramiko_s_to_write() -> None:
    transport = kex.Transport(socket.socket())
    try:
        cast(Any, transport).K = b"\x01" * 32  # (a hybrid exchange's K; not in paramiko's stubs)
        ours, theirs = paramiko.Message(), paramiko.Message()
        transport._add_K(ours)
        theirs.add_string(b"\x01" * 32)
    finally:
        transport.close()
    assert ours.asbytes() == theirs.asbytes()
