"""What one SSH login costs the client, per algorithm list a server offers (docs/routeros-ssh.md).

An asyncssh server in its own process on loopback offers one profile's lists (key exchange, host key,
ciphers, MACs); this process logs in N times with paramiko (a Transport, key exchange and password
authentication, as netmiko does) and N times with asyncssh (the floor's client), and prints per login the
client's process CPU (paramiko's key exchange runs in its transport thread, so thread CPU of the caller
would miss it), the server's process CPU and the wall time, and what was negotiated; then the same with
ikefleet's transport (`ikefleet.connection.kex.Transport`: paramiko with OpenSSH's short exponent).
A profile a client cannot log in to prints the client's error instead. Then the modular exponentiation
alone: Python's `pow(2, x, p)` on the 2048-bit group with a full-size exponent (what paramiko draws), a
512-bit one (what OpenSSH and ikefleet draw for aes128-ctr/hmac-sha1) and a 256-bit one; and GMP's powers
in one thread beside pure-Python work in another, with gmpy2 holding or releasing the GIL.

    .venv/bin/python bench/ssh_kex.py                  # every profile, 20 logins each
    .venv/bin/python bench/ssh_kex.py --logins 50 --profiles ros6-rsa-sha2,lab-today
    .venv/bin/python bench/ssh_kex.py --paramiko-disabled '{"kex": ["diffie-hellman-group-exchange-sha256"]}'

`--paramiko-disabled` is paramiko's documented `disabled_algorithms` (what netmiko passes through): to see
whether a client setting makes a real login cheaper.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import secrets
import socket
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import asyncssh
import gmpy2
import paramiko

from ikefleet.connection import kex

# RFC 3526 group 14 (2048-bit MODP): what diffie-hellman-group14-* and a 2048-bit group exchange use.
GROUP14_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD"
    "3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F"
    "24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552"
    "BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF0"
    "6F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)


@dataclass(frozen=True)
class Profile:
    """One server offer. Empty tuples: asyncssh's defaults (the lab today)."""

    host_key: str  # "ssh-rsa" (2048-bit) or "ssh-ed25519"
    kex: tuple[str, ...] = ()
    host_key_algs: tuple[str, ...] = ()
    ciphers: tuple[str, ...] = ()
    macs: tuple[str, ...] = ()
    source: str = ""


ROS6_KEX = (
    "diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
)
ROS6_CIPHERS = (  # the capture's list without `none` (asyncssh cannot offer it)
    "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc",
    "blowfish-cbc", "3des-cbc",
)
ROS6_MACS = ("hmac-sha1", "hmac-md5")
RSA_SHA2 = ("rsa-sha2-256", "rsa-sha2-512", "ssh-rsa")  # order unknown: clients choose by their own order

PROFILES: dict[str, Profile] = {
    "lab-today": Profile("ssh-ed25519", source="asyncssh 2.24 defaults, what ikefleet/lab/sshd.py offers"),
    "ros6-2017": Profile(
        "ssh-rsa", ROS6_KEX, ("ssh-rsa",), ROS6_CIPHERS, ROS6_MACS,
        source="blog.idea4pro.com 2017 `ssh -vvv` (v6, strong-crypto=no); ssh-dss left out",
    ),
    "ros6-rsa-sha2": Profile(
        "ssh-rsa", ROS6_KEX, RSA_SHA2, ROS6_CIPHERS, ROS6_MACS,
        source="as ros6-2017 with RSA SHA-2 signatures (inferred for 6.49.18 from mtscan#10; unverified)",
    ),
    "ros-strong-crypto": Profile(
        "ssh-rsa", ("diffie-hellman-group-exchange-sha256",), RSA_SHA2, ("aes256-ctr", "aes192-ctr"),
        ("hmac-sha2-256", "hmac-sha1"),
        source="kex: forum p=967293, warpgate#1493; ciphers/MACs/host key unverified",
    ),
    "ros7-2024": Profile(
        "ssh-rsa", ("curve25519-sha256", "diffie-hellman-group-exchange-sha256"), ("rsa-sha2-256",),
        ("aes192-ctr", "aes256-ctr", "aes256-gcm@openssh.com"), ("hmac-sha2-256", "hmac-sha2-512"),
        source="netmiko#3421 (2024, a v7 router's whole offer, paramiko 3.4's log; likely strong-crypto)",
    ),
    "group14-sha1-only": Profile(
        "ssh-rsa", ("diffie-hellman-group14-sha1",), RSA_SHA2, ROS6_CIPHERS, ROS6_MACS,
        source="what forum p=967293 says Dropbear gets with strong-crypto=no",
    ),
}


