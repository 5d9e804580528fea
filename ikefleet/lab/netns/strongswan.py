"""RouterOS `/ip ipsec` + `/certificate` of one router -> the files of one charon (swanctl.conf, certificates,
keys, strongswan.conf). Pure: nothing runs here. Anything strongSwan cannot reproduce is refused.

Traffic selectors: RouterOS generates port-strict policies from the template group; between two lab routers
these protect exactly the EoIP endpoints (inner address <-> inner address, every protocol), so the child SA
carries the `/interface eoip` local/remote addresses as /32 selectors (VXLAN rides on them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from ruamel.yaml import YAML

from ikefleet.routeros.config import Item

from .. import pki
from ..fabric.common import enabled, host, parse_duration, value, words
from ..router import Router
from .errors import Untranslatable, refuse_v7

PEER, IDENTITY, PROFILE = "/ip ipsec peer", "/ip ipsec identity", "/ip ipsec profile"
PROPOSAL, MODE_CONFIG, POLICY = "/ip ipsec proposal", "/ip ipsec mode-config", "/ip ipsec policy"
CERTIFICATE, EOIP = "/certificate", "/interface eoip"

PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey gmp aes sha1 sha2 hmac kdf "
    "kernel-libipsec kernel-netlink socket-default vici updown"
)


@dataclass
class Charon:
    """What one charon needs: files relative to its swanctl directory, plus its swanctl.conf text."""

    swanctl: str
    files: dict[str, str] = field(default_factory=dict)
    connections: list[str] = field(default_factory=list)
    blocks: dict[str, str] = field(default_factory=dict)  # connection name -> its swanctl.conf text


@cache
def algorithms() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("algorithms.yaml").read_text()
    return {k: {str(a): str(b) for a, b in v.items()} for k, v in YAML(typ="safe").load(text).items()}


def _algo(router: Router, table: str, setting: str, name: str) -> str:
    found = algorithms()[table].get(name)
    if found is None:
        raise Untranslatable(router.spec.name, setting, name, "strongSwan has no such algorithm here")
    return found


def ike_proposals(router: Router, profile: Item) -> str:
    """`enc-hash-dh` combinations of a profile, strongest first as RouterOS lists them."""
    out = []
    encs = words(value(profile, PROFILE, "enc-algorithm"))
    hashes = words(value(profile, PROFILE, "hash-algorithm"))
    groups = words(value(profile, PROFILE, "dh-group"))
    for enc in encs:
        for h in hashes:
            for g in groups:
                parts = [
                    _algo(router, "ike-encryption", f"{PROFILE} enc-algorithm", enc),
                    _algo(router, "ike-hash", f"{PROFILE} hash-algorithm", h),
                    _algo(router, "dh-group", f"{PROFILE} dh-group", g),
                ]
                out.append("-".join(p for p in parts if p))
    return ",".join(out)


def esp_proposals(router: Router, proposal: Item) -> str:
    out = []
    pfs = _algo(router, "dh-group", f"{PROPOSAL} pfs-group", value(proposal, PROPOSAL, "pfs-group"))
    for enc in words(value(proposal, PROPOSAL, "enc-algorithms")):
        sw_enc = _algo(router, "esp-encryption", f"{PROPOSAL} enc-algorithms", enc)
        auths = [] if "gcm" in sw_enc else words(value(proposal, PROPOSAL, "auth-algorithms"))
        for auth in auths or [""]:
            sw_auth = _algo(router, "esp-integrity", f"{PROPOSAL} auth-algorithms", auth) if auth else ""
            out.append("-".join(p for p in (sw_enc, sw_auth, pfs) if p))
    return ",".join(out)


def _by_name(router: Router, path: str, name: str, setting: str) -> Item:
    for item in enabled(router.config.items(path)):
        if item.get("name") == name or (not name and item.default):
            return item
    raise Untranslatable(router.spec.name, setting, name, f"no enabled {path} of that name")


def _template_proposal(router: Router, identity: Item) -> Item:
    group = value(identity, IDENTITY, "policy-template-group") or "default"
    for item in enabled(router.config.items(POLICY)):
        if item.get("template") == "yes" and (item.get("group") or "default") == group:
            proto = item.get("ipsec-protocols") or "esp"
            if proto != "esp":
                raise Untranslatable(router.spec.name, f"{POLICY} ipsec-protocols", proto, "only ESP runs")
            return _by_name(router, PROPOSAL, item.get("proposal") or "default", f"{POLICY} proposal")
    raise Untranslatable(router.spec.name, f"{IDENTITY} policy-template-group", group, "no policy template")


def _cert_files(router: Router, name: str, charon: Charon, with_key: bool) -> tuple[str, str]:
    """Write certificate `name` (and its key) into the charon's files; returns (file, subject DN)."""
    item = next((c for c in router.config.items(CERTIFICATE) if c.get("name") == name), None)
    if item is None or "certificate" not in item.private:
        raise Untranslatable(router.spec.name, f"{IDENTITY} certificate", name, "no such certificate")
    pem = item.private["certificate"]
    charon.files[f"x509/{name}.pem"] = pem
    if with_key:
        key = item.private.get("key", "")
        if not key or "ENCRYPTED" in key:
            raise Untranslatable(
                router.spec.name, f"{CERTIFICATE} private-key", name, "no usable private key"
            )
        charon.files[f"private/{name}.pem"] = key
    return f"{name}.pem", pki.format_name(pki.load_certificate(pem).subject).replace(",", ", ")


