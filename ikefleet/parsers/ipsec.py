"""`/ip ipsec ...` outputs: installed SAs, active peers, policies, and the peer/identity/profile/proposal
configuration lists. Each parser accepts every print form (table, detail, terse, as-value, JSON)."""

from __future__ import annotations

from ikefleet.parsers.schema import Common, Spec, run
from ikefleet.parsers.values import Seconds


class InstalledSa(Common, total=False):
    """One SA (one direction). `esp` is the E flag (ESP, *not* "established"); keys are never kept."""

    spi: str
    src_address: str
    dst_address: str
    state: str
    auth_algorithm: str
    enc_algorithm: str
    enc_key_size: int
    addtime: str
    expires_in: Seconds
    add_lifetime: tuple[Seconds, Seconds]
    use_lifetime: tuple[Seconds, Seconds]
    current_bytes: int
    current_packets: int
    current_addtime: str
    replay: int
    hw_aead: bool
    ah: bool
    esp: bool
    seen_traffic: bool


class ActivePeer(Common, total=False):
    """An IKE peer with a live phase 1 (v6.43+ active-peers; older v6 remote-peers)."""

    id: str
    state: str
    side: str
    uptime: Seconds
    established: Seconds
    last_seen: Seconds
    ph2_total: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    dynamic_address: str
    spii: str
    spir: str
    responder: bool
    natt: bool


class Policy(Common, total=False):
    """A policy; template-generated ones are `dynamic`. `ph2_state` is `established` when working."""

    peer: str
    group: str
    src_address: str
    src_port: str
    dst_address: str
    dst_port: str
    protocol: str
    action: str
    level: str
    ipsec_protocols: str
    tunnel: bool
    sa_src_address: str
    sa_dst_address: str
    proposal: str
    priority: int
    ph2_count: int
    ph2_state: str
    template: bool
    backup: bool
    disabled: bool
    dynamic: bool
    invalid: bool
    active: bool
    default: bool


class Peer(Common, total=False):
    name: str
    address: str
    local_address: str
    port: int
    profile: str
    exchange_mode: str
    passive: bool
    send_initial_contact: bool
    disabled: bool
    dynamic: bool
    responder: bool


class Identity(Common, total=False):
    """An identity; its `secret` is dropped at parse time."""

    peer: str
    auth_method: str
    certificate: str
    remote_certificate: str
    generate_policy: str
    mode_config: str
    policy_template_group: str
    my_id: str
    remote_id: str
    match_by: str
    disabled: bool
    dynamic: bool


class Profile(Common, total=False):
    name: str
    hash_algorithm: str
    enc_algorithm: list[str]
    dh_group: list[str]
    lifetime: Seconds
    proposal_check: str
    nat_traversal: bool
    dpd_interval: Seconds
    dpd_maximum_failures: int
    default: bool


class Proposal(Common, total=False):
    name: str
    auth_algorithms: list[str]
    enc_algorithms: list[str]
    lifetime: Seconds
    pfs_group: str
    disabled: bool
    default: bool


_DISABLED_DYNAMIC = {"X": "disabled", "D": "dynamic"}

INSTALLED_SA = Spec(
    command="/ip ipsec installed-sa print",
    record=InstalledSa,
    legend={"H": "hw-aead", "A": "ah", "E": "esp", "S": "seen-traffic"},
    flags={"hw-aead": "hw_aead", "ah": "ah", "esp": "esp", "seen-traffic": "seen_traffic"},
    volatile=frozenset(
        {
            "index",
            "object_id",
            "spi",
            "addtime",
            "expires_in",
            "current_bytes",
            "current_packets",
            "seen_traffic",
        }
    ),
)
ACTIVE_PEERS = Spec(
    command="/ip ipsec active-peers print",
    record=ActivePeer,
    legend={"R": "responder", "N": "natt-peer"},
    flags={"responder": "responder", "natt-peer": "natt"},
    volatile=frozenset({"index", "object_id", "uptime", "established", "last_seen", "spii", "spir"}),
)
POLICY = Spec(
    command="/ip ipsec policy print",
    record=Policy,
    legend={
        "T": "template",
        "B": "backup",
        "X": "disabled",
        "D": "dynamic",
        "I": "invalid",
        "A": "active",
        "*": "default",
    },
    flags={n: n for n in ("template", "backup", "disabled", "dynamic", "invalid", "active", "default")},
    volatile=frozenset({"index", "object_id", "ph2_count"}),
)
PEER = Spec(
    command="/ip ipsec peer print",
    record=Peer,
    legend={**_DISABLED_DYNAMIC, "R": "responder"},
    flags={"disabled": "disabled", "dynamic": "dynamic", "responder": "responder"},
)
IDENTITY = Spec(
    command="/ip ipsec identity print",
    record=Identity,
    legend=_DISABLED_DYNAMIC,
    flags={"disabled": "disabled", "dynamic": "dynamic"},
)
PROFILE = Spec(
    command="/ip ipsec profile print", record=Profile, legend={"*": "default"}, flags={"default": "default"}
)
PROPOSAL = Spec(
    command="/ip ipsec proposal print",
    record=Proposal,
    legend={"X": "disabled", "*": "default"},
    flags={"disabled": "disabled", "default": "default"},
)


def parse_installed_sa(text: str) -> list[InstalledSa]:
    return run(text, INSTALLED_SA)


def parse_active_peers(text: str) -> list[ActivePeer]:
    return run(text, ACTIVE_PEERS)


def parse_policy(text: str) -> list[Policy]:
    return run(text, POLICY)


def parse_peer(text: str) -> list[Peer]:
    return run(text, PEER)


def parse_identity(text: str) -> list[Identity]:
    return run(text, IDENTITY)


def parse_profile(text: str) -> list[Profile]:
    return run(text, PROFILE)


def parse_proposal(text: str) -> list[Proposal]:
    return run(text, PROPOSAL)
