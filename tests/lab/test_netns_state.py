"""The netns state readers on daemon output captured from this backend (swanctl 5.9.8, FRR 8.4.4)."""

from __future__ import annotations

import json
from pathlib import Path

from ikefleet.lab.netns import state

from .test_fabric_seed import build

HUB_SAS = """\
local-1: #2, ESTABLISHED, IKEv2, ad9e85ac2bb11768_i 34dade3ddd3ee3e9_r*
  local  'CN=server' @ 203.0.113.1[4500]
  remote 'CN=client3' @ 198.51.100.3[4500] [10.0.0.3]
  AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_4096
  established 10s ago, rekeying in 41343s
  eoip: #2, reqid 2, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128
    installed 10s ago, rekeying in 1772s, expires in 1970s
    in  d8cf7029,   1756 bytes,    14 packets,     0s ago
    out 131d6f8e,   2280 bytes,    16 packets,     0s ago
    local  10.0.0.1/32
    remote 10.0.0.3/32
"""
BRANCH_CONNECTING = """\
server-0: #1, CONNECTING, IKEv2, f34da91edee0c6e4_i* 0000000000000000_r
  local  '%any' @ %any[500]
  remote '%any' @ 203.0.113.1[500]
  active:  IKE_VENDOR IKE_INIT IKE_NATD IKE_CERT_PRE IKE_AUTH IKE_CERT_POST IKE_CONFIG
"""
NEIGHBORS = {
    "neighbors": {
        "192.168.2.1": [
            {
                "priority": 1,
                "state": "Full/-",
                "nbrPriority": 1,
                "nbrState": "Full/-",
                "address": "172.16.0.2",
                "ifaceAddress": "172.16.0.2",
                "ifaceName": "EoIP-Tunnel:172.16.0.1",
            }
        ],
        "192.168.3.1": [
            {"nbrState": "Init/-", "ifaceAddress": "172.16.0.6", "ifaceName": "EoIP-R3:172.16.0.5"}
        ],
    }
}


def test_list_sas_gives_ends_children_and_counters() -> None:
    (sa,) = state.parse_list_sas(HUB_SAS)
    assert (sa.connection, sa.state, sa.initiator) == ("local-1", "ESTABLISHED", False)
    assert sa.ids == {"local": "CN=server", "remote": "CN=client3"}
    assert sa.addresses == {"local": "203.0.113.1", "remote": "198.51.100.3"} and sa.vips == {
        "remote": "10.0.0.3"
    }
    (child,) = sa.children
    assert child.state == "INSTALLED" and child.spi == {"in": "d8cf7029", "out": "131d6f8e"}
    assert child.bytes == {"in": 1756, "out": 2280} and child.ts == {
        "local": "10.0.0.1/32",
        "remote": "10.0.0.3/32",
    }


def test_a_connecting_sa_is_the_initiator_without_children() -> None:
    (sa,) = state.parse_list_sas(BRANCH_CONNECTING)
    assert sa.state == "CONNECTING" and sa.initiator and not sa.children


def test_algorithm_names_come_back_in_routeros_spelling() -> None:
    assert state.proposal_names("AES_CBC-256/HMAC_SHA2_256_128") == ("aes-256-cbc", "sha256")
    assert state.proposal_names("AES_GCM_16-128") == ("aes-128-gcm", "null")


def test_ospf_neighbors_in_routeros_terms() -> None:
    found = {n["router-id"]: n for n in state.parse_ospf_neighbors(json.dumps(NEIGHBORS))}
    assert found["192.168.2.1"]["state"] == "Full" and found["192.168.2.1"]["interface"] == "EoIP-Tunnel"
    assert found["192.168.3.1"]["state"] == "Init" and found["192.168.3.1"]["address"] == "172.16.0.6"


def test_fill_writes_the_fabrics_items_and_only_established_sas(tmp_path: Path) -> None:
    hub = build(tmp_path, 1).hub
    sas = state.parse_list_sas(HUB_SAS + BRANCH_CONNECTING)
    state.fill(hub, sas, state.parse_ospf_neighbors(json.dumps(NEIGHBORS)))
    (peer,) = hub.config.items("/ip ipsec active-peers")
    assert peer.dynamic and peer.status["responder"] == "yes" and peer.get("dynamic-address") == "10.0.0.3"
    pairs = {
        (sa.get("src-address"), sa.get("dst-address"), sa.get("spi"))
        for sa in hub.config.items(state.INSTALLED_SA)
    }
    assert pairs == {
        ("198.51.100.3", "203.0.113.1", "0xD8CF7029"),
        ("203.0.113.1", "198.51.100.3", "0x131D6F8E"),
    }
    assert {n.get("state") for n in hub.config.items("/routing ospf neighbor")} == {"Full", "Init"}


def test_charon_log_failures_become_routeros_messages() -> None:
    log = (
        "12[NET] sending packet: from 198.51.100.4[4500] to 203.0.113.1[4500] (256 bytes)\n"
        "13[IKE] received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built\n"
        "13[IKE] received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built\n"
    )
    assert state.ike_failures(log) == ["203.0.113.1 received notify: NO_PROPOSAL_CHOSEN"]
    assert state.ike_failures("09[IKE] IKE_SA server-0[1] established\n") == []


def test_fill_leaves_other_dynamic_items_alone(tmp_path: Path) -> None:
    hub = build(tmp_path, 1).hub
    route = hub.config.add(
        "/ip route", {"dst-address": "192.168.9.0/24", "gateway": "172.16.0.2"}, dynamic=True
    )
    state.fill(hub, state.parse_list_sas(HUB_SAS), [])
    state.fill(hub, state.parse_list_sas(HUB_SAS), [])
    assert route in hub.config.items("/ip route") and len(hub.config.items("/ip ipsec active-peers")) == 1