def _trust(router: Router, charon: Charon) -> None:
    """Every CA certificate the router holds is a trust anchor (RouterOS verifies chains the same way)."""
    for item in router.config.items(CERTIFICATE):
        pem = item.private.get("certificate")
        if pem and pki.is_ca(pki.load_certificate(pem)):
            charon.files[f"x509ca/{item.get('name')}.pem"] = pem


def _seconds(text: str) -> int:
    return int(parse_duration(text))


def translate(router: Router) -> Charon:
    """The charon of `router`; raises `Untranslatable` naming the first setting that cannot run."""
    refuse_v7(router, router.spec.version)
    charon = Charon(swanctl="")
    _trust(router, charon)
    eoips = enabled(router.config.items(EOIP))
    conns: list[str] = []
    pools: list[str] = []
    for peer in enabled(router.config.items(PEER)):
        mode = value(peer, PEER, "exchange-mode")
        if mode != "ike2":
            raise Untranslatable(router.spec.name, f"{PEER} exchange-mode", mode, "only IKEv2 is translated")
        profile = _by_name(router, PROFILE, value(peer, PEER, "profile"), f"{PEER} profile")
        passive = value(peer, PEER, "passive") == "yes"
        for n, identity in enumerate(enabled(router.config.items(IDENTITY))):
            if identity.get("peer") != peer.get("name"):
                continue
            method = value(identity, IDENTITY, "auth-method")
            if method != "digital-signature":
                raise Untranslatable(router.spec.name, f"{IDENTITY} auth-method", method, "certificates only")
            local_cert, _ = _cert_files(router, identity.get("certificate"), charon, with_key=True)
            remote_name = identity.get("remote-certificate")
            remote_lines = ["auth = pubkey"]
            if remote_name:
                remote_cert, remote_dn = _cert_files(router, remote_name, charon, with_key=False)
                remote_lines += [f'id = "{remote_dn}"', f"certs = {remote_cert}"]
            esp = esp_proposals(router, _template_proposal(router, identity))
            pfs_life = _seconds(value(_template_proposal(router, identity), PROPOSAL, "lifetime") or "30m")
            name = f"{peer.get('name') or 'peer'}-{n}"
            lines = [f"{name} {{", "  version = 2", "  encap = yes"]
            lines.append(f"  proposals = {ike_proposals(router, profile)}")
            lines.append(f"  rekey_time = {_seconds(value(profile, PROFILE, 'lifetime') or '1d')}s")
            dpd = value(profile, PROFILE, "dpd-interval")
            if dpd and dpd != "disable-dpd":
                lines.append(f"  dpd_delay = {_seconds(dpd)}s")
            if peer.get("local-address"):
                lines.append(f"  local_addrs = {host(peer.get('local-address'))}")
            if passive:
                mc = _by_name(router, MODE_CONFIG, identity.get("mode-config"), f"{IDENTITY} mode-config")
                inner = host(mc.get("address"))
                pools.append(f"  {mc.get('name')} {{ addrs = {inner}/32 }}")
                lines.append(f"  pools = {mc.get('name')}")
                ends = [e for e in eoips if host(e.get("remote-address")) == inner]
                local_ts = sorted({host(e.get("local-address")) for e in ends})
                remote_ts = "dynamic"
                start = "none"
            else:
                lines.append(f"  remote_addrs = {host(peer.get('address'))}")
                if value(identity, IDENTITY, "mode-config") == "request-only":
                    lines.append("  vips = 0.0.0.0")
                local_ts = ["dynamic"]
                remote_ts = ",".join(sorted({host(e.get("remote-address")) + "/32" for e in eoips}))
                start = "start"
            if not local_ts or not remote_ts:
                raise Untranslatable(
                    router.spec.name, f"{EOIP} remote-address", "", "no EoIP end over this peer"
                )
            lines += ["  local {", "    auth = pubkey", f"    certs = {local_cert}", "  }"]
            lines += ["  remote {", *(f"    {x}" for x in remote_lines), "  }"]
            lines += ["  children {", "    eoip {"]
            lines.append("      local_ts = " + ",".join(t if t == "dynamic" else f"{t}/32" for t in local_ts))
            lines += [f"      remote_ts = {remote_ts}", f"      esp_proposals = {esp}"]
            lines += [f"      rekey_time = {pfs_life}s", f"      start_action = {start}"]
            dpd_action = "clear" if passive else "restart"
            lines += [f"      dpd_action = {dpd_action}", "    }", "  }"]
            lines.append("}")
            conns.append("\n".join("  " + x for x in lines))
            charon.connections.append(name)
            charon.blocks[name] = conns[-1]
    charon.swanctl = "connections {\n" + "\n".join(conns) + "\n}\n"
    if pools:
        charon.swanctl += "pools {\n" + "\n".join(pools) + "\n}\n"
    return charon


def strongswan_conf(run_dir: str) -> str:
    """charon settings for one namespace: userspace ESP, its own vici socket, no modular loading."""
    return (
        "charon {\n"
        f"  load = {PLUGINS}\n"
        "  load_modular = no\n"
        "  install_routes = yes\n"
        "  plugins {\n"
        f"    vici {{ socket = unix://{run_dir}/charon.vici }}\n"
        "  }\n"
        "  filelog {\n"
        f"    log {{\n      path = {run_dir}/charon.log\n      flush_line = yes\n      default = 1\n    }}\n"
        "  }\n"
        "}\n"
    )
