"""Real X.509 for the lab: keys, certificates, CRLs, PEM/PKCS#12 files and chain verification.

Pure functions over PEM strings (no router state), so the `/certificate` handlers and the fabric's IKE
authentication share one implementation. RouterOS names (key sizes, key-usage words, date format) map to
`cryptography` objects through the tables below.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

RSA_SIZES = ("1024", "1536", "2048", "4096", "8192")
EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "prime256v1": ec.SECP256R1,
    "secp384r1": ec.SECP384R1,
    "secp521r1": ec.SECP521R1,
}
KEY_SIZES = RSA_SIZES + tuple(EC_CURVES)

# RouterOS key-usage word -> KeyUsage constructor argument (the basic key usage bits).
KEY_USAGE_BITS: dict[str, str] = {
    "digital-signature": "digital_signature",
    "content-commitment": "content_commitment",
    "key-encipherment": "key_encipherment",
    "data-encipherment": "data_encipherment",
    "key-agreement": "key_agreement",
    "key-cert-sign": "key_cert_sign",
    "crl-sign": "crl_sign",
    "encipher-only": "encipher_only",
    "decipher-only": "decipher_only",
}
# RouterOS key-usage word -> extended key usage OID.
EXTENDED_KEY_USAGES: dict[str, ObjectIdentifier] = {
    "tls-server": ExtendedKeyUsageOID.SERVER_AUTH,
    "tls-client": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code-sign": ExtendedKeyUsageOID.CODE_SIGNING,
    "email-protect": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsec-end-system": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsec-tunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsec-user": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamp": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp-sign": ExtendedKeyUsageOID.OCSP_SIGNING,
    "dvcs": ObjectIdentifier("1.3.6.1.5.5.7.3.10"),
    "server-gated-crypto": ObjectIdentifier("2.16.840.1.113730.4.1"),
}
KEY_USAGE_ORDER = tuple(KEY_USAGE_BITS) + tuple(EXTENDED_KEY_USAGES)

# Template subject fields (RouterOS argument name -> X.509 attribute), in the order RouterOS writes them.
SUBJECT_FIELDS: dict[str, ObjectIdentifier] = {
    "country": NameOID.COUNTRY_NAME,
    "state": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "unit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "common-name": NameOID.COMMON_NAME,
}
# How RouterOS abbreviates name attributes in `issuer=` (C=..,O=..,CN=..).
_NAME_ABBREV: dict[ObjectIdentifier, str] = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
}
DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# RouterOS stores times as a signed 32-bit UNIX time: nothing is valid after this instant.
MAX_NOT_AFTER = datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)
MIN_PASSPHRASE = 8
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class PkiError(ValueError):
    """A request RouterOS would refuse (bad key size, incompatible key usage, bad SAN)."""


def generate_key(key_size: str) -> PrivateKey:
    """A fresh private key for a RouterOS `key-size` value; the one slow call (RSA 4096 ≈ 1 s)."""
    if key_size in EC_CURVES:
        return ec.generate_private_key(EC_CURVES[key_size]())
    if key_size in RSA_SIZES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_size))
    raise PkiError(f"unknown key-size {key_size}")


def key_size_name(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | PrivateKey) -> str:
    """The RouterOS `key-size` value of a key (`2048`, `prime256v1`)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return str(key.key_size)
    for name, curve in EC_CURVES.items():
        if isinstance(key.curve, curve):
            return name
    return key.curve.name


def key_type_name(key: object) -> str:
    return "rsa" if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) else "ec"


def split_words(value: str) -> list[str]:
    return [word.strip() for word in value.split(",") if word.strip()]


def key_usage_extensions(usages: Iterable[str]) -> tuple[x509.KeyUsage | None, x509.ExtendedKeyUsage | None]:
    """RouterOS key-usage words -> (KeyUsage, ExtendedKeyUsage); either is None when no word maps to it."""
    words = list(usages)
    unknown = [w for w in words if w not in KEY_USAGE_BITS and w not in EXTENDED_KEY_USAGES]
    if unknown:
        raise PkiError(f"unknown key-usage {unknown[0]}")
    bits = {arg: False for arg in KEY_USAGE_BITS.values()}
    for word in words:
        if word in KEY_USAGE_BITS:
            bits[KEY_USAGE_BITS[word]] = True
    if (bits["encipher_only"] or bits["decipher_only"]) and not bits["key_agreement"]:
        raise PkiError("encipher-only and decipher-only need key-agreement")
    ku = x509.KeyUsage(**bits) if any(bits.values()) else None
    oids = [EXTENDED_KEY_USAGES[w] for w in words if w in EXTENDED_KEY_USAGES]
    eku = x509.ExtendedKeyUsage(oids) if oids else None
    return ku, eku


