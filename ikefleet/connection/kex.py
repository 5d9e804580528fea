"""The client's key exchanges with RouterOS: curve25519 under its RFC 8731 name, and the Diffie-Hellman group
exchange with a short private exponent, as OpenSSH draws it.

RouterOS 7 offers `curve25519-sha256` (docs/routeros-ssh.md S11, S12), the RFC 8731 name of the exchange
paramiko 5 knows only as `curve25519-sha256@libssh.org`: paramiko alone falls back to the group exchange
there (S11 shows it doing so). It is the same exchange under both names (RFC 8731), so ikefleet's
transport takes the RFC name too. RouterOS 6 offers only classic Diffie-Hellman; paramiko 5 then negotiates
`diffie-hellman-group-exchange-sha256` and draws its exponent uniformly below (p-1)/2: about 2047 bits,
two pure-Python `pow()` of about 17 ms each per login, holding the GIL. OpenSSH's client draws
2 x the bits the negotiated cipher and MAC need (at least 2 x 256), the same protocol on the wire at a
quarter of the work (followed: OpenSSH's dh.c `dh_gen_key` and kex.c `kex_choose_conf`, as in FreeBSD's
crypto/openssh). Doing the full-size exchange in OpenSSL (`cryptography`'s DH) was measured and
dropped: `cryptography` checks a prime it does not know as a named group for primality on every
parameter and public-key object, about 230 ms each on a server's own 2048-bit prime (bench/HISTORY.md).
"""

from __future__ import annotations

import secrets
import time
from itertools import chain
from typing import Any, ClassVar

import gmpy2
import paramiko
from paramiko.kex_curve25519 import KexCurve25519
from paramiko.kex_gex import KexGexSHA256
from paramiko.packet import Packetizer

GEX = KexGexSHA256.name  # "diffie-hellman-group-exchange-sha256"
CURVE25519 = "curve25519-sha256"  # RFC 8731's name of the exchange below
LIBSSH_CURVE25519 = "curve25519-sha256@libssh.org"  # paramiko's name of it
MIN_NEED_BITS = 256  # OpenSSH dh_gen_key: `if (need < 256) need = 256;`


def need_bits(transport: paramiko.Transport) -> int:
    """The bits the negotiated ciphers and MACs need, as OpenSSH's `kex->we_need` (kex.c kex_choose_conf):
    the largest of each direction's cipher key, block and IV size and MAC key size (a MAC's key is its
    digest's size), in bytes, times 8. Called once both directions' algorithms are agreed."""
    agreed = vars(transport)  # (paramiko's stubs name neither the remote side's choices nor the tables)
    ciphers: dict[str, dict[str, Any]] = vars(paramiko.Transport)["_cipher_info"]
    macs: dict[str, dict[str, Any]] = vars(paramiko.Transport)["_mac_info"]
    need = 0
    for side in ("local", "remote"):
        cipher = ciphers[agreed[f"{side}_cipher"]]
        need = max(need, cipher["key-size"], cipher["block-size"], cipher.get("iv-size", 0))
        mac = macs.get(agreed[f"{side}_mac"] or "")  # (none with an AEAD cipher)
        if mac is not None:
            need = max(need, mac["class"]().digest_size)
    return need * 8


def exponent_bits(need: int, p_bits: int) -> int:
    """OpenSSH's private exponent length (dh.c dh_gen_key: `DH_set_length(dh, MINIMUM(need * 2, pbits -
    1))` after raising `need` to 256, "Pollard Rho, Big step/Little Step attacks are O(sqrt(n)), so double
    requested need here"): 512 bits for aes128-ctr with hmac-sha1, 1024 for hmac-sha2-512."""
    return min(2 * max(need, MIN_NEED_BITS), p_bits - 1)