# `show ip route ospf json` / `show ip ospf route json` / `show bfd peers json` on a lab hub (FRR 8.4.4),
# trimmed to the fields read: a filtered tunnel /30 (no active next hop), the hub's own LAN (connected, no
# gateway) and a branch LAN learnt over the tunnel.
ZEBRA_ROUTES = {
    "172.16.0.0/30": [
        {"prefix": "172.16.0.0/30", "protocol": "ospf", "distance": 110, "metric": 1,
         "nexthops": [{"flags": 0, "directlyConnected": True, "interfaceName": "eoip-br1"}]}
    ],
    "192.168.1.0/24": [
        {"prefix": "192.168.1.0/24", "protocol": "ospf", "metric": 1,
         "nexthops": [{"directlyConnected": True, "interfaceName": "bridge", "active": True}]}
    ],
    "192.168.2.0/24": [
        {"prefix": "192.168.2.0/24", "protocol": "ospf", "selected": True, "metric": 2, "installed": True,
         "nexthops": [{"ip": "172.16.0.2", "interfaceName": "eoip-br1", "active": True}]}
    ],
}
OSPF_ROUTES = {
    "172.16.0.0/30": {"routeType": "N", "cost": 1},
    "192.168.2.0/24": {"routeType": "N", "cost": 2},
    "192.168.9.0/24": {"routeType": "N E2", "cost": 20},
    "192.168.2.1": {"routeType": "R ", "cost": 1, "routerType": "asbr"},
}
BFD_PEERS = [
    {"peer": "172.16.0.2", "interface": "eoip-br1", "status": "up", "uptime": 12, "receive-interval": 300,
     "transmit-interval": 300, "detect-multiplier": 3},
    {"peer": "172.16.0.6", "interface": "eoip-br2", "status": "down", "uptime": 0},
]


def test_two_vtysh_documents_in_one_output() -> None:
    text = json.dumps(BFD_PEERS, indent=2) + "\n" + json.dumps(OSPF_ROUTES) + "\n"
    assert state.parse_vtysh_json(text) == [BFD_PEERS, OSPF_ROUTES]
    # a daemon without the instance answers in words: that position reads as nothing, the next still parse
    assert state.parse_vtysh_json("% OSPF instance not found\n" + text) == [None, BFD_PEERS, OSPF_ROUTES]


def test_zebra_routes_keep_only_what_the_ospf_in_filter_let_through() -> None:
    types = state.parse_ospf_types(OSPF_ROUTES)
    assert types == {"172.16.0.0/30": "intra-area", "192.168.2.0/24": "intra-area",
                     "192.168.9.0/24": "external-type-2"}
    (route,) = state.parse_ospf_routes(ZEBRA_ROUTES, types)
    assert route == {"prefix": "192.168.2.0/24", "metric": 2, "hops": [("172.16.0.2", "eoip-br1")],
                     "selected": True, "type": "intra-area"}


def test_fill_replaces_the_fabrics_ospf_routes_and_bfd_and_sets_eoip_running(tmp_path: Path) -> None:
    hub = build(tmp_path, 2).hub
    stale = hub.config.add("/ip route", {"dst-address": "192.168.7.0/24", "gateway": "172.16.0.2"},
                           dynamic=True)
    stale.status["ospf"] = "yes"  # what the fabric computed: must not survive
    connected = hub.config.add("/ip route", {"dst-address": "192.168.1.0/24", "gateway": "bridge"},
                               dynamic=True)
    sas = state.parse_list_sas(HUB_SAS)  # one installed child: 10.0.0.1 <-> 10.0.0.3
    routes = state.parse_ospf_routes(ZEBRA_ROUTES, state.parse_ospf_types(OSPF_ROUTES))
    eoips = {i.get("name"): i.get("remote-address") for i in hub.config.items("/interface eoip")}
    links = dict.fromkeys(eoips, True)
    state.fill(hub, sas, [], state.parse_bfd_peers(BFD_PEERS), routes, links)
    shown = {(r.get("dst-address"), r.status.get("ospf")) for r in hub.config.items("/ip route") if r.dynamic}
    assert shown == {("192.168.1.0/24", None), ("192.168.2.0/24", "yes")} and connected.dynamic
    bfd = {b.get("address"): b for b in hub.config.items("/routing bfd neighbor")}
    assert bfd["172.16.0.2"].status["up"] == "yes" and bfd["172.16.0.2"].get("uptime") == "12s"
    assert bfd["172.16.0.6"].status["up"] == "no"
    running = {i.get("name"): i.status.get("running") for i in hub.config.items("/interface eoip")}
    # running only where an installed child SA carries the far end (10.0.0.3 in HUB_SAS)
    assert sorted(running.values()) == ["no", "yes"]
    assert running == {name: "yes" if remote == "10.0.0.3" else "no" for name, remote in eoips.items()}
    (policy,) = [p for p in hub.config.items("/ip ipsec policy") if p.dynamic]
    assert (policy.get("src-address"), policy.get("dst-address"), policy.get("ph2-state")) == (
        "10.0.0.1/32", "10.0.0.3/32", "established")
    (peer,) = hub.config.items("/ip ipsec active-peers")
    assert peer.get("uptime") == "10s"
    assert {sa.get("expires-in") for sa in hub.config.items(state.INSTALLED_SA)} == {"32m50s"}
