"""The seed's R1/R2 configuration as data (what its commands leave in each router), for fabric tests.

A hub (R1, responder + CA) and `n` branches (R2, R3, ...): branch k gets WAN 198.51.100.(k+1), LAN
192.168.(k+1).0/24, mode-config address 10.0.0.(k+1), EoIP tunnel-id k and tunnel net 172.16.0.(4(k-1))/30.
Certificates are real (EC keys, so building is fast) and stored the way `/certificate` handlers store them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ikefleet.lab import pki
from ikefleet.lab.clock import LabClock
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.routeros.config import Item

TUNNEL_USAGE = ("digital-signature", "key-encipherment", "key-agreement", "ipsec-tunnel")
HUB_WAN = "203.0.113.1"


@dataclass
class Authority:
    """A CA (`ca` on R1) that issues the certificates of the lab."""

    name: str = "ca"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.key = pki.generate_key("prime256v1")
        request = pki.Request(
            common_name=self.name,
            key_size="prime256v1",
            key_usage=("key-cert-sign", "crl-sign"),
            days_valid=5890,
        )
        self.pem = pki.build_certificate(request, self.key, self.now - timedelta(days=1))

    def issue(
        self,
        common_name: str,
        *,
        days: int = 3650,
        start: datetime | None = None,
        usage: tuple[str, ...] = TUNNEL_USAGE,
    ) -> tuple[str, str]:
        """(certificate PEM, key PEM) of a fresh certificate for `common_name`."""
        key = pki.generate_key("prime256v1")
        request = pki.Request(
            common_name=common_name, key_size="prime256v1", key_usage=usage, days_valid=days
        )
        when = start or self.now - timedelta(days=1)
        return pki.build_certificate(request, key, when, self.pem, self.key), pki.key_to_pem(key)


def store_cert(router: Router, name: str, cert_pem: str, key_pem: str | None) -> Item:
    values = {
        "name": name,
        **pki.describe(cert_pem),
        "trusted": "yes",
        "private-key": "yes" if key_pem else "no",
    }
    item = router.config.add("/certificate", values)
    item.private["certificate"] = cert_pem
    if key_pem:
        item.private["key"] = key_pem
    return item


def make_router(
    tmp_path: Path,
    name: str,
    role: str,
    wan: str,
    lan: str,
    model: str = "CCR1009-7G-1C-1S+",
    clock: LabClock | None = None,
) -> Router:
    spec = RouterSpec(
        name=name,
        role=role,
        host="127.0.0.1",
        port=0,
        username="admin",
        password="fabric-tests-unused-password",
        wan_address=wan,
        lan_prefix=lan,
        model=model,
    )
    router = Router(spec=spec, directory=tmp_path / name, clock=clock or LabClock())
    add = router.config.add
    add("/interface ethernet", {"name": "ether1", "default-name": "ether1"})
    add("/interface bridge", {"name": "bridge"})
    add(
        "/ip address",
        {"address": wan, "network": wan.split("/")[0].rsplit(".", 1)[0] + ".0", "interface": "ether1"},
    )
    lan_host = lan.split("/")[0].rsplit(".", 1)[0] + ".1"
    add("/ip address", {"address": f"{lan_host}/24", "network": lan.split("/")[0], "interface": "bridge"})
    add("/routing ospf instance", {"name": "default"}, default=True)
    return router


def ipsec_common(router: Router) -> None:
    add = router.config.add
    add("/ip ipsec policy group", {"name": "IKEv2"})
    add(
        "/ip ipsec proposal",
        {
            "name": "SHA256",
            "auth-algorithms": "sha256",
            "enc-algorithms": "aes-256-cbc",
            "lifetime": "30m",
            "pfs-group": "modp4096",
        },
    )
    add(
        "/ip ipsec profile",
        {
            "name": "SHA256",
            "hash-algorithm": "sha256",
            "prf-algorithm": "sha256",
            "enc-algorithm": "aes-256",
            "dh-group": "modp4096",
            "lifetime": "12h",
            "dpd-interval": "15s",
        },
    )


def template(router: Router) -> None:
    router.config.add(
        "/ip ipsec policy",
        {
            "group": "IKEv2",
            "protocol": "all",
            "action": "encrypt",
            "ipsec-protocols": "esp",
            "proposal": "SHA256",
            "template": "yes",
        },
    )


def ospf_and_filters(router: Router, lan: str, router_id: str, tunnels: list[str]) -> None:
    add = router.config.add
    add("/routing ospf network", {"network": "172.16.0.0/24", "area": "backbone"})
    add("/routing ospf network", {"network": lan, "area": "backbone"})
    instance = router.config.items("/routing ospf instance")[0]
    instance.values |= {"router-id": router_id, "redistribute-connected": "as-type-1"}
    # `add copy-from=[find where interface=...]` copies the dynamic entry's fields, then sets the new ones.
    copied = {
        "cost": "10",
        "priority": "1",
        "authentication": "none",
        "authentication-key-id": "1",
        "network-type": "broadcast",
        "instance-id": "0",
        "retransmit-interval": "5s",
        "transmit-delay": "1s",
        "hello-interval": "10s",
        "dead-interval": "40s",
        "use-bfd": "no",
    }
    for name in tunnels:
        add(
            "/routing ospf interface",
            {**copied, "interface": name, "use-bfd": "yes", "network-type": "point-to-point"},
        )
    add("/routing ospf interface", {**copied, "interface": "bridge", "passive": "yes"})
    add(
        "/routing filter",
        {"chain": "ospf-out", "prefix": "192.168.0.0/16", "prefix-length": "16-32", "action": "accept"},
    )
    add("/routing filter", {"chain": "ospf-out", "action": "discard"})
    add(
        "/routing filter",
        {"chain": "ospf-in", "prefix": "172.16.0.0/24", "prefix-length": "30", "action": "discard"},
    )


@dataclass
class Lab:
    hub: Router
    branches: list[Router]
    ca: Authority
    clock: LabClock

    @property
    def routers(self) -> list[Router]:
        return [self.hub, *self.branches]


def branch_numbers(k: int) -> dict[str, str]:
    base = 4 * (k - 1)
    return {
        "wan": f"198.51.100.{k + 1}/24",
        "lan": f"192.168.{k + 1}.0/24",
        "inner": f"10.0.0.{k + 1}",
        "hub_tunnel": f"172.16.0.{base + 1}/30",
        "tunnel": f"172.16.0.{base + 2}/30",
        "tunnel_net": f"172.16.0.{base}",
        "eoip": "EoIP-Tunnel" if k == 1 else f"EoIP-R{k + 1}",
        "client": "client" if k == 1 else f"client{k + 1}",
    }


def build(
    tmp_path: Path, branches: int = 1, ca: Authority | None = None, clock: LabClock | None = None
) -> Lab:
    """The seed applied to a hub and `branches` branches: the state every command of the seed leaves.

    The routers and the CA share `clock` (default: one held at this moment), so the certificates are valid at
    the times a test derives from it, on any date.
    """
    clock = clock or LabClock.held()
    ca = ca or Authority(now=clock.now())
    hub = make_router(tmp_path, "R1", "responder", f"{HUB_WAN}/24", "192.168.1.0/24", clock=clock)
    add = hub.config.add
    store_cert(hub, "ca", ca.pem, pki.key_to_pem(ca.key))
    server_pem, server_key = ca.issue("server")
    store_cert(hub, "server", server_pem, server_key)
    ipsec_common(hub)
    add(
        "/ip ipsec peer",
        {
            "name": "local",
            "local-address": HUB_WAN,
            "profile": "SHA256",
            "exchange-mode": "ike2",
            "passive": "yes",
            "send-initial-contact": "no",
        },
    )
    template(hub)
    add("/interface bridge", {"name": "IPsec", "protocol-mode": "none"})
    add("/ip address", {"address": "10.0.0.1/32", "network": "10.0.0.1", "interface": "IPsec"})
    lab = Lab(hub, [], ca, clock)
    tunnels = []
    for k in range(1, branches + 1):
        n = branch_numbers(k)
        client_pem, client_key = ca.issue(n["client"])
        store_cert(hub, n["client"], client_pem, client_key)
        add(
            "/ip ipsec mode-config",
            {"name": n["client"], "responder": "yes", "address": n["inner"], "system-dns": "no"},
        )
        add(
            "/ip ipsec identity",
            {
                "peer": "local",
                "auth-method": "digital-signature",
                "certificate": "server",
                "remote-certificate": n["client"],
                "policy-template-group": "IKEv2",
                "notrack-chain": "prerouting",
                "match-by": "certificate",
                "mode-config": n["client"],
                "generate-policy": "port-strict",
            },
        )
        add(
            "/interface eoip",
            {
                "name": n["eoip"],
                "local-address": "10.0.0.1",
                "remote-address": n["inner"],
                "tunnel-id": str(k),
            },
        )
        add("/ip address", {"address": n["hub_tunnel"], "network": n["tunnel_net"], "interface": n["eoip"]})
        tunnels.append(n["eoip"])
        lab.branches.append(branch(tmp_path, k, ca, client_pem, client_key, server_pem, clock))
    ospf_and_filters(hub, "192.168.1.0/24", "192.168.1.1", tunnels)
    return lab


def branch(
    tmp_path: Path,
    k: int,
    ca: Authority,
    client_pem: str,
    client_key: str,
    server_pem: str,
    clock: LabClock | None = None,
) -> Router:
    n = branch_numbers(k)
    router = make_router(tmp_path, f"R{k + 1}", "initiator", n["wan"], n["lan"], clock=clock)
    add = router.config.add
    store_cert(router, n["client"], client_pem, client_key)
    store_cert(router, "ca", ca.pem, None)  # came with the PKCS#12 bundle
    store_cert(router, "server", server_pem, None)
    ipsec_common(router)
    add(
        "/ip ipsec peer",
        {
            "name": "server",
            "address": f"{HUB_WAN}/32",
            "profile": "SHA256",
            "exchange-mode": "ike2",
            "passive": "no",
            "send-initial-contact": "yes",
        },
    )
    add(
        "/ip ipsec identity",
        {
            "peer": "server",
            "auth-method": "digital-signature",
            "certificate": n["client"],
            "remote-certificate": "server",
            "policy-template-group": "IKEv2",
            "notrack-chain": "prerouting",
            "match-by": "certificate",
            "mode-config": "request-only",
            "generate-policy": "port-strict",
        },
    )
    template(router)
    add(
        "/interface eoip",
        {
            "name": "EoIP-Tunnel",
            "local-address": n["inner"],
            "remote-address": "10.0.0.1",
            "tunnel-id": str(k),
        },
    )
    add("/ip address", {"address": n["tunnel"], "network": n["tunnel_net"], "interface": "EoIP-Tunnel"})
    ospf_and_filters(router, n["lan"], f"192.168.{k + 1}.1", ["EoIP-Tunnel"])
    return router


def find(router: Router, path: str, **where: str) -> list[Item]:
    return [i for i in router.config.items(path) if all(i.values.get(k) == v for k, v in where.items())]