def parse_subject_alt_name(value: str) -> list[x509.GeneralName]:
    """`IP:1.1.1.1,DNS:vpn.example.net,email:a@b` -> general names (RouterOS's SAN syntax)."""
    names: list[x509.GeneralName] = []
    for part in split_words(value):
        kind, _, text = part.partition(":")
        kind = kind.strip().lower()
        try:
            if kind == "ip":
                names.append(x509.IPAddress(ipaddress.ip_address(text)))
            elif kind == "dns":
                names.append(x509.DNSName(text))
            elif kind == "email":
                names.append(x509.RFC822Name(text))
            else:
                raise PkiError(f"bad subject-alt-name {part}")
        except ValueError as exc:
            raise PkiError(f"bad subject-alt-name {part}") from exc
    return names


def format_subject_alt_name(names: Iterable[x509.GeneralName]) -> str:
    out = []
    for name in names:
        if isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
    return ",".join(out)


def format_name(name: x509.Name) -> str:
    """`C=LV,O=lab,CN=ca` the way RouterOS prints `issuer=`."""
    parts = []
    for attr in name:
        label = _NAME_ABBREV.get(attr.oid, attr.oid.dotted_string)
        parts.append(f"{label}={attr.value}")
    return ",".join(parts)


def format_time(moment: datetime) -> str:
    """RouterOS v6 date-time: `jan/01/2038 03:14:07`."""
    moment = moment.astimezone(UTC)
    return f"{_MONTHS[moment.month - 1]}/{moment:%d/%Y %H:%M:%S}"


@dataclass(frozen=True)
class Request:
    """What a `/certificate` template asks for: the data `sign` turns into a certificate."""

    common_name: str
    key_size: str = "2048"
    key_usage: tuple[str, ...] = ()
    days_valid: int = 365
    subject_alt_name: str = ""
    subject: dict[str, str] = field(default_factory=dict)  # country/state/locality/organization/unit
    digest: str = "sha256"
    crl_url: str = ""  # the issuing CA's CRL address, written into issued certificates


def _name(request: Request) -> x509.Name:
    attrs = []
    for arg, oid in SUBJECT_FIELDS.items():
        value = request.common_name if arg == "common-name" else request.subject.get(arg, "")
        if value:
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)


def _sign_algorithm(key: PrivateKey, digest: str) -> hashes.HashAlgorithm:
    return DIGESTS.get(digest, hashes.SHA256)()


def new_serial() -> int:
    """A random positive 64-bit serial, the size RouterOS uses."""
    return secrets.randbits(63) | (1 << 62)