class _AnyPassword(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return True


def _listen_options(profile: Profile, key: asyncssh.SSHKey) -> dict[str, Any]:
    """asyncssh's listen options for a profile. asyncssh has no server option for the host key algorithms
    it offers (it offers every signature algorithm of its keys), so the bench narrows the key pair's own list:
    an attribute of asyncssh's, fine for a bench, not for the lab."""
    keypair = asyncssh.load_keypairs([key])[0]
    if profile.host_key_algs:
        keypair.host_key_algorithms = [alg.encode() for alg in profile.host_key_algs]
    options: dict[str, Any] = {"server_host_keys": [keypair], "gss_host": None}
    for name, value in (("kex_algs", profile.kex), ("encryption_algs", profile.ciphers),
                        ("mac_algs", profile.macs)):
        if value:
            options[name] = list(value)
    return options


def serve(profile: Profile, pipe: Connection) -> None:
    """The server process: listen, send the port, then answer each message with this process's CPU."""

    warnings.simplefilter("ignore")  # cryptography's deprecation notice for finite-field DH

    async def main() -> None:
        size = {"key_size": 2048} if profile.host_key == "ssh-rsa" else {}
        key = asyncssh.generate_private_key(profile.host_key, **size)
        server = await asyncssh.listen("127.0.0.1", 0, server_factory=_AnyPassword,
                                       **_listen_options(profile, key))
        pipe.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def answer() -> None:
            if pipe.recv() == "stop":
                done.set_result(None)
            else:
                pipe.send(time.process_time())

        loop.add_reader(pipe.fileno(), answer)
        await done
        server.close()

    asyncio.run(main())


class _KexName(logging.Handler):
    """Catches paramiko's `Kex: <name>` debug line (the agreed key exchange is not kept on the transport)."""

    name_seen = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Kex: "):
            self.name_seen = message[5:]


PARAMIKO_DISABLED: dict[str, list[str]] = {}  # --paramiko-disabled


def paramiko_login(port: int, kex_name: _KexName | None = None,
                   factory: type[paramiko.Transport] = paramiko.Transport) -> str:
    """One paramiko login; returns the negotiated key exchange, host key, cipher and MAC."""
    sock = socket.create_connection(("127.0.0.1", port))
    transport = factory(sock, disabled_algorithms=PARAMIKO_DISABLED or None)
    logger = logging.getLogger("paramiko.transport")
    if kex_name is not None:
        logger.addHandler(kex_name)
        logger.setLevel(logging.DEBUG)
    try:
        transport.start_client(timeout=30)
        transport.auth_password("bench", "bench")
        kex = kex_name.name_seen if kex_name is not None else "?"
        return f"{kex} {transport.host_key_type} {transport.local_cipher} {transport.local_mac}"
    finally:
        transport.close()
        if kex_name is not None:
            logger.removeHandler(kex_name)
            logger.setLevel(logging.CRITICAL)


def paramiko_first_login(port: int) -> str:
    return paramiko_login(port, _KexName())


def ikefleet_login(port: int) -> str:
    return paramiko_login(port, factory=kex.Transport)


def ikefleet_first_login(port: int) -> str:
    return paramiko_login(port, _KexName(), kex.Transport)


def asyncssh_login(port: int) -> str:
    async def login() -> str:
        async with asyncssh.connect("127.0.0.1", port, username="bench", password="bench", known_hosts=None,
                                    gss_host=None, kex_algs=_ALL_KEX) as conn:
            cipher = conn.get_extra_info("send_cipher")
            mac = conn.get_extra_info("send_mac")
            return f"{cipher} {mac}"

    return asyncio.run(login())


# asyncssh's client defaults leave SHA-1 and group1 out; offer everything so its choice is the server's best
_ALL_KEX = [alg.decode() for alg in asyncssh.kex.get_kex_algs() if not alg.startswith(b"gss-")]


def measure(profile: Profile, logins: int, client: Callable[[int], str],
            first: Callable[[int], str] | None = None) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    # fork: the child needs nothing pickled nor this file importable by name (the tests load it by path)
    server = multiprocessing.get_context("fork").Process(target=serve, args=(profile, child), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the bench's SSH server did not start")
        port = parent.recv()
        try:
            # a first login outside the figures (imports, first-use caches); a client's refusal is the result
            negotiated = (first or client)(port)
        except Exception as error:
            return {"error": f"{type(error).__name__}: {error}"}
        parent.send("cpu")
        server_before = parent.recv()
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(logins):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            client(port)
            cpu.append(time.process_time() - cpu_start)
            wall.append(time.perf_counter() - wall_start)
        parent.send("cpu")
        server_cpu = (parent.recv() - server_before) / logins
        parent.send("stop")
    finally:
        server.join(10)
        if server.is_alive():
            server.kill()
    return {
        "negotiated": negotiated,
        "client_cpu_ms": round(statistics.median(cpu) * 1000, 1),
        "client_cpu_ms_min": round(min(cpu) * 1000, 1),
        "server_cpu_ms": round(server_cpu * 1000, 1),
        "wall_ms": round(statistics.median(wall) * 1000, 1),
    }


def modexp_ms(bits: int, rounds: int = 20) -> float:
    """Median ms of one `pow(2, x, p)` on the 2048-bit group with a `bits`-bit exponent (pure Python)."""
    times = []
    for _ in range(rounds):
        x = secrets.randbits(bits) | (1 << (bits - 1))
        start = time.process_time()
        pow(2, x, GROUP14_P)
        times.append(time.process_time() - start)
    return round(statistics.median(times) * 1000, 2)


def gmp_beside_python_s(release_gil: bool, powers: int = 400, rounds: int = 7) -> float:
    """Median wall seconds until both of two threads are done: one doing `powers` GMP `pow(2, x, p)` with a
    512-bit x (a login's two, `connection/kex.py`), gmpy2's `allow_release_gil` as given in its own context;
    the other as much pure-Python work. With a spare core, releasing the GIL lets the two overlap; without
    one, each release makes the powers' thread wait to take the GIL back."""

    def gmp() -> None:
        gmpy2.get_context().allow_release_gil = release_gil
        for _ in range(powers):
            pow(2, gmpy2.mpz(secrets.randbits(512) | (1 << 511)), GROUP14_P)

    def python() -> None:
        total = 0
        for _ in range(powers):
            for i in range(20000):
                total += i

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        threads = [threading.Thread(target=gmp), threading.Thread(target=python)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--paramiko-disabled", default="{}", help="paramiko's disabled_algorithms, as JSON")
    args = parser.parse_args(argv)
    PARAMIKO_DISABLED.update(json.loads(args.paramiko_disabled))
    warnings.simplefilter("ignore")  # cryptography's deprecation notice for finite-field DH, once per login
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)  # a refused login's traceback
    results: dict[str, Any] = {
        "load_1min": os.getloadavg()[0],
        "versions": {"paramiko": paramiko.__version__, "asyncssh": asyncssh.__version__},
        "paramiko_disabled": PARAMIKO_DISABLED,
        "modexp_2048_ms": {"exponent_2047_bits": modexp_ms(2047), "exponent_512_bits": modexp_ms(512),
                           "exponent_256_bits": modexp_ms(256)},
        "gmp_beside_python_s": {"holding_gil": gmp_beside_python_s(False),
                                "releasing_gil": gmp_beside_python_s(True)},
        "profiles": {},
    }
    for name in args.profiles.split(","):
        profile = PROFILES[name]
        results["profiles"][name] = {
            "source": profile.source,
            "paramiko": measure(profile, args.logins, paramiko_login, paramiko_first_login),
            "ikefleet": measure(profile, args.logins, ikefleet_login, ikefleet_first_login),
            "asyncssh": measure(profile, args.logins, asyncssh_login),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"load {results['load_1min']:.2f}  {results['versions']}  logins per figure: {args.logins}"
          f"  paramiko disabled_algorithms: {PARAMIKO_DISABLED}")
    print(f"pow(2, x, p) 2048-bit p: {results['modexp_2048_ms']}")
    print(f"GMP powers beside Python work, both done (s): {results['gmp_beside_python_s']}")
    for name, figures in results["profiles"].items():
        print(f"\n{name}: {figures['source']}")
        for client in ("paramiko", "ikefleet", "asyncssh"):
            row = figures[client]
            if "error" in row:
                print(f"  {client:9} cannot log in: {row['error']}")
            else:
                print(f"  {client:9} client CPU {row['client_cpu_ms']:6.1f} ms"
                      f" (min {row['client_cpu_ms_min']})  server CPU {row['server_cpu_ms']:6.1f} ms"
                      f"  wall {row['wall_ms']:6.1f} ms"
                      f"  [{row['negotiated']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
