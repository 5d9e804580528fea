"""`/certificate sign-certificate-request` in the lab: a branch makes its key and request, the hub's CA signs
the request, the branch imports the certificate and joins its own key to it (issue 19, branch-made keys)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509

from ikefleet.lab import certificates, pki
from ikefleet.lab.engine import Session
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.routeros import keygen

TUNNEL = "digital-signature,key-encipherment,key-agreement,ipsec-tunnel"
KEY_PASSPHRASE = "lab-key-passphrase-51c2"


def make_router(tmp_path: Path, name: str, version: str = "7.16.1") -> Router:
    spec = RouterSpec(name=name, role="responder", host="127.0.0.1", port=0, username="admin",
                      password="unused-in-these-tests", wan_address="203.0.113.1/24",
                      lan_prefix="192.168.1.0/24", version=version)
    return Router(spec=spec, directory=tmp_path / name)


def hub_with_ca(tmp_path: Path, version: str = "7.16.1") -> tuple[Router, Session]:
    hub = make_router(tmp_path, "hub", version)
    console = Session(hub, "admin")
    console.execute("/certificate add name=ca common-name=ca key-size=prime256v1 "
                    "key-usage=key-cert-sign,crl-sign")
    assert console.execute("/certificate sign ca") == "  progress: done"
    return hub, console


def branch_request(tmp_path: Path) -> tuple[Router, Session]:
    branch = make_router(tmp_path, "br1")
    console = Session(branch, "admin")
    console.execute(f"/certificate add name=br1-client common-name=br1-client key-size=prime256v1 "
                    f"key-usage={TUNNEL} subject-alt-name=IP:198.51.100.2")
    out = console.execute(f"/certificate create-certificate-request template=br1-client "
                          f"key-passphrase={KEY_PASSPHRASE}")
    assert out == "  progress: done"
    assert all(branch.files.exists(f) for f in ("certificate-request.pem", "certificate-request_key.pem"))
    assert certificates.find_cert(branch, "br1-client") is None  # the template goes with the request
    return branch, console


def test_the_hub_signs_a_branch_request_and_the_key_stays_on_the_branch(tmp_path: Path) -> None:
    hub, hub_console = hub_with_ca(tmp_path)
    branch, branch_console = branch_request(tmp_path)
    hub.files.write("br1.csr", branch.files.read("certificate-request.pem"))
    sign = "/certificate sign-certificate-request ca=ca file-name=br1.csr days-valid=30"
    assert hub_console.execute(sign) == ""

    signed = certificates.find_cert(hub, "br1.csr_0")
    assert signed is not None and certificates.is_signed(signed)
    assert "key" not in signed.private  # the hub never had the branch's key
    assert certificates.cert_flags(signed, hub.now()) == "IT"
    assert signed.values["ca"] == "ca" and signed.values["common-name"] == "br1-client"
    cert = pki.load_certificate(signed.private["certificate"])
    ca = certificates.find_cert(hub, "ca")
    assert ca is not None and pki.issued_by(signed.private["certificate"], ca.private["certificate"])
    assert pki.key_usage_words(cert) == pki.split_words(TUNNEL)
    assert signed.values["subject-alt-name"] == "IP:198.51.100.2"
    assert 29 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 30
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    # back on the branch: the certificate, then its own key, joined by the public key (K flag)
    hub_console.execute('/certificate export-certificate [find where name="br1.csr_0"] type=pem '
                        "file-name=out")
    branch.files.write("br1.crt", hub.files.read("out.crt"))
    branch_console.execute("/certificate import file-name=br1.crt name=br1-client passphrase=\"\"")
    imported = branch_console.execute(
        f"/certificate import file-name=certificate-request_key.pem passphrase={KEY_PASSPHRASE}")
    assert "private-keys-imported: 1" in imported
    mine = certificates.find_cert(branch, "br1-client")
    assert mine is not None and mine.values["private-key"] == "yes"
    assert mine.values["fingerprint"] == signed.values["fingerprint"]


@pytest.mark.parametrize("version", ["6.49.2", "7.8"])
def test_routers_before_7_9_do_not_have_the_command(tmp_path: Path, version: str) -> None:
    hub, console = hub_with_ca(tmp_path, version)
    hub.files.write("br1.csr", b"")
    out = console.execute("/certificate sign-certificate-request ca=ca file-name=br1.csr")
    assert out.startswith("bad command name sign-certificate-request")
    assert [c.get("name") for c in certificates.certificates(hub)] == ["ca"]


def test_a_forged_request_is_refused_and_nothing_is_added(tmp_path: Path) -> None:
    hub, console = hub_with_ca(tmp_path)
    branch, _ = branch_request(tmp_path)
    # a request altered on its way: it no longer parses, or its signature no longer matches
    hub.files.write("forged.csr", branch.files.read("certificate-request.pem").replace(b"M", b"N", 3))
    hub.files.write("missing-ca.csr", branch.files.read("certificate-request.pem"))
    out = console.execute("/certificate sign-certificate-request ca=ca file-name=forged.csr")
    assert out.startswith("failure:")
    assert console.execute("/certificate sign-certificate-request ca=nope file-name=missing-ca.csr") == \
        certificates.ERRORS["no-such-ca"]
    assert console.execute("/certificate sign-certificate-request ca=ca file-name=none.csr") == \
        certificates.ERRORS["no-file"]
    assert [c.get("name") for c in certificates.certificates(hub)] == ["ca"]


def test_signing_holds_the_console_for_the_hub_models_time(tmp_path: Path) -> None:
    hub, _ = hub_with_ca(tmp_path)
    branch, _ = branch_request(tmp_path)
    hub.spec = replace(hub.spec, model="RB750Gr3")  # mmips: the slowest common class
    hub.clock.time_scale = 1.0
    hub.files.write("br1.csr", branch.files.read("certificate-request.pem"))
    console = Session(hub, "admin")
    start = time.monotonic()
    console.execute("/certificate sign-certificate-request ca=ca file-name=br1.csr")
    assert time.monotonic() - start >= keygen.request_seconds("RB750Gr3") * 0.9