def build_certificate(
    request: Request,
    key: PrivateKey,
    now: datetime,
    issuer_pem: str | None = None,
    issuer_key: PrivateKey | None = None,
    serial: int | None = None,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None = None,
) -> str:
    """Sign `key`'s public half (or `public_key`, a request's: the key stays where it was made) for
    `request`: self-signed without an issuer, else by the issuer's key.

    A certificate whose key usage allows certificate signing is a CA (basicConstraints CA), like
    RouterOS's own CAs (self-signed roots, or intermediates signed by another CA). The validity starts
    at `now` (the router's clock) and ends `days_valid` days later, never after 2038-01-19 03:14:07 UTC.
    """
    subject = _name(request)
    not_before = now.astimezone(UTC).replace(microsecond=0)
    not_after = min(not_before + timedelta(days=request.days_valid), MAX_NOT_AFTER)
    if issuer_pem is None:
        issuer_name, signer = subject, key
        issuer_ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    else:
        if issuer_key is None:
            raise PkiError("issuer has no private key")
        issuer_cert = load_certificate(issuer_pem)
        issuer_name, signer = issuer_cert.subject, issuer_key
        issuer_ski = x509.SubjectKeyIdentifier.from_public_key(issuer_cert.public_key())
    is_ca = "key-cert-sign" in request.key_usage
    subject_key = public_key or key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key)
        .serial_number(serial or new_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False
        )
    )
    for extension in _template_extensions(request):
        builder = builder.add_extension(extension, critical=False)
    if request.crl_url and issuer_pem is not None:
        uri = x509.UniformResourceIdentifier(request.crl_url)
        point = x509.DistributionPoint([uri], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    cert = builder.sign(signer, _sign_algorithm(signer, request.digest))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _template_extensions(request: Request) -> list[x509.ExtensionType]:
    """What a template asks for, in a certificate and in a request alike: key usage, extended key usage,
    subject-alt-name."""
    ku, eku = key_usage_extensions(request.key_usage)
    found: list[x509.ExtensionType] = [e for e in (ku, eku) if e is not None]
    if request.subject_alt_name:
        found.append(x509.SubjectAlternativeName(parse_subject_alt_name(request.subject_alt_name)))
    return found


def build_csr(request: Request, key: PrivateKey) -> str:
    """A PKCS#10 request for `key` with the template's subject, subject-alt-name and key usage (what
    `/certificate create-certificate-request` writes; the issuer decides validity and CA constraints)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(request))
    for extension in _template_extensions(request):
        builder = builder.add_extension(extension, critical=False)
    csr = builder.sign(key, _sign_algorithm(key, request.digest))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def sign_csr(
    csr_pem: str, *, days_valid: int, digest: str, now: datetime, issuer_pem: str, issuer_key: PrivateKey,
    crl_url: str = "",
) -> str:
    """A certificate for a PKCS#10 request (`build_csr`), signed by the issuer: the request's subject,
    key usage and subject-alt-name, the issuer's validity and digest. A request whose signature does not
    verify (not made by the key it carries) or whose key is neither RSA nor EC raises PkiError."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as exc:
        raise PkiError("the file is not a certificate request") from exc
    public = csr.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not csr.is_signature_valid:
        raise PkiError("the certificate request's signature is not valid")
    names = {arg: csr.subject.get_attributes_for_oid(oid) for arg, oid in SUBJECT_FIELDS.items()}
    values = {arg: str(found[0].value) for arg, found in names.items() if found}
    san = _extension(csr, x509.SubjectAlternativeName)  # type: ignore[arg-type]
    request = Request(
        common_name=values.pop("common-name", ""),
        key_size=key_size_name(public),
        key_usage=tuple(key_usage_words(csr)),  # type: ignore[arg-type]
        days_valid=days_valid,
        subject_alt_name=format_subject_alt_name(san) if isinstance(san, x509.SubjectAlternativeName) else "",
        subject=values,
        digest=digest,
        crl_url=crl_url,
    )
    return build_certificate(request, issuer_key, now, issuer_pem, issuer_key, public_key=public)


# --- encoding ---------------------------------------------------------------------------------------


def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def key_to_pem(key: PrivateKey, passphrase: str = "") -> str:
    """PKCS#8 PEM, encrypted when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    if not passphrase:
        _remember(data.decode(), key)
    return data.decode()


def load_key(pem: str, passphrase: str = "") -> PrivateKey:
    """Raises ValueError/TypeError on a wrong or missing passphrase."""
    if not passphrase and (known := _PLAIN_KEYS.get(pem)) is not None:
        return known
    key = serialization.load_pem_private_key(pem.encode(), passphrase.encode() or None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PkiError("unsupported key type")
    if not passphrase:
        _remember(pem, key)
    return key


# Unencrypted PEM -> key, for keys this process wrote or read: loading checks an RSA key, which costs more
# than signing with it, and a hub loads its CA key per signature and each branch's key per export.
_PLAIN_KEYS: dict[str, PrivateKey] = {}
_PLAIN_KEYS_LOCK = threading.Lock()
MAX_PLAIN_KEYS = 4096


def _remember(pem: str, key: PrivateKey) -> None:
    with _PLAIN_KEYS_LOCK:
        if len(_PLAIN_KEYS) >= MAX_PLAIN_KEYS:
            _PLAIN_KEYS.pop(next(iter(_PLAIN_KEYS)))
        _PLAIN_KEYS[pem] = key


def public_key_bytes(key: object) -> bytes:
    """DER SubjectPublicKeyInfo of a key, certificate PEM or certificate: equal iff same key pair."""
    if isinstance(key, str):
        key = load_certificate(key).public_key()
    elif isinstance(key, x509.Certificate | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(pem: str) -> str:
    """SHA-256 of the DER certificate, lower-case hex without separators (RouterOS `fingerprint`)."""
    der = load_certificate(pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def export_pkcs12(
    name: str, cert_pem: str, key_pem: str | None, ca_pems: Sequence[str], passphrase: str
) -> bytes:
    """A PKCS#12 bundle (certificate, its key if any, and the CA chain) protected by `passphrase`."""
    key = load_key(key_pem) if key_pem else None
    cas = [load_certificate(p) for p in ca_pems]
    encryption = serialization.BestAvailableEncryption(passphrase.encode())
    return pkcs12.serialize_key_and_certificates(
        name.encode(), key, load_certificate(cert_pem), cas or None, encryption
    )


@dataclass
class FileContents:
    """What `/certificate import` found in one file."""

    certificates: list[str] = field(default_factory=list)  # PEM, in file order (leaf first for PKCS#12)
    keys: list[str] = field(default_factory=list)  # unencrypted PKCS#8 PEM (kept in router memory only)
    decryption_failures: int = 0


_PEM_CERT = ("-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----")
_KEY_MARKERS = ("PRIVATE KEY-----",)


def _pem_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("-----BEGIN "):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(current) + "\n")
                current = []
    return blocks


