"""Keep secrets out of everything ikefleet writes: logs, reports, run directories, exceptions.

Two nets: values of secret-named RouterOS arguments (`password=`, `passphrase=`, ...) are masked wherever a
command is shown, and every known secret value (passwords from the secrets store, generated PKCS#12
passphrases) is registered once and masked in any text before it is written.
"""

from __future__ import annotations

import re
import threading

MASK = "********"

# `export-passphrase=abc`, `password="a b"`, `secret=x` ... up to the next unquoted space.
_SECRET_ARG = re.compile(
    r"(?P<key>\b(?:[\w-]*password|[\w-]*passphrase|secret|ipsec-secret|auth-key|enc-key|"
    r"authentication-key|private-key)=)(?P<value>\"(?:[^\"\\]|\\.)*\"|\S+)"
)

_known: set[str] = set()
_lock = threading.Lock()


def register(*secrets: str | None) -> None:
    """Remember secret values so `scrub` masks them anywhere (short values are masked only as arguments)."""
    with _lock:
        _known.update(s for s in secrets if s and len(s) >= 6)


def mask_command(command: str) -> str:
    """Mask the values of secret arguments in a RouterOS command line."""
    return _SECRET_ARG.sub(lambda m: m["key"] + MASK, command)


def scrub(text: str) -> str:
    """Mask secret arguments and every registered secret value in free text."""
    text = mask_command(text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
