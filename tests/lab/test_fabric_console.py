# ruff: noqa: E501  (the seed's command lines are kept verbatim, however long)
"""End to end through the console engine: the seed's commands pasted into R1 and R2 (only addresses
changed: 1.1.1.1 -> 203.0.113.1), certificate files carried between the routers, then state via `print`.

The seed writes `ip ipsec policy group add` without the leading `/` right after the `/ip firewall filter`
block; pasted in one go RouterOS answers `bad command name ip`, so the slash is added here. The interactive
`settings edit crl-use` is replaced by `settings set crl-use=yes`. `:delay 130` stays: the lab's signing takes
time (scaled, as `:delay` is)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ikefleet.lab import fabric
from ikefleet.lab.router import Router, RouterSpec

engine = pytest.importorskip("ikefleet.lab.engine")
factory = pytest.importorskip("ikefleet.lab.factory")

R1_CERTS = """
:global certca "ca"
/certificate add name=$certca key-size=4096 common-name=$certca key-usage=key-cert-sign,crl-sign days-valid=5890
/certificate sign [find where name=$certca]
/certificate settings set crl-use=yes
:global certserver "server"
/certificate add name=$certserver key-size=4096 common-name=$certserver key-usage=digital-signature,key-encipherment,key-agreement,ipsec-tunnel days-valid=3650 subject-alt-name=IP:203.0.113.1
/certificate sign [find where name=$certserver] ca=$certca once do={}
:delay 130
/certificate export-certificate [find where name=$certserver] type=pem file-name=$certserver
:global certclient "client"
/certificate add name=$certclient key-size=4096 common-name=$certclient key-usage=digital-signature,key-encipherment,key-agreement,ipsec-tunnel days-valid=3650
/certificate sign [find where name=$certclient] ca=$certca once do={}
:delay 130
/certificate export-certificate [find where name=$certclient] type=pkcs12 export-passphrase=12345678 file-name=$certclient
"""
R2_CERTS = """
:global certclient "client"
:global certserver "server"
/certificate import file-name=client.p12 name=$certclient passphrase=12345678
/certificate import file-name=server.crt name=$certserver passphrase=""
"""
R1_IPSEC = """
/ip firewall filter
add action=accept chain=input dst-port=500,4500 in-interface-list=WAN protocol=udp place-before=0
add action=accept chain=input in-interface-list=WAN protocol=ipsec-esp place-before=0
/ip ipsec policy group add name=IKEv2
/ip ipsec proposal add name=SHA256 auth-algorithms=sha256 enc-algorithms=aes-256-cbc lifetime=00:30:00 pfs-group=modp4096
/ip ipsec mode-config add name=client responder=yes address=10.0.0.2 system-dns=no
/ip ipsec profile add name=SHA256 hash-algorithm=sha256 prf-algorithm=sha256 enc-algorithm=aes-256 dh-group=modp4096 lifetime=12:00:00 dpd-interval=15
/ip ipsec peer add name=local local-address=203.0.113.1 profile=SHA256 exchange-mode=ike2 passive=yes send-initial-contact=no
/ip ipsec identity add peer=local auth-method=digital-signature certificate=$certserver remote-certificate=$certclient policy-template-group=IKEv2 notrack-chain=prerouting match-by=certificate mode-config=client generate-policy=port-strict
/ip ipsec policy add template=yes group=IKEv2 protocol=255 action=encrypt ipsec-protocols=esp proposal=SHA256
/interface bridge add name=IPsec protocol-mode=none
/ip address add address=10.0.0.1 interface=IPsec
"""
R2_IPSEC = """
/ip ipsec policy group add name=IKEv2
/ip ipsec proposal add name=SHA256 auth-algorithms=sha256 enc-algorithms=aes-256-cbc lifetime=00:30:00 pfs-group=modp4096
/ip ipsec profile add name=SHA256 hash-algorithm=sha256 prf-algorithm=sha256 enc-algorithm=aes-256 dh-group=modp4096 lifetime=12:00:00 dpd-interval=15
/ip ipsec peer add name=server address=203.0.113.1 profile=SHA256 exchange-mode=ike2 passive=no send-initial-contact=yes
/ip ipsec identity add peer=server auth-method=digital-signature certificate=$certclient remote-certificate=$certserver policy-template-group=IKEv2 notrack-chain=prerouting match-by=certificate mode-config=request-only generate-policy=port-strict
/ip ipsec policy add template=yes group=IKEv2 protocol=255 action=encrypt ipsec-protocols=esp proposal=SHA256
"""
EOIP = """
/interface eoip add name=EoIP-Tunnel local-address=10.0.0.{me} remote-address=10.0.0.{other} tunnel-id=1
/ip address add address=172.16.0.{me}/30 interface=EoIP-Tunnel
"""
OSPF = """
/routing ospf network add network=172.16.0.0/24 area=backbone
/routing ospf network add network=192.168.{n}.0/24 area=backbone
/routing ospf instance set router-id=192.168.{n}.1 redistribute-connected=as-type-1 [find where name=default]
/routing ospf interface add copy-from=[find where interface=EoIP-Tunnel] use-bfd=yes network-type=point-to-point
/routing ospf interface add copy-from=[find where interface=bridge] passive=yes
/routing filter
add action=accept chain=ospf-out prefix=192.168.0.0/16 prefix-length=16-32
add action=discard chain=ospf-out
add action=discard chain=ospf-in prefix=172.16.0.0/24 prefix-length=30
"""


def make(tmp_path: Path, name: str, wan: str, lan: str) -> Router:
    spec = RouterSpec(name=name, role="x", host="127.0.0.1", port=0, username="admin",
                      password="console-test-unused-pw", wan_address=wan, lan_prefix=lan)  # fmt: skip
    return Router(spec=spec, directory=tmp_path / name, config=factory.initial_config(spec))


def paste(session: object, text: str) -> None:
    for line in text.strip().splitlines():
        out = session.execute(line)  # type: ignore[attr-defined]
        error = r"(bad command|syntax error|expected|failure:|invalid value|no such item|input does not)"
        assert not re.match(error, out), (line, out)


def test_seed_pasted_into_two_consoles(tmp_path: Path) -> None:
    r1 = make(tmp_path, "R1", "203.0.113.1/24", "192.168.1.0/24")
    r2 = make(tmp_path, "R2", "198.51.100.2/24", "192.168.2.0/24")
    routers = [r1, r2]

    def settle() -> None:
        fabric.recompute(routers, datetime.now(UTC))

    # Like the lab manager: the fabric runs once at start and then only when things are quiet (here: never
    # until the end), so `copy-from=[find where interface=...]` relies on the fabric's local update.
    settle()
    for router in routers:
        router.refresh_state = lambda r, path: fabric.refresh(r, datetime.now(UTC), path)
    s1, s2 = engine.Session(r1, "admin"), engine.Session(r2, "admin")
    paste(s1, R1_CERTS)
    for name in ("client.p12", "server.crt"):
        r2.files.write(name, r1.files.read(name))
        r1.files.remove(name)
    paste(s2, R2_CERTS)
    paste(s1, R1_IPSEC)
    paste(s2, R2_IPSEC)
    paste(s1, EOIP.format(me=1, other=2))
    paste(s2, EOIP.format(me=2, other=1))
    paste(s1, OSPF.format(n=1))
    paste(s2, OSPF.format(n=2))
    settle()

    peers = s1.execute("/ip ipsec active-peers print")
    assert re.search(r"^\s*0\s+R\s+.*established.*198\.51\.100\.2\s*$", peers, re.M), peers
    assert "established" in s2.execute("/ip ipsec active-peers print")
    for session in (s1, s2):
        sas = session.execute("/ip ipsec installed-sa print")
        assert sas.count("state=mature") == 2, sas
        assert sas.count("auth-algorithm=sha256") == 2 and sas.count("enc-key-size=256") == 2
        eoip = session.execute("/interface eoip print")
        assert re.search(r"^\s*0\s+R\s", eoip, re.M), eoip
        neighbors = session.execute("/routing ospf neighbor print")
        assert 'state="Full"' in neighbors or "state=Full" in neighbors, neighbors
    routes1 = s1.execute("/ip route print")
    assert re.search(r"ADo\s+192\.168\.2\.0/24\s+172\.16\.0\.2\s+110", routes1), routes1
    routes2 = s2.execute("/ip route print")
    assert re.search(r"ADo\s+192\.168\.1\.0/24\s+172\.16\.0\.1\s+110", routes2), routes2
    assert not re.search(r"o\s+172\.16\.0\.", routes1 + routes2)
    addresses = s2.execute("/ip address print")
    assert re.search(r"D\s+10\.0\.0\.2/32", addresses), addresses
