"""`/certificate` handlers, called through the registry the console engine dispatches to."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ikefleet.lab import certificates, pki
from ikefleet.lab.commands import HANDLERS, Context
from ikefleet.lab.engine import Session
from ikefleet.lab.errors import CommandError
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.routeros.config import Item

PATH = certificates.PATH
TUNNEL = "digital-signature,key-encipherment,key-agreement,ipsec-tunnel"
PASSPHRASE = "lab-export-passphrase-7f3a"


def make_router(tmp_path: Path, name: str) -> Router:
    spec = RouterSpec(
        name=name,
        role="responder",
        host="127.0.0.1",
        port=0,
        username="admin",
        password="unused-in-these-tests",
        wan_address="203.0.113.1/24",
        lan_prefix="192.168.1.0/24",
    )
    return Router(spec=spec, directory=tmp_path / name)


def run(router: Router, command: str, targets: list[Item] | None = None, **args: str) -> str:
    ctx = Context(router=router, path=PATH, now=router.now())
    return HANDLERS[(PATH, command)](ctx, {k.replace("_", "-"): v for k, v in args.items()}, targets or [])


def template(router: Router, name: str, **values: str) -> Item:
    fields = {"name": name, "common-name": name, "key-size": "prime256v1"}
    fields.update({k.replace("_", "-"): v for k, v in values.items()})
    return router.config.add(PATH, fields)


def cert(router: Router, name: str) -> Item:
    item = certificates.find_cert(router, name)
    assert item is not None, name
    return item


@pytest.fixture
def hub(tmp_path: Path) -> Router:
    """A router holding a CA and a server and a client certificate issued by it (the seed's R1)."""
    router = make_router(tmp_path, "R1")
    run(router, "sign", [template(router, "ca", key_usage="key-cert-sign,crl-sign", days_valid="5890")])
    for name, san in (("server", "IP:203.0.113.1"), ("client", "")):
        item = template(router, name, key_usage=TUNNEL, days_valid="3650", subject_alt_name=san)
        run(router, "sign", [item], ca="ca", once="", do="")
    return router


def test_sign_self_signed_ca(tmp_path: Path) -> None:
    router = make_router(tmp_path, "R1")
    item = template(router, "ca", key_usage="key-cert-sign,crl-sign", days_valid="5890")
    assert certificates.cert_flags(item, router.now()) == ""
    assert run(router, "sign", [item]) == "  progress: done"
    assert certificates.cert_flags(item, router.now()) == "KAT"
    assert item.values["issuer"] == "CN=ca" and item.values["trusted"] == "yes"
    assert item.values["fingerprint"] == pki.fingerprint(item.private["certificate"])
    assert item.values["key-usage"] == "key-cert-sign,crl-sign"
    assert pki.is_ca(pki.load_certificate(item.private["certificate"]))
    assert pki.public_key_bytes(pki.load_key(item.private["key"])) == pki.public_key_bytes(
        item.private["certificate"]
    )


def test_issued_certificates_validate_against_the_ca(hub: Router) -> None:
    server = cert(hub, "server")
    assert certificates.cert_flags(server, hub.now()) == "KIT"
    assert server.values["ca"] == "ca"
    assert server.values["subject-alt-name"] == "IP:203.0.113.1"
    assert server.values["key-usage"] == TUNNEL
    assert server.values["issuer"] == "CN=ca"
    ca_pem = cert(hub, "ca").private["certificate"]
    assert pki.verify(server.private["certificate"], [ca_pem], hub.now()) is None
    assert not pki.is_ca(pki.load_certificate(server.private["certificate"]))


def test_sign_uses_the_router_clock(tmp_path: Path) -> None:
    router = make_router(tmp_path, "R1")
    router.faults.clock_offset_s = -400 * 86400
    item = template(router, "skewed", days_valid="30")
    run(router, "sign", [item])
    not_before = pki.load_certificate(item.private["certificate"]).not_valid_before_utc
    assert abs(not_before - router.now()) < timedelta(minutes=5)
    router.faults.clock_offset_s = 0
    assert "E" in certificates.cert_flags(item, router.now())
    assert certificates.cert_status(item, router.now()) == {"expired": "yes"}


def test_sign_refusals(hub: Router) -> None:
    imported = hub.config.add(PATH, {"name": "nokey", "trusted": "yes"})
    imported.private["certificate"] = cert(hub, "ca").private["certificate"]
    with pytest.raises(CommandError, match="no private key"):
        run(hub, "sign", [template(hub, "a")], ca="nokey")
    with pytest.raises(CommandError, match="not a CA"):
        run(hub, "sign", [template(hub, "b")], ca="server")
    with pytest.raises(CommandError, match=r"^input does not match any value of ca$"):
        run(hub, "sign", [template(hub, "c")], ca="missing")
    with pytest.raises(CommandError, match="already signed"):
        run(hub, "sign", [cert(hub, "server")])
    with pytest.raises(CommandError, match=r"^no such item$"):
        run(hub, "sign", [])


def test_sign_renames_and_keeps_ca_crl_host(tmp_path: Path) -> None:
    router = make_router(tmp_path, "R1")
    item = template(router, "CA-Template", key_usage="key-cert-sign,crl-sign")
    run(router, "sign", [item], name="ServerCA", ca_crl_host="198.51.100.9")
    assert cert(router, "ServerCA") is item and item.values["ca-crl-host"] == "198.51.100.9"
    leaf = template(router, "leaf")
    run(router, "sign", [leaf], ca="ServerCA")
    points = pki.load_certificate(leaf.private["certificate"]).extensions.get_extension_for_class(
        pki.x509.CRLDistributionPoints
    )
    assert points.value[0].full_name[0].value.startswith("http://198.51.100.9/crl/")


def test_export_pem_writes_cert_and_encrypted_key_only_with_passphrase(hub: Router) -> None:
    server = cert(hub, "server")
    run(hub, "export-certificate", [server], type="pem", file_name="server")
    assert hub.files.read("server.crt").decode() == server.private["certificate"]
    assert not hub.files.exists("server.key")
    run(hub, "export-certificate", [server], export_passphrase=PASSPHRASE)
    key_file = hub.files.read("cert_export_server.key").decode()
    assert "ENCRYPTED PRIVATE KEY" in key_file
    with pytest.raises((TypeError, ValueError)):
        pki.load_key(key_file)
    assert pki.public_key_bytes(pki.load_key(key_file, PASSPHRASE)) == pki.public_key_bytes(
        server.private["certificate"]
    )
    with pytest.raises(CommandError, match="at least 8"):
        run(hub, "export-certificate", [server], export_passphrase="1234567")


def test_export_pkcs12_needs_a_passphrase_and_carries_the_chain(hub: Router) -> None:
    client = cert(hub, "client")
    with pytest.raises(CommandError, match="passphrase"):
        run(hub, "export-certificate", [client], type="pkcs12")
    run(hub, "export-certificate", [client], type="pkcs12", export_passphrase="12345678", file_name="client")
    found = pki.read_file(hub.files.read("client.p12"), "12345678")
    assert found.certificates == [client.private["certificate"], cert(hub, "ca").private["certificate"]]
    assert len(found.keys) == 1


def test_export_of_a_template_fails(hub: Router) -> None:
    with pytest.raises(CommandError, match="not signed"):
        run(hub, "export-certificate", [template(hub, "unsigned")])


def transfer(src: Router, dst: Router, name: str) -> None:
    dst.files.write(name, src.files.read(name))


def test_import_pkcs12_like_the_seed(hub: Router, tmp_path: Path) -> None:
    branch = make_router(tmp_path, "R2")
    run(hub, "export-certificate", [cert(hub, "client")], type="pkcs12", export_passphrase="12345678",
        file_name="client")  # fmt: skip
    run(hub, "export-certificate", [cert(hub, "server")], type="pem", file_name="server")
    transfer(hub, branch, "client.p12")
    transfer(hub, branch, "server.crt")
    out = run(branch, "import", file_name="client.p12", name="client", passphrase="12345678")
    assert out.splitlines() == [
        "     certificates-imported: 2",
        "     private-keys-imported: 1",
        "            files-imported: 1",
        "       decryption-failures: 0",
        "  keys-with-no-certificate: 0",
    ]
    assert "PRIVATE" not in out and "12345678" not in out
    assert certificates.cert_flags(cert(branch, "client"), branch.now()) == "KT"
    assert certificates.cert_flags(cert(branch, "client_1"), branch.now()) == "T"
    assert cert(branch, "client_1").values["common-name"] == "ca"
    run(branch, "import", file_name="server.crt", name="server", passphrase="")
    server = cert(branch, "server")
    assert certificates.cert_flags(server, branch.now()) == "T"
    anchors = certificates.trusted_ca_pems(branch)
    assert pki.verify(server.private["certificate"], anchors, branch.now()) is None


def test_import_wrong_passphrase_counts_a_decryption_failure(hub: Router, tmp_path: Path) -> None:
    branch = make_router(tmp_path, "R2")
    run(hub, "export-certificate", [cert(hub, "client")], type="pkcs12", export_passphrase="12345678",
        file_name="client")  # fmt: skip
    transfer(hub, branch, "client.p12")
    out = run(branch, "import", file_name="client.p12", passphrase="87654321")
    assert "decryption-failures: 1" in out and "certificates-imported: 0" in out
    assert certificates.certificates(branch) == []


def test_import_key_file_attaches_to_matching_certificate(hub: Router, tmp_path: Path) -> None:
    branch = make_router(tmp_path, "R2")
    run(hub, "export-certificate", [cert(hub, "server")], export_passphrase=PASSPHRASE)
    transfer(hub, branch, "cert_export_server.crt")
    transfer(hub, branch, "cert_export_server.key")
    out = run(branch, "import", file_name="cert_export_server.key", passphrase=PASSPHRASE)
    assert "keys-with-no-certificate: 1" in out  # the certificate is not there yet
    run(branch, "import", file_name="cert_export_server.crt")
    imported = cert(branch, "cert_export_server.crt_0")
    assert certificates.cert_flags(imported, branch.now()) == "T"
    out = run(branch, "import", file_name="cert_export_server.key", passphrase=PASSPHRASE)
    assert "private-keys-imported: 1" in out
    assert certificates.cert_flags(imported, branch.now()) == "KT"


def test_import_missing_file_fails(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        run(make_router(tmp_path, "R2"), "import", file_name="absent.p12")


def test_remove_ca_removes_what_it_signed(hub: Router) -> None:
    other = template(hub, "other-ca", key_usage="key-cert-sign,crl-sign")
    run(hub, "sign", [other])
    run(hub, "sign", [template(hub, "other-leaf")], ca="other-ca")
    run(hub, "remove", [cert(hub, "client")])
    assert certificates.find_cert(hub, "client") is None and certificates.find_cert(hub, "ca") is not None
    run(hub, "remove", [cert(hub, "ca")])
    assert [item.get("name") for item in certificates.certificates(hub)] == ["other-ca", "other-leaf"]


def test_issued_revoke_marks_r_and_publishes_a_crl(hub: Router) -> None:
    client = cert(hub, "client")
    run(hub, "issued-revoke", [client])
    assert certificates.cert_flags(client, hub.now()) == "KR"  # R takes the place of I
    assert "L" in certificates.cert_flags(cert(hub, "ca"), hub.now())
    crls = hub.config.items(certificates.CRL_PATH)
    assert len(crls) == 1 and crls[0].values["issuer"] == "CN=ca"
    assert crls[0].values["revoked"] == client.values["serial-number"]
    cas = [cert(hub, "ca").private["certificate"]]
    assert certificates.crl_pems(hub) == []  # crl-use=no by default: revocation is not checked
    assert pki.verify(client.private["certificate"], cas, hub.now(), crls=certificates.crl_pems(hub)) is None
    hub.config.add(certificates.SETTINGS_PATH, {"crl-use": "yes"})
    crl = certificates.crl_pems(hub)
    assert pki.verify(client.private["certificate"], cas, hub.now(), crls=crl) == "revoked"
    assert pki.verify(cert(hub, "server").private["certificate"], cas, hub.now(), crls=crl) is None
    with pytest.raises(CommandError):
        run(hub, "issued-revoke", [cert(hub, "ca")])


def test_status_shows_time_left(hub: Router) -> None:
    certificates.refresh_status(hub)
    status = cert(hub, "server").status
    assert status["expires-after"].startswith("521w")  # 3650 days = 521 weeks and 3 days


# The seed's certificate steps (RouterOS 6.49), typed into the console. Changed from the seed: the WAN
# address (documentation range), the leaf key size (2048 instead of
# 4096, for speed; the CA keeps 4096), `settings set` instead of the interactive `settings edit`, and the
# imported file names, which carry the extensions export-certificate gives them.
TUNNEL_USAGE = "key-usage=digital-signature,key-encipherment,key-agreement,ipsec-tunnel"
SEED_HUB = (
    ':global certca "ca"',
    "/certificate add name=$certca key-size=4096 common-name=$certca key-usage=key-cert-sign,crl-sign"
    " days-valid=5890",
    "/certificate sign [find where name=$certca]",
    "/certificate settings set crl-use=yes",
    ':global certserver "server"',
    f"/certificate add name=$certserver key-size=2048 common-name=$certserver {TUNNEL_USAGE}"
    " days-valid=3650 subject-alt-name=IP:203.0.113.1",
    "/certificate sign [find where name=$certserver] ca=$certca once do={}",
    ":delay 130",
    "/certificate export-certificate [find where name=$certserver] type=pem file-name=$certserver",
    ':global certclient "client"',
    f"/certificate add name=$certclient key-size=2048 common-name=$certclient {TUNNEL_USAGE} days-valid=3650",
    "/certificate sign [find where name=$certclient] ca=$certca once do={}",
    ":delay 130",
    "/certificate export-certificate [find where name=$certclient] type=pkcs12 export-passphrase=12345678"
    " file-name=$certclient",
)
SEED_BRANCH = (
    ':global certclient "client"',
    ':global certserver "server"',
    "/certificate import file-name=client.p12 name=$certclient passphrase=12345678",
    '/certificate import file-name=server.crt name=$certserver passphrase=""',
)
ERROR_STARTS = (
    "failure",
    "bad command",
    "syntax error",
    "expected",
    "no such item",
    "invalid value",
    "missing",
)


def console(router: Router, lines: tuple[str, ...]) -> list[str]:
    session = Session(router, "admin")
    outputs = [session.execute(line) for line in lines]
    for line, out in zip(lines, outputs, strict=True):
        assert not out.startswith(ERROR_STARTS), f"{line!r} -> {out!r}"
        assert "PRIVATE KEY" not in out and "12345678" not in out
    return outputs


def test_seed_certificate_steps_through_the_console(tmp_path: Path) -> None:
    hub, branch = make_router(tmp_path, "R1"), make_router(tmp_path, "R2")
    console(hub, SEED_HUB)
    ca, server, client = cert(hub, "ca"), cert(hub, "server"), cert(hub, "client")
    assert pki.load_certificate(ca.private["certificate"]).public_key().key_size == 4096
    assert [certificates.cert_flags(i, hub.now()) for i in (ca, server, client)] == ["KAT", "KIT", "KIT"]
    assert sorted(hub.files.names()) == ["client.p12", "server.crt"]
    transfer(hub, branch, "client.p12")
    transfer(hub, branch, "server.crt")
    outputs = console(branch, SEED_BRANCH)
    assert outputs[2].splitlines()[0] == "     certificates-imported: 2"
    assert outputs[2].splitlines()[1] == "     private-keys-imported: 1"
    assert outputs[3].splitlines()[:2] == ["     certificates-imported: 1", "     private-keys-imported: 0"]
    names = {
        i.get("name"): certificates.cert_flags(i, branch.now()) for i in certificates.certificates(branch)
    }
    assert names == {"client": "KT", "client_1": "T", "server": "T"}
    assert cert(branch, "server").get("fingerprint") == server.get("fingerprint")
    anchors = certificates.trusted_ca_pems(branch)
    assert pki.verify(cert(branch, "server").private["certificate"], anchors, branch.now()) is None
    detail = Session(hub, "admin", width=400).execute("/certificate print detail where name=server")
    assert "issuer=CN=ca" in detail and 'subject-alt-name="IP:203.0.113.1"' in detail
    assert server.get("fingerprint") in detail.replace("\n", "").replace(" ", "")


def test_import_pem_with_certificate_and_key_in_one_file(hub: Router, tmp_path: Path) -> None:
    branch = make_router(tmp_path, "R2")
    run(hub, "export-certificate", [cert(hub, "server")], export_passphrase=PASSPHRASE, file_name="srv")
    branch.files.write("bundle.pem", hub.files.read("srv.crt") + hub.files.read("srv.key"))
    out = run(branch, "import", file_name="bundle.pem", passphrase=PASSPHRASE)
    assert "certificates-imported: 1" in out and "private-keys-imported: 1" in out
    assert certificates.cert_flags(cert(branch, "bundle.pem_0"), branch.now()) == "KT"
    out = run(branch, "import", file_name="bundle.pem", passphrase=PASSPHRASE)
    assert "certificates-imported: 0" in out  # the same certificate is not added twice
    assert len(certificates.certificates(branch)) == 1


def test_untrusted_and_revoked_certificates_are_no_trust_anchors(hub: Router) -> None:
    ca = cert(hub, "ca")
    assert ca.private["certificate"] in certificates.trusted_ca_pems(hub)
    ca.values["trusted"] = "no"
    assert ca.private["certificate"] not in certificates.trusted_ca_pems(hub)
    assert certificates.cert_flags(ca, hub.now()) == "KA"
    server = cert(hub, "server")
    run(hub, "issued-revoke", [server])
    assert server.private["certificate"] not in certificates.trusted_ca_pems(hub)


def test_console_sign_by_name_and_remove_cascade(tmp_path: Path) -> None:
    router = make_router(tmp_path, "R1")
    session = Session(router, "admin")
    for line in (
        "/certificate add name=root common-name=root key-size=prime256v1 key-usage=key-cert-sign,crl-sign",
        "/certificate sign root",
        "/certificate add name=leaf common-name=leaf key-size=prime256v1 key-usage=digital-signature",
        "/certificate sign leaf ca=root name=leaf-signed",
    ):
        assert session.execute(line) in ("", "  progress: done"), line
    assert cert(router, "leaf-signed").get("ca") == "root"
    assert session.execute("/certificate remove root") == ""
    assert certificates.certificates(router) == []


def test_console_sign_is_seen_as_a_change_and_safe_mode_drop_undoes_it(tmp_path: Path) -> None:
    router = make_router(tmp_path, "R1")
    changes: list[str] = []
    router.listeners.append(lambda r: changes.append(r.name))
    session = Session(router, "admin")
    session.execute("/certificate add name=ca common-name=ca key-size=prime256v1 key-usage=key-cert-sign")
    changes.clear()
    session.toggle_safe_mode()
    assert session.execute("/certificate sign ca") == "  progress: done"
    assert changes == ["R1"]  # persisted and recomputed
    assert certificates.is_signed(cert(router, "ca"))
    session.close(dropped=True)
    assert not certificates.is_signed(cert(router, "ca"))
    assert "fingerprint" not in cert(router, "ca").values


@pytest.mark.parametrize("command", certificates.UNSUPPORTED)
def test_unmodelled_commands_fail_cleanly(tmp_path: Path, command: str) -> None:
    out = Session(make_router(tmp_path, "R1"), "admin").execute(f"/certificate {command}")
    assert out == f"failure: {command} is not available on this router"