def read_file(data: bytes, passphrase: str = "") -> FileContents:
    """Parse a certificate/key file the way RouterOS import does: PEM (any mix), DER, or PKCS#12."""
    found = FileContents()
    text = data.decode("latin-1")
    if "-----BEGIN " in text:
        for block in _pem_blocks(text):
            if block.startswith(_PEM_CERT[0]):
                cert = x509.load_pem_x509_certificate(block.encode())
                found.certificates.append(cert.public_bytes(serialization.Encoding.PEM).decode())
            elif any(marker in block.splitlines()[0] for marker in _KEY_MARKERS):
                try:
                    found.keys.append(key_to_pem(load_key(block, passphrase)))
                except (ValueError, TypeError):
                    found.decryption_failures += 1
        return found
    try:
        cert = x509.load_der_x509_certificate(data)
        found.certificates.append(cert.public_bytes(serialization.Encoding.PEM).decode())
        return found
    except ValueError:
        pass
    try:
        bundle = pkcs12.load_pkcs12(data, passphrase.encode() or None)
    except (ValueError, TypeError):
        found.decryption_failures += 1
        return found
    certs = ([bundle.cert] if bundle.cert else []) + list(bundle.additional_certs)
    found.certificates = [c.certificate.public_bytes(serialization.Encoding.PEM).decode() for c in certs]
    if bundle.key is not None and isinstance(bundle.key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        found.keys.append(key_to_pem(bundle.key))
    return found


# --- description (RouterOS print fields) ------------------------------------------------------------


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def key_usage_words(cert: x509.Certificate) -> list[str]:
    """The certificate's key usage and extended key usage as RouterOS words, in RouterOS order."""
    words: list[str] = []
    ku = _extension(cert, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage):
        for word, attr in KEY_USAGE_BITS.items():
            if attr in ("encipher_only", "decipher_only") and not ku.key_agreement:
                continue
            if getattr(ku, attr):
                words.append(word)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if isinstance(eku, x509.ExtendedKeyUsage):
        oids = set(eku)
        words += [word for word, oid in EXTENDED_KEY_USAGES.items() if oid in oids]
    return words


def is_ca(cert: x509.Certificate) -> bool:
    bc = _extension(cert, x509.BasicConstraints)
    return isinstance(bc, x509.BasicConstraints) and bc.ca


def key_id(cert: x509.Certificate) -> str:
    ski = _extension(cert, x509.SubjectKeyIdentifier)
    if isinstance(ski, x509.SubjectKeyIdentifier):
        return ski.digest.hex()
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex()


def authority_key_id(cert: x509.Certificate) -> str:
    akid = _extension(cert, x509.AuthorityKeyIdentifier)
    if isinstance(akid, x509.AuthorityKeyIdentifier) and akid.key_identifier:
        return akid.key_identifier.hex()
    return ""


def describe(pem: str) -> dict[str, str]:
    """The RouterOS `print detail` fields that come from the certificate itself."""
    cert = load_certificate(pem)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    san = _extension(cert, x509.SubjectAlternativeName)
    san_text = format_subject_alt_name(san) if isinstance(san, x509.SubjectAlternativeName) else ""
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    values = {
        "issuer": format_name(cert.issuer),
        "common-name": str(cns[0].value) if cns else "",
        "subject-alt-name": san_text,
        "key-type": key_type_name(cert.public_key()),
        "key-size": key_size_name(cert.public_key()),  # type: ignore[arg-type]
        "days-valid": str((not_after - not_before).days),
        "key-usage": ",".join(key_usage_words(cert)),
        "digest-algorithm": cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else "",
        "serial-number": f"{cert.serial_number:X}",
        "fingerprint": fingerprint(pem),
        "akid": authority_key_id(cert),
        "skid": key_id(cert),
        "invalid-before": format_time(not_before),
        "invalid-after": format_time(not_after),
    }
    for arg, oid in SUBJECT_FIELDS.items():
        attrs = cert.subject.get_attributes_for_oid(oid)
        if arg != "common-name" and attrs:
            values[arg] = str(attrs[0].value)
    return values


# --- CRL and verification ---------------------------------------------------------------------------


def build_crl(ca_pem: str, ca_key: PrivateKey, revoked: Iterable[tuple[int, datetime]], now: datetime) -> str:
    """A CRL signed by the CA listing (serial, revocation time) pairs; next update in 24 h like RouterOS."""
    ca = load_certificate(ca_pem)
    this_update = now.astimezone(UTC).replace(microsecond=0)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(this_update)
        .next_update(this_update + timedelta(hours=24))
    )
    for serial, when in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM).decode()


