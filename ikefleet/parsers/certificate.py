"""`/certificate print [detail]`: the PKI state the hub (CA) and branches must hold."""

from __future__ import annotations

from typing import Any

from ikefleet.parsers.errors import ParseError
from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Seconds, timestamp


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
    not_before: str  # invalid-before as ISO 8601 (router local time), for date arithmetic
    not_after: str  # invalid-after as ISO 8601
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
    truncated: list[str]  # fields the print cut short ("3a5f09c1b..."): left out, their value is unknown


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


# identities compared whole (pki: is the branch's certificate the hub's?); a v6 table cuts them to its column
_IDENTITIES = ("fingerprint", "skid", "akid", "serial_number")


def _post(record: dict[str, Any]) -> None:
    """A value cut by a table print ("3a5f09c1b...") is never kept as if whole: it is dropped and its
    field named in `truncated`, so nothing compares a fingerprint prefix with a fingerprint."""
    cut = [name for name in _IDENTITIES if str(record.get(name, "")).endswith("...")]
    for name in cut:
        del record[name]
    if cut:
        record["truncated"] = cut
    _validity(record)


def _validity(record: dict[str, Any]) -> None:
    for printed, iso in (("invalid_before", "not_before"), ("invalid_after", "not_after")):
        if printed in record:
            try:
                record[iso] = timestamp(record[printed])
            except ValueError as exc:
                raise ParseError(CERTIFICATE.command, f"field {printed}: {exc}") from None


CERTIFICATE = Spec(
    command="/certificate print",
    record=Certificate,
    legend=dict(zip("KDLCAIRET", _NAMES, strict=True)),
    flags={n: n.replace("-", "_") for n in _NAMES},
    post=_post,
)


def parse_certificate(text: str) -> list[Certificate]:
    return run(text, CERTIFICATE)
