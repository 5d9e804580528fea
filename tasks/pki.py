"""PKI on the routers, as the seed does it by hand: the hub is the CA and issues every certificate.

The CA's private key never leaves the hub. A branch's certificate travels as PKCS#12 with a random
passphrase: hub → jump host (a private temporary directory) → branch, then the files are removed on both
routers and locally. Re-runs reuse valid certificates and renew those inside the renewal window.
"""

from __future__ import annotations

import secrets as random
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nornir.core.task import Result, Task

from ikefleet.device import Device
from ikefleet.parsers.certificate import Certificate, parse_certificate
from ikefleet.redact import register
from ikefleet.transfer import transfer

from .device import device

CA_KEY_USAGE = "key-cert-sign,crl-sign"
TUNNEL_KEY_USAGE = "digital-signature,key-encipherment,key-agreement,ipsec-tunnel"
EXPORT_PREFIX = "ikefleet-"


@dataclass(frozen=True)
class CertPolicy:
    """What the inventory asks of certificates."""

    key_size: int
    ca_days_valid: int
    days_valid: int
    renew_window_days: int


def read_certificates(dev: Device) -> dict[str, Certificate]:
    return {c["name"]: c for c in parse_certificate(dev.send("/certificate print detail without-paging"))}


def renewal_reason(cert: Certificate | None, policy: CertPolicy, now: datetime) -> str | None:
    """Why a certificate must be (re)issued, or None when it is good for longer than the window."""
    if cert is None:
        return "missing"
    if not cert.get("private_key"):
        return "no private key"
    if cert.get("revoked"):
        return "revoked"
    if cert.get("expired"):
        return "expired"
    left = cert.get("expires_after")
    if left is not None and left < policy.renew_window_days * 86400:
        return f"expires in {timedelta(seconds=left).days} days"
    return None


def _issue(
    dev: Device,
    name: str,
    *,
    key_usage: str,
    days: int,
    key_size: int,
    ca: str | None,
    san: str | None = None,
) -> None:
    args = f"name={name} common-name={name} key-size={key_size} key-usage={key_usage} days-valid={days}"
    if san:
        args += f" subject-alt-name={san}"
    dev.send(f"/certificate add {args}")
    sign = f'/certificate sign [find where name="{name}"]'
    dev.send(f"{sign} ca={ca}" if ca else sign)


def ensure_authority(task: Task, ca: str, server: str, hub_wan: str, policy: CertPolicy) -> Result:
    """On the hub: the CA and the hub's server certificate (subject-alt-name = the hub's WAN address)."""
    dev = device(task)
    now = datetime.now(UTC)
    certs = read_certificates(dev)
    done: list[str] = []
    ca_reason = renewal_reason(certs.get(ca), policy, now)
    if ca_reason == "missing":
        _issue(dev, ca, key_usage=CA_KEY_USAGE, days=policy.ca_days_valid, key_size=policy.key_size, ca=None)
        done.append(f"created CA {ca}")
    elif ca_reason:
        # Replacing a CA re-keys the whole fleet: never done implicitly.
        return Result(
            host=task.host,
            failed=True,
            result=f"CA certificate {ca}: {ca_reason}. Replacing the CA re-keys every branch, so ikefleet "
            f"never does it by itself: remove {ca} on the hub (RouterOS removes what it signed), then "
            "run the rollout",
        )
    san = f"IP:{hub_wan}"
    server_cert = certs.get(server)
    reason = renewal_reason(server_cert, policy, now)
    if reason is None and server_cert is not None and server_cert.get("subject_alt_name") != san:
        reason = f"subject-alt-name is {server_cert.get('subject_alt_name')!r}, want {san!r}"
    if reason:
        if server_cert is not None:
            dev.send(f'/certificate remove [find where name="{server}"]')
        _issue(
            dev,
            server,
            key_usage=TUNNEL_KEY_USAGE,
            days=policy.days_valid,
            key_size=policy.key_size,
            ca=ca,
            san=san,
        )
        done.append(f"issued {server} ({reason})")
    return Result(
        host=task.host, changed=bool(done), result="; ".join(done) or "CA and server certificate valid"
    )


@dataclass(frozen=True)
class Bundle:
    """A branch's certificate files on the jump host, and the passphrase of its PKCS#12."""

    directory: Path
    client_p12: Path
    ca_pem: Path
    server_pem: Path
    passphrase: str
    client_fingerprint: str

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def storage(dev: Device) -> str:
    """`flash/` on RouterBOARDs whose persistent storage is that directory, else '' (CCR, CHR)."""
    count = dev.send('/file print count-only where name="flash"').strip()
    return "flash/" if count.isdigit() and int(count) > 0 else ""


