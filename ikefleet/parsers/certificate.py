"""`/certificate print [detail]`: the PKI state the hub (CA) and branches must hold."""

from __future__ import annotations

from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Seconds


class Certificate(Common, total=False):
    """A certificate; `private_key` says the router holds its key (the key itself is never printed)."""

    name: str
    issuer: str
    common_name: str
    subject_alt_name: str
    country: str
    organization: str
    unit: str
    key_type: str
    key_size: str
    days_valid: int
    key_usage: list[str]
    serial_number: str
    fingerprint: str
    skid: str
    akid: str
    ca: str
    ca_crl_host: str
    invalid_before: str
    invalid_after: str
    expires_after: Seconds
    private_key: bool
    dsa: bool
    crl: bool
    smart_card_key: bool
    authority: bool
    issued: bool
    revoked: bool
    expired: bool
    trusted: bool


# the v6 legend's letters, in order: K D L C A I R E T
_NAMES = (
    "private-key",
    "dsa",
    "crl",
    "smart-card-key",
    "authority",
    "issued",
    "revoked",
    "expired",
    "trusted",
)

CERTIFICATE = Spec(
    command="/certificate print",
    record=Certificate,
    legend=dict(zip("KDLCAIRET", _NAMES, strict=True)),
    flags={n: n.replace("-", "_") for n in _NAMES},
)


def parse_certificate(text: str) -> list[Certificate]:
    return run(text, CERTIFICATE)
