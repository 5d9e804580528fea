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

MIN_LENGTH = 6  # shorter values are masked only as arguments (mask_command): "admin" is everywhere

_known: set[str] = set()
_longest_first: tuple[str, ...] = ()  # _known, longest first (a secret holding another is masked whole)
_by_prefix: dict[str, tuple[str, ...]] = {}  # first MIN_LENGTH characters -> those secrets, longest first
_lock = threading.Lock()


def register(*secrets: str | None) -> None:
    """Remember secret values so `scrub` masks them anywhere (short values are masked only as arguments)."""
    global _longest_first, _by_prefix
    with _lock:
        new = {s for s in secrets if s and len(s) >= MIN_LENGTH} - _known
        if not new:
            return
        _known.update(new)
        _longest_first = tuple(sorted(_known, key=len, reverse=True))
        by_prefix: dict[str, list[str]] = {}
        for secret in _longest_first:
            by_prefix.setdefault(secret[:MIN_LENGTH], []).append(secret)
        _by_prefix = {prefix: tuple(group) for prefix, group in by_prefix.items()}


def mask_command(command: str) -> str:
    """Mask the values of secret arguments in a RouterOS command line."""
    return _SECRET_ARG.sub(lambda m: m["key"] + MASK, command)


def scrub(text: str) -> str:
    """Mask secret arguments and every registered secret value in free text.

    A rollout registers a PKCS#12 passphrase per branch and a report scrubs every result: the work per text
    is the smaller of its length (each position's first characters looked up) and the number of secrets
    (each searched for), never their product."""
    text = mask_command(text)
    every, by_prefix = _longest_first, _by_prefix  # replaced whole by register: a consistent pair
    if len(text) < len(every):
        found = {text[i : i + MIN_LENGTH] for i in range(len(text) - MIN_LENGTH + 1)} & by_prefix.keys()
        candidates = sorted((s for prefix in found for s in by_prefix[prefix]), key=len, reverse=True)
    else:
        candidates = list(every)
    for secret in candidates:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
