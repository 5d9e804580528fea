"""The SSH algorithms the lab's routers offer, per RouterOS major version: the sourced part of real
RouterOS's offer (docs/routeros-ssh.md, sources S1-S13), so a client pays in the lab what it pays on a router.

The key exchange and cipher lists are the one full capture of a RouterOS offer (S1, a v6 build of 2017, its
`none` cipher left out: asyncssh cannot offer it); the MACs are 6.49.18's (S2, "same error" on v7). No source
prints a whole default v7 list: v7 is given v6's, which S3 agrees with as far as it goes (group14-sha1
offered, group14-sha256 not), with `curve25519-sha256` first, as the v7 sources of 2024 on show it (S11: an
offer, it first; S12: RouterOS's own log agreeing on it). The host key is the lab's RSA 2048 key
(`sshd.host_key`), as RouterOS's (S5, S9), signed with asyncssh's RSA signature algorithms (which ones
6.49/7.x offer is unverified). Data only; `ikefleet.lab.sshd` passes it to asyncssh.
"""

from __future__ import annotations

from typing import Any

KEX = (
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group1-sha1",
)
CIPHERS = (
    "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc", "blowfish-cbc",
    "3des-cbc",
)
MACS = ("hmac-sha1", "hmac-md5")

V7_KEX = ("curve25519-sha256", *KEX)

OFFERS: dict[int, dict[str, Any]] = {
    6: {"kex_algs": list(KEX), "encryption_algs": list(CIPHERS), "mac_algs": list(MACS)},
    7: {"kex_algs": list(V7_KEX), "encryption_algs": list(CIPHERS), "mac_algs": list(MACS)},
}


def listen_options(major_version: int) -> dict[str, Any]:
    """asyncssh.listen's algorithm options for a router of this major version (fresh lists each call)."""
    return {name: list(algs) for name, algs in OFFERS[major_version].items()}