class ShortExponentGex(KexGexSHA256):
    """paramiko's group exchange, drawing x as OpenSSH does through OpenSSL (`BN_priv_rand_ex(x, l,
    BN_RAND_TOP_ONE, ...)`: exactly l bits, the top one set) instead of uniformly below (p-1)/2. x is a
    GMP integer, so paramiko's own `pow(g, x, p)` and `pow(f, x, p)` run in GMP (an eighth of CPython's
    time on 2048 bits), and give GMP integers that paramiko writes as it writes ints (`int(n)`)."""

    def _generate_x(self) -> None:
        if self.p is None or self.transport.server_mode:  # only ever ikefleet's client side, after the group
            raise paramiko.SSHException("short-exponent group exchange: the client side, after the group")
        bits = exponent_bits(need_bits(self.transport), self.p.bit_length())
        self.x = gmpy2.mpz(secrets.randbits(bits) | (1 << (bits - 1)))


class DeadlinePacketizer(Packetizer):
    """paramiko's packetizer with the handshake timeout kept as a deadline (a monotonic time that
    `handshake_timed_out` compares) instead of a `threading.Timer`: paramiko starts one thread per connection
    for it, 201 threads per 200-branch verify, each created, woken and handed the GIL. Same meaning: the
    transport thread's reads look at it between waits of at most a tenth of a second, so a handshake not
    complete within `handshake_timeout` ends in the same EOFError as with the timer. The three methods are
    paramiko's whole handshake-timer API and are all replaced, so none of paramiko's private state is read."""

    def __init__(self, socket: Any) -> None:
        super().__init__(socket)
        self.handshake_deadline: float | None = None
        self.handshake_complete = False

    def start_handshake(self, timeout: float) -> None:
        if self.handshake_deadline is None:  # (paramiko: the first call only)
            self.handshake_deadline = time.monotonic() + float(timeout)

    def handshake_timed_out(self) -> bool:
        if self.handshake_deadline is None or self.handshake_complete:
            return False
        return time.monotonic() >= self.handshake_deadline

    def complete_handshake(self) -> None:
        if self.handshake_deadline is not None:
            self.handshake_complete = True


class Transport(paramiko.Transport):
    """paramiko's transport that also speaks curve25519 under its RFC 8731 name (just before paramiko's name
    of it: RouterOS 7 offers only that one) and whose group exchange is ShortExponentGex; given to paramiko
    as the documented `SSHClient.connect(transport_factory=...)`, so only ikefleet's own sessions change.
    The fixed groups paramiko 5 offers (group14-sha256, group16-sha512: a 1023-bit exponent) are left as
    they are: RouterOS offers neither (docs/routeros-ssh.md S3). Its packetizer is DeadlinePacketizer,
    through the constructor's documented `packetizer_class` (paramiko >= 3.4) rather than by replacing the
    one it built: the transport sets it up as its own. GMP keeps the GIL through the exchange's two `pow()`
    (gmpy2's default): releasing it was measured and dropped (bench/HISTORY.md, 2026-12-07 h48).
    """

    _kex_info: ClassVar[dict[str, type]] = {
        **vars(paramiko.Transport)["_kex_info"], GEX: ShortExponentGex, CURVE25519: KexCurve25519,
    }
    _preferred_kex: ClassVar[tuple[str, ...]] = tuple(chain.from_iterable(
        (CURVE25519, name) if name == LIBSSH_CURVE25519 else (name,)
        for name in vars(paramiko.Transport)["_preferred_kex"]  # (without it where OpenSSL lacks X25519)
    ))

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("packetizer_class", DeadlinePacketizer)
        super().__init__(sock, *args, **kwargs)

    def _add_K(self, m: paramiko.Message) -> None:
        """The shared secret K as an SSH mpint (RFC 4251 S5), written six times per key exchange (one per
        key derived, `_compute_key`): paramiko encodes it each time in Python 32 bits at a time (11 us for
        2048 bits), `int.to_bytes` in C (0.3 us). The same bytes: a positive K, its bits and one more for
        the sign, in as few bytes as that takes. Anything else (a hybrid exchange's K is a string) is
        paramiko's to write."""
        secret = self.K
        if isinstance(secret, bytes) or secret is None or secret <= 0:
            super()._add_K(m)  # type: ignore[misc]  # (not in paramiko's stubs)
            return
        m.add_string(int(secret).to_bytes(secret.bit_length() // 8 + 1, "big"))
