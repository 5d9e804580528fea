"""Per-router indexes for one recompute, and certificate facts cached by PEM.

A hub with a thousand branches holds a thousand identities, mode-configs, EoIP interfaces and
certificates; looking each up by scanning would make a recompute quadratic. A `Book` indexes a router's
menus on first use; it lives for one recompute (configuration may change between recomputes).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, datetime
from functools import cached_property, lru_cache

from ikefleet.routeros.config import Item

from .. import certificates, pki
from ..router import Router
from .common import enabled, host, value


@lru_cache(maxsize=65536)
def fingerprint(pem: str) -> str:
    return pki.fingerprint(pem)


@lru_cache(maxsize=65536)
def subject(pem: str) -> str:
    return pki.format_name(pki.load_certificate(pem).subject)


@lru_cache(maxsize=65536)
def _facts(pem: str) -> tuple[bool, datetime, datetime]:
    """(may anchor or extend a chain, not-before, not-after)."""
    cert = pki.load_certificate(pem)
    anchor = pki.is_ca(cert) or cert.issuer == cert.subject
    return anchor, cert.not_valid_before_utc, cert.not_valid_after_utc


_VERIFIED: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[str | None, datetime, datetime]] = {}
_EDGE_OF_TIME = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


def verify(cert_pem: str, cas: tuple[str, ...], crls: tuple[str, ...], now: datetime) -> str | None:
    """`pki.verify`, cached: the answer only changes when `now` crosses a validity boundary of the leaf or
    of a trusted CA, so it is kept with the interval between the boundaries around the time it was asked."""
    key = (cert_pem, cas, crls)
    moment = now.astimezone(UTC)
    cached = _VERIFIED.get(key)
    if cached is not None and cached[1] <= moment < cached[2]:
        return cached[0]
    edges = sorted({edge for pem in (cert_pem, *cas) for edge in _facts(pem)[1:]})
    at = bisect.bisect_right(edges, moment)
    low = edges[at - 1] if at else _EDGE_OF_TIME[0]
    high = edges[at] if at < len(edges) else _EDGE_OF_TIME[1]
    reason = pki.verify(cert_pem, list(cas), now, list(crls))
    if len(_VERIFIED) > 100_000:
        _VERIFIED.clear()
    _VERIFIED[key] = (reason, low, high)
    return reason


class Book:
    """Lazily built lookups over one router's configuration."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._names: dict[str, dict[str, Item]] = {}

    def named(self, path: str, name: str) -> Item | None:
        """The first enabled item of `path` called `name`."""
        index = self._names.get(path)
        if index is None:
            index = {}
            for item in enabled(self.router.config.items(path)):
                index.setdefault(item.get("name"), item)
            self._names[path] = index
        return index.get(name)

    def cert(self, name: str) -> Item | None:
        item = self.named(certificates.PATH, name)
        return item if item is not None and certificates.is_signed(item) else None

    @cached_property
    def trusted_cas(self) -> tuple[str, ...]:
        """Trusted certificates that can anchor or extend a chain (CAs and self-signed ones)."""
        return tuple(pem for pem in certificates.trusted_ca_pems(self.router) if _facts(pem)[0])

    @cached_property
    def crls(self) -> tuple[str, ...]:
        return tuple(certificates.crl_pems(self.router))

    @cached_property
    def _identities(self) -> dict[str, list[Item]]:
        index: dict[str, list[Item]] = defaultdict(list)
        for item in enabled(self.router.config.items("/ip ipsec identity")):
            index[item.get("peer")].append(item)
        return index

    def identities(self, peer: str) -> list[Item]:
        return self._identities.get(peer, [])

    @cached_property
    def _loose(self) -> dict[str, list[Item]]:
        return {
            p: [x for x in xs if x.get("remote-certificate") in ("", "none")]
            for p, xs in self._identities.items()
        }

    @cached_property
    def _by_remote_cert(self) -> dict[str, dict[str, list[Item]]]:
        """peer name -> fingerprint of the identity's remote-certificate -> identities."""
        index: dict[str, dict[str, list[Item]]] = defaultdict(lambda: defaultdict(list))
        for peer, items in self._identities.items():
            for item in items:
                cert = self.cert(item.get("remote-certificate"))
                if cert is not None:
                    index[peer][fingerprint(cert.private["certificate"])].append(item)
        return index

    @cached_property
    def _position(self) -> dict[int, int]:
        return {id(item): n for n, item in enumerate(self.router.config.items("/ip ipsec identity"))}

    def identities_for(self, peer: str, cert_pem: str) -> list[Item]:
        """Candidate identities of `peer` for a remote presenting `cert_pem`, in configuration order."""
        wanted = self._by_remote_cert.get(peer, {}).get(fingerprint(cert_pem), [])
        loose = self._loose.get(peer, [])
        return sorted([*wanted, *loose], key=lambda x: self._position[id(x)])

    @cached_property
    def _eoip_by_remote(self) -> dict[str, Item]:
        index: dict[str, Item] = {}
        for item in enabled(self.router.config.items("/interface eoip")):
            index.setdefault(host(item.get("remote-address")), item)
        return index

    def eoip_to(self, remote: str) -> Item | None:
        return self._eoip_by_remote.get(host(remote))

    @cached_property
    def _templates(self) -> dict[str, list[Item]]:
        index: dict[str, list[Item]] = defaultdict(list)
        for item in enabled(self.router.config.items("/ip ipsec policy")):
            if value(item, "/ip ipsec policy", "template") == "yes":
                index[value(item, "/ip ipsec policy", "group")].append(item)
        return index

    def templates(self, group: str) -> list[Item]:
        return self._templates.get(group, [])

    @cached_property
    def _static(self) -> dict[str, list[Item]]:
        index: dict[str, list[Item]] = defaultdict(list)
        for item in enabled(self.router.config.items("/ip ipsec policy")):
            if (
                not item.dynamic
                and not item.default
                and item.get("peer")
                and value(item, "/ip ipsec policy", "template") != "yes"
                and value(item, "/ip ipsec policy", "action") == "encrypt"
            ):
                index[item.get("peer")].append(item)
        return index

    def static_policies(self, peer: str) -> list[Item]:
        """Configured (non-template) encrypt policies bound to `peer`."""
        return self._static.get(peer, [])
