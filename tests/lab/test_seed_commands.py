"""Every configuring command of the seed procedure is accepted as written, and `/export` then shows it.

Only WAN addresses (documentation ranges) and certificate file names differ from the seed (`:delay 130` is
kept: the lab's signing takes time, scaled like `:delay`).
Each block runs in a fresh console session, as a reader pasting one block at a time would. The lab fabric
recomputes dynamic state on every change, so the dynamic OSPF interfaces the seed copies exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec

HUB_WAN, BRANCH_WAN = "203.0.113.1", "198.51.100.2"

R1_CERTS = f"""
/system ntp client set server-dns-names=ru.pool.ntp.org enabled=yes
:global certca "ca"
/certificate add name=$certca key-size=4096 common-name=$certca key-usage=key-cert-sign,crl-sign days-valid=5890
/certificate sign [find where name=$certca]
:global certserver "server"
/certificate add name=$certserver key-size=4096 common-name=$certserver key-usage=digital-signature,key-encipherment,key-agreement,ipsec-tunnel days-valid=3650 subject-alt-name=IP:{HUB_WAN}
/certificate sign [find where name=$certserver] ca=$certca once do={{}}
:delay 130
/certificate export-certificate [find where name=$certserver] type=pem file-name=$certserver
:global certclient "client"
/certificate add name=$certclient key-size=4096 common-name=$certclient key-usage=digital-signature,key-encipherment,key-agreement,ipsec-tunnel days-valid=3650
/certificate sign [find where name=$certclient] ca=$certca once do={{}}
:delay 130
/certificate export-certificate [find where name=$certclient] type=pkcs12 export-passphrase=12345678 file-name=$certclient
"""  # noqa: E501

R2_CERTS = """
/system ntp client set server-dns-names=ru.pool.ntp.org enabled=yes
:global certclient "client"
:global certserver "server"
/certificate import file-name=client.p12 name=$certclient passphrase=12345678
/certificate import file-name=server.crt name=$certserver passphrase=""
"""

R1_FIREWALL = """
/ip firewall filter
add action=accept chain=input dst-port=500,4500 in-interface-list=WAN protocol=udp place-before=0
add action=accept chain=input in-interface-list=WAN protocol=ipsec-esp place-before=0
"""

R1_IPSEC = f"""
ip ipsec policy group add name=IKEv2
/ip ipsec proposal add name=SHA256 auth-algorithms=sha256 enc-algorithms=aes-256-cbc lifetime=00:30:00 pfs-group=modp4096
/ip ipsec mode-config add name=client responder=yes address=10.0.0.2 system-dns=no
/ip ipsec profile add name=SHA256 hash-algorithm=sha256 prf-algorithm=sha256 enc-algorithm=aes-256 dh-group=modp4096 lifetime=12:00:00 dpd-interval=15
/ip ipsec peer add name=local local-address={HUB_WAN} profile=SHA256 exchange-mode=ike2 passive=yes send-initial-contact=no
/ip ipsec identity add peer=local auth-method=digital-signature certificate=$certserver remote-certificate=$certclient policy-template-group=IKEv2 notrack-chain=prerouting match-by=certificate mode-config=client generate-policy=port-strict
/ip ipsec policy add template=yes group=IKEv2 protocol=255 action=encrypt ipsec-protocols=esp proposal=SHA256
/interface bridge add name=IPsec protocol-mode=none
/ip address add address=10.0.0.1 interface=IPsec
"""  # noqa: E501

R2_IPSEC = f"""
/ip ipsec policy group add name=IKEv2
/ip ipsec proposal add name=SHA256 auth-algorithms=sha256 enc-algorithms=aes-256-cbc lifetime=00:30:00 pfs-group=modp4096
/ip ipsec profile add name=SHA256 hash-algorithm=sha256 prf-algorithm=sha256 enc-algorithm=aes-256 dh-group=modp4096 lifetime=12:00:00 dpd-interval=15
/ip ipsec peer add name=server address={HUB_WAN} profile=SHA256 exchange-mode=ike2 passive=no send-initial-contact=yes
/ip ipsec identity add peer=server auth-method=digital-signature certificate=$certclient remote-certificate=$certserver policy-template-group=IKEv2 notrack-chain=prerouting match-by=certificate mode-config=request-only generate-policy=port-strict
/ip ipsec policy add template=yes group=IKEv2 protocol=255 action=encrypt ipsec-protocols=esp proposal=SHA256
"""  # noqa: E501

R1_EOIP = """
/interface eoip add name=EoIP-Tunnel local-address=10.0.0.1 remote-address=10.0.0.2 tunnel-id=1
/ip address add address=172.16.0.1/30 interface=EoIP-Tunnel
"""
R2_EOIP = """
/interface eoip add name=EoIP-Tunnel local-address=10.0.0.2 remote-address=10.0.0.1 tunnel-id=1
/ip address add address=172.16.0.2/30 interface=EoIP-Tunnel
"""


def ospf(lan: str, router_id: str) -> str:
    return f"""
