"""The lab's SSH server offers RouterOS's algorithm lists (ikefleet/lab/ssh_algorithms.py), not asyncssh's
defaults: a client negotiates what it would with a real router, and pays for it."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import paramiko
import pytest

from ikefleet.lab.manager import Lab


@pytest.fixture(scope="module", params=["6.49.2", "7.16.1"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("lab"), branches=1, version=request.param) as started:
        yield started


class _KexName(logging.Handler):
    seen = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Kex: "):
            self.seen = record.getMessage()[5:]


def test_paramiko_negotiates_the_group_exchange_and_hmac_sha1(lab: Lab) -> None:
    """paramiko alone knows curve25519 only as `curve25519-sha256@libssh.org`, so on v7 too it takes the group
    exchange, as it did against a real v7 router (docs/routeros-ssh.md S11)."""
    spec = lab.spec("hub")
    handler = _KexName()
    logger = logging.getLogger("paramiko.transport")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    transport = paramiko.Transport(socket.create_connection((spec.host, spec.port)))
    try:
        transport.start_client(timeout=10)
        assert handler.seen == "diffie-hellman-group-exchange-sha256"
        assert (transport.local_cipher, transport.local_mac) == ("aes128-ctr", "hmac-sha1")
    finally:
        transport.close()
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_curve25519_is_offered_by_v7_only_and_no_modern_macs_nor_ciphers(lab: Lab) -> None:
    spec = lab.spec("hub")

    async def login(**algs: list[str]) -> None:
        async with asyncssh.connect(spec.host, spec.port, username=spec.username, password=spec.password,
                                    known_hosts=None, gss_host=None, **algs):
            pass

    # Both ends find no match; the client raises its own refusal, or sees the server's close first.
    refused = (asyncssh.KeyExchangeFailed, asyncssh.ConnectionLost)
    with pytest.raises(refused):
        asyncio.run(login(kex_algs=["curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
                                    "mlkem768x25519-sha256"]))
    if lab.spec("hub").version.startswith("7."):
        asyncio.run(login(kex_algs=["curve25519-sha256"]))
    else:
        with pytest.raises(refused):
            asyncio.run(login(kex_algs=["curve25519-sha256"]))
    with pytest.raises(refused):
        asyncio.run(login(mac_algs=["hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com"]))
    with pytest.raises(refused):
        asyncio.run(login(encryption_algs=["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]))
    asyncio.run(login(kex_algs=["diffie-hellman-group14-sha1"], mac_algs=["hmac-md5"]))


def test_the_offer_is_data_per_major_version() -> None:
    from ikefleet.lab import ssh_algorithms

    for major, first in ((6, "diffie-hellman-group-exchange-sha256"), (7, "curve25519-sha256")):
        options = ssh_algorithms.listen_options(major)
        assert options["kex_algs"][0] == first
        assert "diffie-hellman-group-exchange-sha256" in options["kex_algs"]
        assert options["mac_algs"] == ["hmac-sha1", "hmac-md5"]
        options["kex_algs"].clear()
        assert ssh_algorithms.listen_options(major)["kex_algs"]  # callers get copies


def test_a_lab_serving_routeros_key_exchange_prints_no_deprecation_warning(tmp_path: Path) -> None:
    """`cryptography` deprecates finite-field DH, which the lab must serve as RouterOS does: the lab's
    process (what `ikefleet lab up` runs) says nothing of it, even with every warning shown."""
    code = (
        "import sys, paramiko\n"
        "from pathlib import Path\n"
        "from ikefleet.lab.manager import Lab\n"
        "with Lab.start(Path(sys.argv[1]), branches=1) as lab:\n"
        "    spec = lab.spec('hub')\n"
        "    client = paramiko.SSHClient()\n"
        "    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())\n"
        "    client.connect(spec.host, spec.port, spec.username, spec.password, look_for_keys=False,\n"
        "                   allow_agent=False)\n"
        "    print('logged in', flush=True)\n"
        "    client.close()\n"
    )
    done = subprocess.run([sys.executable, "-W", "always", "-c", code, str(tmp_path / "lab")],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "logged in"
    assert "finite fields" not in done.stderr, done.stderr[-2000:]
