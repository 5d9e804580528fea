"""pki.py: real keys and certificates, checked with `cryptography`'s own path validation."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store

from ikefleet.lab import pki

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CA_USAGE = ("key-cert-sign", "crl-sign")
TUNNEL_USAGE = ("digital-signature", "key-encipherment", "key-agreement", "ipsec-tunnel")


@pytest.fixture(scope="module")
def ca() -> tuple[str, pki.PrivateKey]:
    key = pki.generate_key("prime256v1")
    return pki.build_certificate(pki.Request("ca", key_usage=CA_USAGE, days_valid=5890), key, NOW), key


@pytest.fixture(scope="module")
def leaf_key() -> pki.PrivateKey:
    return pki.generate_key("prime256v1")


def issue(ca: tuple[str, pki.PrivateKey], key: pki.PrivateKey, **kw: object) -> str:
    fields: dict = {"common_name": "server", "key_usage": TUNNEL_USAGE, "days_valid": 3650}
    fields.update(kw)
    return pki.build_certificate(pki.Request(**fields), key, NOW, ca[0], ca[1])


def test_generate_key_follows_routeros_key_size() -> None:
    ec_key = pki.generate_key("secp384r1")
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey) and ec_key.curve.name == "secp384r1"
    rsa_key = pki.generate_key("1024")
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and rsa_key.key_size == 1024
    assert pki.key_size_name(rsa_key.public_key()) == "1024"
    with pytest.raises(pki.PkiError):
        pki.generate_key("3000")


def test_chain_validates_with_cryptography_path_validation(ca, leaf_key) -> None:
    leaf = issue(ca, leaf_key, key_usage=(*TUNNEL_USAGE, "tls-server"), subject_alt_name="IP:203.0.113.1")
    store = Store([pki.load_certificate(ca[0])])
    verifier = (
        PolicyBuilder()
        .store(store)
        .time(NOW + timedelta(days=1))
        .build_server_verifier(x509.IPAddress(ipaddress.ip_address("203.0.113.1")))
    )
    chain = verifier.verify(pki.load_certificate(leaf), [])
    assert chain[-1] == pki.load_certificate(ca[0])
    assert pki.verify(leaf, [ca[0]], NOW + timedelta(days=1)) is None


def test_self_signed_ca_has_basic_constraints_and_key_usage(ca) -> None:
    cert = pki.load_certificate(ca[0])
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert cert.issuer == cert.subject


def test_key_usage_and_eku_mapped_from_routeros_names(ca, leaf_key) -> None:
    cert = pki.load_certificate(issue(ca, leaf_key, key_usage=(*TUNNEL_USAGE, "tls-client", "ipsec-user")))
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and usage.key_agreement
    assert not usage.key_cert_sign and not usage.data_encipherment
    eku = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert eku == {
        ExtendedKeyUsageOID.CLIENT_AUTH,
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    }
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # RouterOS order: basic usages, then extended ones
    assert pki.key_usage_words(cert) == [*TUNNEL_USAGE[:3], "tls-client", "ipsec-tunnel", "ipsec-user"]


def test_unknown_key_usage_is_refused(ca, leaf_key) -> None:
    with pytest.raises(pki.PkiError):
        issue(ca, leaf_key, key_usage=("digital-signature", "teleport"))
    with pytest.raises(pki.PkiError):
        issue(ca, leaf_key, key_usage=("encipher-only",))


def test_subject_alt_name_ip_dns_email(ca, leaf_key) -> None:
    san_text = "IP:198.51.100.7,DNS:vpn.example.net,email:noc@example.net"
    cert = pki.load_certificate(issue(ca, leaf_key, subject_alt_name=san_text))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("198.51.100.7")]
    assert san.get_values_for_type(x509.DNSName) == ["vpn.example.net"]
    assert san.get_values_for_type(x509.RFC822Name) == ["noc@example.net"]
    assert (
        pki.describe(cert.public_bytes(serialization.Encoding.PEM).decode())["subject-alt-name"] == san_text
    )
    with pytest.raises(pki.PkiError):
        pki.parse_subject_alt_name("IP:not-an-address")


def test_validity_starts_at_router_clock_and_is_capped_in_2038(ca, leaf_key) -> None:
    cert = pki.load_certificate(ca[0])
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == pki.MAX_NOT_AFTER  # 5890 days from 2026 is past 2038
    assert pki.describe(ca[0])["invalid-after"] == "jan/19/2038 03:14:07"
    short = pki.load_certificate(issue(ca, leaf_key, days_valid=30))
    assert short.not_valid_after_utc - short.not_valid_before_utc == timedelta(days=30)


def test_describe_gives_routeros_fields(ca, leaf_key) -> None:
    leaf = issue(ca, leaf_key, subject={"country": "LV", "organization": "lab"})
    values = pki.describe(leaf)
    assert values["issuer"] == "CN=ca"
    assert values["common-name"] == "server"
    assert values["key-size"] == "prime256v1"
    assert values["key-usage"] == ",".join(TUNNEL_USAGE)
    assert values["invalid-before"] == "mar/01/2026 12:00:00"
    assert values["days-valid"] == "3650"
    assert values["country"] == "LV" and values["organization"] == "lab"
    assert values["akid"] == pki.describe(ca[0])["skid"]
    assert int(values["serial-number"], 16) == pki.load_certificate(leaf).serial_number


def test_fingerprint_is_sha256_of_der(ca) -> None:
    der = pki.load_certificate(ca[0]).public_bytes(serialization.Encoding.DER)
    assert pki.fingerprint(ca[0]) == hashlib.sha256(der).hexdigest()
    assert len(pki.fingerprint(ca[0])) == 64


def test_pkcs12_round_trip_keeps_key_and_chain(ca, leaf_key) -> None:
    leaf = issue(ca, leaf_key)
    data = pki.export_pkcs12("client", leaf, pki.key_to_pem(leaf_key), [ca[0]], "12345678")
    found = pki.read_file(data, "12345678")
    assert found.certificates == [leaf, ca[0]]
    assert len(found.keys) == 1 and found.decryption_failures == 0
    assert pki.public_key_bytes(pki.load_key(found.keys[0])) == pki.public_key_bytes(leaf)


def test_wrong_passphrase_is_a_decryption_failure(ca, leaf_key) -> None:
    leaf = issue(ca, leaf_key)
    data = pki.export_pkcs12("client", leaf, pki.key_to_pem(leaf_key), [ca[0]], "12345678")
    found = pki.read_file(data, "87654321")
    assert (found.certificates, found.keys, found.decryption_failures) == ([], [], 1)
    pem = (leaf + pki.key_to_pem(leaf_key, "correct-horse")).encode()
    found = pki.read_file(pem, "wrong-horse")
    assert found.certificates == [leaf] and found.keys == [] and found.decryption_failures == 1
    found = pki.read_file(pem, "correct-horse")
    assert len(found.keys) == 1 and found.decryption_failures == 0


def test_read_file_accepts_der(ca) -> None:
    der = pki.load_certificate(ca[0]).public_bytes(serialization.Encoding.DER)
    assert pki.read_file(der).certificates == [ca[0]]


def test_verify_reasons(ca, leaf_key) -> None:
    leaf = issue(ca, leaf_key, days_valid=10)
    later = NOW + timedelta(days=1)
    assert pki.verify(leaf, [ca[0]], NOW + timedelta(days=11)) == "expired"
    assert pki.verify(leaf, [ca[0]], NOW - timedelta(days=1)) == "not yet valid"
    assert pki.verify(leaf, [], later) == "unknown CA"
    impostor_key = pki.generate_key("prime256v1")
    impostor = pki.build_certificate(pki.Request("ca", key_usage=CA_USAGE), impostor_key, NOW)
    assert pki.verify(leaf, [impostor], later) == "bad signature"
    signing_only = issue(ca, leaf_key, key_usage=("key-encipherment",))
    assert pki.verify(signing_only, [ca[0]], later) == "missing key usage"
    serial = pki.load_certificate(leaf).serial_number
    crl = pki.build_crl(ca[0], ca[1], [(serial, NOW)], NOW)
    assert pki.verify(leaf, [ca[0]], later, crls=[crl]) == "revoked"
    forged = pki.build_crl(impostor, impostor_key, [(serial, NOW)], NOW)
    assert pki.verify(leaf, [ca[0]], later, crls=[forged]) is None


def test_verify_follows_an_intermediate_ca(ca, leaf_key) -> None:
    mid = issue(ca, leaf_key, common_name="mid", key_usage=CA_USAGE)
    assert pki.is_ca(pki.load_certificate(mid))
    leaf = pki.build_certificate(
        pki.Request("deep", key_usage=TUNNEL_USAGE), pki.generate_key("prime256v1"), NOW, mid, leaf_key
    )
    assert pki.verify(leaf, [ca[0], mid], NOW + timedelta(days=1)) is None
    assert pki.verify(leaf, [mid], NOW + timedelta(days=1)) == "unknown CA"


def test_verify_refuses_a_non_ca_issuer(ca, leaf_key) -> None:
    not_ca = issue(ca, leaf_key, common_name="plain")
    leaf = pki.build_certificate(
        pki.Request("deep", key_usage=TUNNEL_USAGE), pki.generate_key("prime256v1"), NOW, not_ca, leaf_key
    )
    assert pki.verify(leaf, [ca[0], not_ca], NOW + timedelta(days=1)) == "unknown CA"