/routing ospf network add network=172.16.0.0/24 area=backbone
/routing ospf network add network={lan} area=backbone
/routing ospf instance set router-id={router_id} redistribute-connected=as-type-1 [find where name=default]
/routing ospf interface add copy-from=[find where interface=EoIP-Tunnel] use-bfd=yes network-type=point-to-point
/routing ospf interface add copy-from=[find where interface=bridge] passive=yes
"""  # noqa: E501


FILTERS = """
/routing filter
add action=accept chain=ospf-out prefix=192.168.0.0/16 prefix-length=16-32
add action=discard chain=ospf-out
add action=discard chain=ospf-in prefix=172.16.0.0/24 prefix-length=30
"""

BACKUP = "/system backup save password=1234567890"


@pytest.fixture
def routers(tmp_path: Path) -> tuple[Router, Router]:
    r1 = RouterSpec("R1", "responder", "127.0.0.1", 1, "admin", "pw", f"{HUB_WAN}/24", "192.168.1.0/24")
    r2 = RouterSpec("R2", "initiator", "127.0.0.1", 1, "admin", "pw", f"{BRANCH_WAN}/24", "192.168.2.0/24")
    hub = Router(r1, tmp_path / "R1", config=initial_config(r1))
    branch = Router(r2, tmp_path / "R2", config=initial_config(r2))
    fabric = pytest.importorskip("ikefleet.lab.fabric")

    def recompute(_: Router) -> None:
        fabric.recompute([hub, branch], datetime.now(UTC))

    for router in (hub, branch):
        router.listeners.append(recompute)
    recompute(hub)
    return hub, branch


def run_block(router: Router, block: str) -> list[tuple[str, str]]:
    session = Session(router, "admin")
    results = []
    for line in block.strip().splitlines():
        results.append((line, session.execute(line)))
    return results


ERROR_MARKS = ("failure", "bad command", "syntax error", "expected", "no such item", "invalid value",
               "input does not match", "ambiguous")  # fmt: skip


def assert_accepted(results: list[tuple[str, str]]) -> None:
    for line, out in results:
        assert not any(out.startswith(mark) for mark in ERROR_MARKS), f"{line!r} -> {out!r}"


def test_seed_is_accepted_and_exported(routers: tuple[Router, Router]) -> None:
    hub, branch = routers
    assert_accepted(run_block(hub, R1_CERTS))
    for name in ("client.p12", "server.crt"):
        branch.files.write(name, hub.files.read(name))
    assert_accepted(run_block(branch, R2_CERTS))
    assert_accepted(run_block(hub, R1_FIREWALL))
    assert_accepted(run_block(hub, R1_IPSEC))
    assert_accepted(run_block(branch, R2_IPSEC))
    assert_accepted(run_block(hub, R1_EOIP))
    assert_accepted(run_block(branch, R2_EOIP))
    assert_accepted(run_block(hub, ospf("192.168.1.0/24", "192.168.1.1")))
    assert_accepted(run_block(branch, ospf("192.168.2.0/24", "192.168.2.1")))
    assert_accepted(run_block(hub, FILTERS))
    assert_accepted(run_block(branch, FILTERS))
    assert_accepted(run_block(hub, BACKUP))

    export = Session(hub, "admin", width=250).execute("/export")
    for line in (
        "add action=accept chain=input dst-port=500,4500 in-interface-list=WAN protocol=udp",
        "add action=accept chain=input in-interface-list=WAN protocol=ipsec-esp",
        "add name=IKEv2",
        "add auth-algorithms=sha256 enc-algorithms=aes-256-cbc name=SHA256 pfs-group=modp4096",
        "add address=10.0.0.2 name=client responder=yes system-dns=no",
        "add dh-group=modp4096 dpd-interval=15s enc-algorithm=aes-256 hash-algorithm=sha256 lifetime=12h "
        "name=SHA256 prf-algorithm=sha256",
        f"add exchange-mode=ike2 local-address={HUB_WAN} name=local passive=yes profile=SHA256 "
        "send-initial-contact=no",
        "add auth-method=digital-signature certificate=server generate-policy=port-strict "
        "match-by=certificate mode-config=client notrack-chain=prerouting peer=local "
        "policy-template-group=IKEv2 remote-certificate=client",
        "add dst-address=0.0.0.0/0 group=IKEv2 proposal=SHA256 src-address=0.0.0.0/0 template=yes",
        "add name=IPsec protocol-mode=none",
        "add address=10.0.0.1 interface=IPsec network=10.0.0.1",
        "add local-address=10.0.0.1 name=EoIP-Tunnel remote-address=10.0.0.2 tunnel-id=1",
        "add address=172.16.0.1/30 interface=EoIP-Tunnel network=172.16.0.0",
        "add area=backbone network=172.16.0.0/24",
        "add area=backbone network=192.168.1.0/24",
        "set [ find default=yes ] redistribute-connected=as-type-1 router-id=192.168.1.1",
        "add interface=EoIP-Tunnel network-type=point-to-point use-bfd=yes",
        "add action=accept chain=ospf-out prefix=192.168.0.0/16 prefix-length=16-32",
        "add action=discard chain=ospf-out",
        "add action=discard chain=ospf-in prefix=172.16.0.0/24 prefix-length=30",
        "set enabled=yes server-dns-names=ru.pool.ntp.org",
    ):
        assert line in export.splitlines(), line
    # The copied dynamic interface keeps what the fabric gave it (network-type), plus passive=yes.
    assert any("interface=bridge" in x and "passive=yes" in x for x in export.splitlines())
    # The IKE/ESP accept rules went above the factory input rules (place-before=0, twice).
    filters = Session(hub, "admin", width=250).execute("/ip firewall filter export terse").splitlines()
    assert "protocol=ipsec-esp" in filters[5] and "dst-port=500,4500" in filters[6]
    backups = [n for n in hub.files.names() if n.endswith(".backup")]
    assert len(backups) == 1 and b"1234567890" not in hub.files.read(backups[0])

    branch_export = Session(branch, "admin", width=250).execute("/export")
    assert (
        "add auth-method=digital-signature certificate=client generate-policy=port-strict "
        "match-by=certificate mode-config=request-only notrack-chain=prerouting peer=server "
        "policy-template-group=IKEv2 remote-certificate=server" in branch_export.splitlines()
    )
    assert f"add address={HUB_WAN}/32 exchange-mode=ike2 name=server profile=SHA256" in branch_export