def crl_fingerprint(crl_pem: str) -> str:
    """SHA-256 of the DER CRL, lower-case hex (the `fingerprint` of `/certificate crl`)."""
    der = x509.load_pem_x509_crl(crl_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _crl_signature_ok(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    public = issuer.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(
                crl.signature, crl.tbs_certlist_bytes, padding.PKCS1v15(), crl.signature_hash_algorithm
            )  # type: ignore[arg-type]
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(crl.signature, crl.tbs_certlist_bytes, ec.ECDSA(crl.signature_hash_algorithm))  # type: ignore[arg-type]
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verify(
    cert_pem: str,
    trusted_cas: Sequence[str],
    now: datetime,
    crls: Sequence[str] = (),
    required_usage: Sequence[str] = ("digital-signature",),
) -> str | None:
    """None when `cert_pem` is acceptable for IKE authentication, else a short reason.

    Reasons: "expired", "not yet valid", "unknown CA", "bad signature", "revoked", "missing key usage".
    The chain is followed through `trusted_cas` (any depth) up to a self-signed CA; each certificate on the
    way must be valid at `now`. CRLs (PEM) are applied when their signature checks against the issuer.
    `required_usage` lists RouterOS key-usage words the leaf must carry when it has a KeyUsage extension.
    """
    cert = load_certificate(cert_pem)
    cas = [load_certificate(p) for p in trusted_cas]
    revoked_lists = [x509.load_pem_x509_crl(p.encode()) for p in crls]
    chain: list[x509.Certificate] = [cert]
    current = cert
    for _ in range(8):
        if _self_issued(current) and any(_same(current, ca) for ca in cas):
            break
        candidates = [ca for ca in cas if ca.subject == current.issuer and not _same(ca, current)]
        if not candidates:
            return "unknown CA"
        issuer = next((ca for ca in candidates if _signed_by(current, ca)), None)
        if issuer is None:
            return "bad signature"
        if not is_ca(issuer):
            return "unknown CA"
        chain.append(issuer)
        if _self_issued(issuer):
            break
        current = issuer
    else:
        return "unknown CA"
    moment = now.astimezone(UTC)
    for link in chain:
        if moment > link.not_valid_after_utc:
            return "expired"
        if moment < link.not_valid_before_utc:
            return "not yet valid"
    for child, parent in itertools.pairwise(chain):
        for crl in revoked_lists:
            listed = crl.get_revoked_certificate_by_serial_number(child.serial_number) is not None
            if listed and crl.issuer == parent.subject and _crl_signature_ok(crl, parent):
                return "revoked"
    ku = _extension(cert, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage):
        words = set(key_usage_words(cert))
        if not all(word in words for word in required_usage if word in KEY_USAGE_BITS):
            return "missing key usage"
    return None


def issued_by(cert_pem: str, issuer_pem: str) -> bool:
    """True when `issuer_pem`'s key signed `cert_pem` (names match and the signature checks)."""
    return _signed_by(load_certificate(cert_pem), load_certificate(issuer_pem))


def _self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and _signed_by(cert, cert)


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a.fingerprint(hashes.SHA256()) == b.fingerprint(hashes.SHA256())