def ensure_clients(
    task: Task, *, clients: list[str], ca: str, policy: CertPolicy, renew: tuple[str, ...] = ()
) -> Result:
    """On the hub: every branch's client certificate exists and is valid (the hub's identities name them).

    `Result.result` maps each client certificate name to its fingerprint on the hub.
    """
    dev = device(task)
    certs = read_certificates(dev)
    now = datetime.now(UTC)
    issued: list[str] = []
    for client in clients:
        reason = "renewal requested" if client in renew else renewal_reason(certs.get(client), policy, now)
        if not reason:
            continue
        if client in certs:
            dev.send(f'/certificate remove [find where name="{client}"]')
        _issue(
            dev, client, key_usage=TUNNEL_KEY_USAGE, days=policy.days_valid, key_size=policy.key_size, ca=ca
        )
        issued.append(f"{client} ({reason})")
    if issued:
        certs = read_certificates(dev)
    fingerprints = {c: certs[c].get("fingerprint", "") for c in clients if c in certs}
    summary = f"issued {', '.join(issued)}" if issued else "client certificates valid"
    return Result(host=task.host, changed=bool(issued), result=fingerprints, diff=summary)


def export_bundle(task: Task, *, branch: str, client: str, ca: str, server: str) -> Result:
    """On the hub: export `client` (PKCS#12, random passphrase), the CA and the server certificate, and
    fetch them to a private temporary directory on the jump host. `Result.result` is the Bundle; the
    caller installs it on the branch and then discards it.
    """
    dev = device(task)
    certs = read_certificates(dev)
    passphrase = random.token_urlsafe(18)
    register(passphrase)
    prefix = storage(dev)
    base = f"{prefix}{EXPORT_PREFIX}{branch}"
    directory = Path(tempfile.mkdtemp(prefix="ikefleet-pki-"))
    names = {"client": f"{base}-client", "ca": f"{base}-ca", "server": f"{base}-server"}
    files = {
        "client": f"{names['client']}.p12",
        "ca": f"{names['ca']}.crt",
        "server": f"{names['server']}.crt",
    }
    try:
        dev.send(
            f'/certificate export-certificate [find where name="{client}"] type=pkcs12 '
            f"export-passphrase={passphrase} file-name={names['client']}"
        )
        dev.send(f'/certificate export-certificate [find where name="{ca}"] type=pem file-name={names["ca"]}')
        dev.send(
            f'/certificate export-certificate [find where name="{server}"] type=pem '
            f"file-name={names['server']}"
        )
        for name in files.values():
            local = str(directory / Path(name).name)
            transfer(dev.connection, source=Path(name).name, dest=local, direction="get", storage=prefix)
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        for name in files.values():
            dev.send(f'/file remove [find where name="{name}"]')
    bundle = Bundle(
        directory,
        directory / Path(files["client"]).name,
        directory / Path(files["ca"]).name,
        directory / Path(files["server"]).name,
        passphrase,
        certs[client].get("fingerprint", ""),
    )
    return Result(host=task.host, changed=False, result=bundle)


def installed_fingerprint(task: Task, client: str) -> str | None:
    """The fingerprint of the branch's client certificate when it has it with its private key."""
    cert = read_certificates(device(task)).get(client)
    if cert is None or not cert.get("private_key"):
        return None
    return cert.get("fingerprint")


def install_branch(task: Task, *, bundle: Bundle, client: str, ca: str, server: str) -> Result:
    """On the branch: import the CA, the hub's server certificate and the branch's own (with key)."""
    dev = device(task)
    certs = read_certificates(dev)
    prefix = storage(dev)
    try:
        for local, name, passphrase in (
            (bundle.ca_pem, ca, ""),
            (bundle.server_pem, server, ""),
            (bundle.client_p12, client, bundle.passphrase),
        ):
            if name in certs:
                dev.send(f'/certificate remove [find where name="{name}"]')
            remote = prefix + local.name
            transfer(dev.connection, source=str(local), dest=local.name, direction="put", storage=prefix)
            try:
                out = dev.send(
                    f'/certificate import file-name={remote} name={name} passphrase="{passphrase}"'
                )
            finally:
                dev.send(f'/file remove [find where name="{remote}"]')
            if "decryption-failures: 0" not in out and passphrase:
                return Result(host=task.host, failed=True, result=f"import of {name} failed: {out.strip()}")
    finally:
        bundle.discard()
    return Result(host=task.host, changed=True, result=f"installed {client}, {server}, {ca}")
