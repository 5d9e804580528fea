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
_by_prefix: dict[str, tuple[str, ...]] = {}  # first MIN_LENGTH characters -> those secrets, longest first
_longest_first: tuple[str, ...] | None = ()  # _known, longest first; None: to sort again at the next use
_lock = threading.Lock()


def register(*secrets: str | None) -> None:
    """Remember secret values so `scrub` masks them anywhere (short values are masked only as arguments).
    A rollout registers one per branch: only the new secrets' prefix groups are touched."""
    global _by_prefix, _longest_first
    with _lock:
        new = {s for s in secrets if s and len(s) >= MIN_LENGTH} - _known
        if not new:
            return
        _known.update(new)
        by_prefix = dict(_by_prefix)
        for secret in new:
            group = (*by_prefix.get(secret[:MIN_LENGTH], ()), secret)
            by_prefix[secret[:MIN_LENGTH]] = tuple(sorted(group, key=len, reverse=True))
        _by_prefix, _longest_first = by_prefix, None


def _every_secret() -> tuple[str, ...]:
    """Every registered secret, longest first (a secret holding another is masked whole)."""
    global _longest_first
    with _lock:
        if _longest_first is None:
            _longest_first = tuple(sorted(_known, key=len, reverse=True))
        return _longest_first


def mask_command(command: str) -> str:
    """Mask the values of secret arguments in a RouterOS command line."""
    return _SECRET_ARG.sub(lambda m: m["key"] + MASK, command)


def scrub(text: str) -> str:
    """Mask secret arguments and every registered secret value in free text.

    A rollout registers a PKCS#12 passphrase per branch and a report scrubs every result: the work per text
    is the smaller of its length (each position's first characters looked up) and the number of secrets
    (each searched for), never their product."""
    text = mask_command(text)
    by_prefix = _by_prefix  # replaced whole by register
    if len(text) < len(_known):
        found = {text[i : i + MIN_LENGTH] for i in range(len(text) - MIN_LENGTH + 1)} & by_prefix.keys()
        candidates = sorted((s for prefix in found for s in by_prefix[prefix]), key=len, reverse=True)
    else:
        candidates = list(_every_secret())
    for secret in candidates:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
