"""PKI on the routers, as the seed does it by hand: the hub is the CA and issues every certificate.

The CA's private key never leaves the hub. A branch's certificate travels as PKCS#12 with a random
passphrase: hub → jump host (a private temporary directory) → branch, then the files are removed on both
routers and locally. Re-runs reuse valid certificates and renew those inside the renewal window.

Where the hub and the branch both run RouterOS 7.9+ (`versions.py`, "sign-certificate-request") the branch
makes its own key instead (`start_request`, `finish_request`: all branches at once): its PKCS#10 request
comes to the jump host, the hub's CA signs every request in one session (`sign_requests`: cheap, no key is
made on the hub), and the certificate goes back to be joined to the key the branch kept (`install_branch`).
The private key never leaves the branch and no PKCS#12 passphrase travels.

Signing is not instant on a router: making a 4096-bit key takes tens of seconds to minutes
(`ikefleet/routeros/keygen_timing.yaml`). Each sign is sent with `once do={}` (the console returns at once,
as in the seed) and the certificate is then polled until it is signed, within `sign_timeout`; on a timeout the
unsigned template is removed and the step fails with the host, the certificate and the fix.
"""

from __future__ import annotations

import contextlib
import os
import secrets as random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nornir.core.task import Result, Task

from ikefleet import private
from ikefleet.connection.session import Device, DeviceError
from ikefleet.parsers.certificate import Certificate, parse_certificate
from ikefleet.plan import NAMES, client_base, client_versions, renewal_name
from ikefleet.redact import register
from ikefleet.routeros import keygen, versions
from ikefleet.routeros.quoting import quoted

from . import version
from .device import device, drop

CA_KEY_USAGE = "key-cert-sign,crl-sign"
TUNNEL_KEY_USAGE = "digital-signature,key-encipherment,key-agreement,ipsec-tunnel"
EXPORT_PREFIX = "ikefleet-"
TEMP_PREFIX = "ikefleet-pki-"  # the jump host's private temporary directories of certificate files
OWNER_FILE = "owner.pid"  # in each of them: the process that made it (the sweep leaves live ones alone)
ORPHAN_AGE_S = 3600  # a directory without its pid (killed between mkdir and write) older than this


SIGN_MARGIN = 3  # times the slowest router's time for the key size (keygen_timing.yaml)
POLL_FIRST_S = 0.02  # the first look after a sign; doubled up to POLL_MAX_S
POLL_MAX_S = 2.0


@dataclass(frozen=True)
class CertPolicy:
    """What the inventory asks of certificates."""

    key_size: int
    ca_days_valid: int
    days_valid: int
    renew_window_days: int
    sign_timeout_s: int = 0  # 0: `sign_timeout` derives it from the key size


def sign_timeout(policy: CertPolicy) -> float:
    """Seconds to wait for one sign: the inventory's `sign_timeout_s`, else the slowest router class's time
    for the key size times SIGN_MARGIN (ikefleet does not know how fast the hub's CPU is)."""
    return float(policy.sign_timeout_s) or keygen.slowest(policy.key_size) * SIGN_MARGIN


CERTIFICATE_READ = "/certificate print detail without-paging"


def read_certificates(dev: Device) -> dict[str, Certificate]:
    return certificates_by_name(dev.send(CERTIFICATE_READ))


def certificates(task: Task) -> Result:
    """Nornir task: the router's certificates by name (one CERTIFICATE_READ)."""
    return Result(host=task.host, result=read_certificates(device(task)))


def certificates_by_name(text: str) -> dict[str, Certificate]:
    """A `/certificate print detail` reply (CERTIFICATE_READ) as certificates by name."""
    return {c["name"]: c for c in parse_certificate(text)}


def renewal_reason(cert: Certificate | None, policy: CertPolicy, now: datetime,
                   key_here: bool = True) -> str | None:
    """Why a certificate must be (re)issued, or None when it is good for longer than the window.
    `key_here=False`: a branch-made certificate on the hub, whose key is on the branch only."""
    if cert is None:
        return "missing"
    if key_here and not cert.get("private_key"):
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
    timeout_s: float,
    san: str | None = None,
    common_name: str | None = None,
    lock: AbstractContextManager[Any] | None = None,
    stopped: Callable[[], str] | None = None,
) -> None:
    """Add a template and sign it; return once it is signed. Any failure or interruption while it is being
    signed removes the template (nothing half-made stays on the router). `lock`: held around each command
    (a background signer shares the hub's session, `HubSigner`); `stopped`: why to give up now ('' goes on),
    asked between polls."""
    guard = lock or contextlib.nullcontext()
    args = (f"name={name} common-name={common_name or name} key-size={key_size} key-usage={key_usage} "
            f"days-valid={days}")
    if san:
        args += f" subject-alt-name={san}"
    sign = f'/certificate sign [find where name="{name}"]' + (f" ca={ca}" if ca else "")
    with guard:
        dev.send(f"/certificate add {args}")
    try:
        with guard:
            dev.send(f"{sign} once do={{}}")
        wait_signed(dev, name, timeout_s, sign, lock=guard, stopped=stopped)
    except BaseException:
        with contextlib.suppress(Exception), guard:  # a dropped session cannot; the next run removes it
            dev.send(f'/certificate remove [find where name="{name}"]')
        raise


def signed(cert: Certificate | None) -> bool:
    """A signed certificate with its key (a template, or one still being signed, has neither)."""
    return cert is not None and bool(cert.get("private_key")) and bool(cert.get("fingerprint"))


def poll(done: Callable[[], bool], timeout_s: float, failed: Callable[[], DeviceError],
         stopped: Callable[[], DeviceError | None] | None = None) -> None:
    """Ask `done` until it says yes (first after POLL_FIRST_S, then doubling up to POLL_MAX_S): a router
    making a key answers in its own time. Raises `failed()` when `timeout_s` runs out, or what `stopped`
    returns when it returns an error (asked before each look)."""
    deadline = time.monotonic() + timeout_s
    pause = POLL_FIRST_S
    while True:
        why = stopped() if stopped is not None else None
        if why is not None:
            raise why
        if done():
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise failed()
        time.sleep(min(pause, left))
        pause = min(pause * 2, POLL_MAX_S)


def wait_signed(dev: Device, name: str, timeout_s: float, command: str,
                lock: AbstractContextManager[Any] | None = None,
                stopped: Callable[[], str] | None = None) -> None:
    """Poll `name` until it is signed; a DeviceError naming the certificate, the time waited and the fix
    when `timeout_s` runs out, or why it was `stopped`. `lock`: held around each look (not between)."""
    guard = lock or contextlib.nullcontext()

    def done() -> bool:
        with guard:
            reply = dev.send(f'{CERTIFICATE_READ} where name="{name}"')
        return signed(certificates_by_name(reply).get(name))

    def given_up() -> DeviceError | None:
        why = stopped() if stopped is not None else ""
        return DeviceError(dev.host, command, f"certificate {name} not made: {why}") if why else None

    poll(done, timeout_s,
         lambda: DeviceError(
             dev.host, command,
             f"certificate {name} was not signed within {timeout_s:g} s (the router makes its key); its "
             "unsigned template is removed. If the router is only slow, raise certificates.sign_timeout_s "
             "in the inventory's defaults.yaml"),
         given_up)


def remove_templates(dev: Device, certs: dict[str, Certificate], names: list[str]) -> dict[str, Certificate]:
    """Remove unsigned templates named `names` (a run killed while the router was signing leaves one) and
    return `certs` without them, so they count as missing, never as a certificate to keep or renew."""
    kept = dict(certs)
    for name in names:
        cert = certs.get(name)
        if cert is not None and not cert.get("fingerprint"):
            dev.send(f'/certificate remove [find where name="{name}"]')
            del kept[name]
    return kept


# why a certificate is renewed when a copy of it authenticates nothing any more: renewing it breaks nothing
BROKEN = ("missing", "no private key", "revoked", "expired")


def server_reason(cert: Certificate | None, policy: CertPolicy, now: datetime, hub_wan: str) -> str | None:
    """Why the hub's own certificate must be issued anew (`renewal_reason`, or a subject-alt-name that is not
    the hub's WAN address), or None. An unsigned template (a killed run's) counts as missing."""
    if cert is not None and not cert.get("fingerprint"):
        cert = None
    reason = renewal_reason(cert, policy, now)
    san = f"IP:{hub_wan}"
    if reason is None and cert is not None and cert.get("subject_alt_name") != san:
        reason = f"subject-alt-name is {cert.get('subject_alt_name')!r}, want {san!r}"
    return reason


def kept_for_copies(reason: str | None) -> bool:
    """Whether a hub certificate renewed for `reason` is kept while branches outside the run hold a copy:
    it still authenticates, and a new one would take their tunnels down until a run hands it over."""
    return reason is not None and reason not in BROKEN


def ensure_authority(task: Task, ca: str, server: str, hub_wan: str, policy: CertPolicy,
                     certs: dict[str, Certificate] | None = None, keep_server: bool = False) -> Result:
    """On the hub: the CA and the hub's server certificate (subject-alt-name = the hub's WAN address).
    `certs`: the hub's certificates as read in this session with nothing changed since (None: read here).
    `keep_server`: branches outside this run hold a copy of the hub's certificate, so one that still
    authenticates is not issued anew (`kept_for_copies`; the caller says why on the hub's record)."""
    dev = device(task)
    now = datetime.now(UTC)
    certs = remove_templates(dev, read_certificates(dev) if certs is None else certs, [ca, server])
    done: list[str] = []
    timeout = sign_timeout(policy)
    ca_reason = renewal_reason(certs.get(ca), policy, now)
    if ca_reason == "missing":
        _issue(dev, ca, key_usage=CA_KEY_USAGE, days=policy.ca_days_valid, key_size=policy.key_size, ca=None,
               timeout_s=timeout)
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
    reason = server_reason(server_cert, policy, now, hub_wan)
    if reason and not (keep_server and kept_for_copies(reason)):
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
            timeout_s=timeout,
        )
        done.append(f"issued {server} ({reason})")
    # the diff is the hub's record of the work (runbooks/hub_step.py): a renewed hub certificate is a change
    return Result(host=task.host, changed=bool(done), diff="\n".join(done),
                  result="; ".join(done) or "CA and server certificate valid")


@dataclass(frozen=True)
class Bundle:
    """A branch's certificate files on the jump host, and the passphrase of its PKCS#12."""

    directory: Path
    client_p12: Path
    ca_pem: Path
    server_pem: Path
    passphrase: str
    client_fingerprint: str
    ca_fingerprint: str = ""
    server_fingerprint: str = ""
    # branch-made: the key file the branch kept (`finish_request`) and its passphrase; client_p12 is then the
    # signed certificate's PEM (no passphrase)
    key_file: str = ""
    key_passphrase: str = ""
    client_name: str = ""  # the certificate's name on the hub (branch-made: undone there on a failure)

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def storage(dev: Device) -> str:
    """`flash/` on RouterBOARDs whose persistent storage is that directory, else '' (CCR, CHR)."""
    count = dev.send('/file print count-only where name="flash"').strip()
    return "flash/" if count.isdigit() and int(count) > 0 else ""


@dataclass(frozen=True)
class Client:
    """A branch's current client certificate on the hub: the name the identities use, its fingerprint."""

    name: str
    fingerprint: str
    serial: str = ""


def ensure_clients(
    task: Task,
    *,
    clients: list[str],
    ca: str,
    policy: CertPolicy,
    renew: tuple[str, ...] = (),
    retire: bool = False,
    branch_made: tuple[str, ...] = (),
    certs: dict[str, Certificate] | None = None,
) -> Result:
    """On the hub: every branch's client certificate exists and is valid (the hub's identities name them).
    `clients` are the plan's base names (`<branch>-client`). A renewal issues the new certificate under a
    new name (`plan.renewal_name`) and leaves the old one: the identities move to the new one later, and
    the old one goes only then (`remove_superseded`). With `retire` (`clients` is then the whole fleet),
    client certificates `ca` issued for branches no longer in the fleet are revoked (`retired`).
    Also removes the files a killed run left on the hub (`remove_leftover_files`). The base names in
    `branch_made` are left alone: their branches make their keys (`start_request`, `sign_requests`).
    `certs`: the hub's certificates as read in this session with nothing changed since (None: read here).

    `Result.result` maps each base name to its current Client.
    """
    dev = device(task)
    remove_leftover_files(dev)
    certs = read_certificates(dev) if certs is None else certs
    wanted = set(clients)
    certs = remove_templates(dev, certs, [name for name in certs if client_base(name) in wanted])
    # signed from a branch's request (`_sign_one`) by a run killed before it named it: its key stays in the
    # branch's request key file (removed by the next sweep), nobody can use it
    unnamed = {name: cert.get("common_name", "") for name, cert in certs.items()
               if cert.get("common_name") in wanted and client_base(name) != cert.get("common_name")
               and cert.get("ca") == ca and not cert.get("private_key") and not cert.get("revoked")}
    for name in unnamed:
        dev.send(f'/certificate remove [find where name="{name}"]')
        certs.pop(name)
    now = datetime.now(UTC)
    issued: list[str] = []
    gone = retired(certs, clients, ca) if retire else []
    for name in gone:
        dev.send(f'/certificate issued-revoke [find where name="{name}"]')
    # key_here=False: a branch-made certificate is on the hub without its key (its branch may not be in
    # this run, e.g. `--limit responder`): not a reason to make one here
    for base, (name, reason, current) in wanted_clients(
            certs, [b for b in clients if b not in branch_made], policy, now, renew, key_here=False).items():
        _issue(dev, name, key_usage=TUNNEL_KEY_USAGE, days=policy.days_valid, key_size=policy.key_size, ca=ca,
               common_name=base, timeout_s=sign_timeout(policy))
        serial = certs[current].get("serial_number", "?") if current else ""
        issued.append(f"certificate {name} issued ({reason}" + (f"; replaces {current} serial {serial})"
                                                                if current else ")"))
    if issued:
        certs = read_certificates(dev)
    current_clients = {}
    for base in clients:
        names = client_versions(certs, base)
        if names:
            cert = certs[names[-1]]
            current_clients[base] = Client(names[-1], cert.get("fingerprint", ""),
                                           cert.get("serial_number", ""))
    changes = issued + [f"certificate {n} revoked (its branch is no longer in the inventory)" for n in gone]
    changes += [f"certificate {n} removed (signed as {cn} by a run stopped before it was named)"
                for n, cn in unnamed.items()]
    return Result(host=task.host, changed=bool(changes), result=current_clients, diff="\n".join(changes))


def wanted_clients(
    certs: dict[str, Certificate],
    clients: list[str],
    policy: CertPolicy,
    now: datetime,
    renew: tuple[str, ...] = (),
    key_here: bool = True,
) -> dict[str, tuple[str, str, str | None]]:
    """The client certificates (base names) to (re)issue: base -> (the new certificate's name, why, the
    current one or None). A renewal gets a new name (`plan.renewal_name`), a first one the base name."""
    out: dict[str, tuple[str, str, str | None]] = {}
    for base in clients:
        names = client_versions(certs, base)
        current = names[-1] if names else None
        reason = "renewal requested" if base in renew else renewal_reason(
            certs.get(current) if current else None, policy, now, key_here)
        if reason:
            out[base] = (renewal_name(base, certs, now) if current else base, reason, current)
    return out


def branch_made(hub_version: str, branch_version: str) -> bool:
    """Whether a branch makes its own key: both ends have `sign-certificate-request` (RouterOS 7.9+)."""
    return all(versions.has(v, "sign-certificate-request") for v in (hub_version, branch_version))


@dataclass(frozen=True)
class Wanted:
    """A branch-made certificate to make: its name, its common name (the base name) and why."""

    name: str
    common_name: str
    reason: str
    replaces: str = ""  # the current certificate and its serial, when it is a renewal


def plan_requests(task: Task, *, clients: dict[str, str], policy: CertPolicy, renew: tuple[str, ...] = (),
                  held: dict[str, str | None] | None = None,
                  certs: dict[str, Certificate] | None = None, server: str = "",
                  servers: dict[str, str | None] | None = None) -> Result:
    """On the hub, read only: which branch-made client certificates to make (`clients`: branch -> base
    name). `held`: branch -> the fingerprint of the client certificate the branch holds (None: none); a
    branch not holding the hub's current one gets a new one (the hub has no key to send it). `servers`:
    branch -> the fingerprint of its copy of the hub's certificate `server`; a branch whose copy is not the
    hub's (a run stopped after the hub renewed it) gets a new one too: its import brings the hub's.
    `certs`: the hub's certificates, already read (None: read here). `Result.result`: branch -> Wanted."""
    certs = read_certificates(device(task)) if certs is None else certs
    now = datetime.now(UTC)
    hub_server = certs.get(server, {}).get("fingerprint")
    lacks: dict[str, str] = {}  # base -> what its branch does not hold
    for branch, base in clients.items():
        names = client_versions(certs, base)
        if held is not None and names and held.get(branch) != certs[names[-1]].get("fingerprint"):
            lacks[base] = names[-1]
        elif servers is not None and names and hub_server and servers.get(branch) != hub_server:
            lacks[base] = f"the hub's current {server}"
    wanted = wanted_clients(certs, list(clients.values()), policy, now, (*renew, *lacks), key_here=False)
    out: dict[str, Wanted] = {}
    for branch, base in clients.items():
        if base in wanted:
            name, reason, current = wanted[base]
            if current and base not in renew and base in lacks and reason == "renewal requested":
                reason = f"the branch does not hold {lacks[base]}"
            serial = certs[current].get("serial_number", "?") if current else ""
            out[branch] = Wanted(name, base, reason, f"{current} serial {serial}" if current else "")
    return Result(host=task.host, result=out)


# `create-certificate-request` writes these two files (no argument names them; blog capture, v6 era).
REQUEST_FILE = "certificate-request.pem"
REQUEST_KEY_FILE = "certificate-request_key.pem"
REQUEST_TEMPLATE = "ikefleet-request"  # the template a request is made from (RouterOS removes it then)


@dataclass(frozen=True)
class KeyRequest:
    """A branch's request on the jump host (a private directory), for certificate `name`, and the
    passphrase of the key file it left on the branch (sent to that branch only)."""

    directory: Path
    csr: Path
    name: str
    common_name: str
    key_passphrase: str

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def start_request(task: Task, *, wanted: Wanted, policy: CertPolicy) -> Result:
    """On a branch (7.9+): a template and `create-certificate-request ... once do={}` with a random key
    passphrase, in one console line: the console returns at once and the branch makes its key (the table's
    time for its model) while ikefleet starts the others' (`finish_request` then waits for each). A failure
    or interruption removes the template and the files (nothing is in use yet: the certificate in use is
    not touched).
    `Result.result`: the key passphrase (sent to this branch only)."""
    dev = device(task)
    # A killed run's template first, then the files: its key may be done at any moment until the template
    # goes (the router then writes its files, under the names this request's will have), never after
    remove_templates(dev, read_certificates(dev), [REQUEST_TEMPLATE])
    remove_leftover_files(dev)  # a killed run's request and key files, hand-over files
    passphrase = random.token_urlsafe(18)
    register(passphrase)
    try:  # one line: a run dead in between would leave a bare template that no later run sweeps
        dev.send(f"/certificate add name={REQUEST_TEMPLATE} common-name={wanted.common_name} "
                 f"key-size={policy.key_size} key-usage={TUNNEL_KEY_USAGE} days-valid={policy.days_valid}; "
                 f"/certificate create-certificate-request template={REQUEST_TEMPLATE} "
                 f"key-passphrase={passphrase} once do={{}}")
    except BaseException:
        abandon_request(dev)
        raise
    return Result(host=task.host, changed=True, result=passphrase)


def finish_request(task: Task, *, wanted: Wanted, passphrase: str, policy: CertPolicy) -> Result:
    """After `start_request`: wait until the branch has written its request and key (polled as a sign is,
    within `sign_timeout`), bring the request to the jump host and remove it from the branch; the key file
    stays for `install_branch`. A failure or interruption removes the template and both files.
    `Result.result`: the KeyRequest."""
    dev = device(task)
    directory: Path | None = None
    try:
        wait_request(dev, sign_timeout(policy))
        directory = private_directory()
        csr = directory / f"{EXPORT_PREFIX}{task.host.name}.csr"
        with file_channel(dev) as sftp:
            _fetch(sftp, REQUEST_FILE, csr)
        dev.send(f'/file remove [find where name="{REQUEST_FILE}"]')
    except BaseException:
        abandon_request(dev)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    request = KeyRequest(directory, csr, wanted.name, wanted.common_name, passphrase)
    return Result(host=task.host, changed=True, result=request)


def abandon_request(dev: Device) -> None:
    """Remove a request's template and files from a branch, as far as the session allows (a dropped one
    cannot: the next run's sweep removes them)."""
    with contextlib.suppress(Exception):
        dev.send(f'/certificate remove [find where name="{REQUEST_TEMPLATE}"]')
        remove_leftover_files(dev)


def wait_request(dev: Device, timeout_s: float) -> None:
    """Poll until the request and key files exist and the request's template is gone (RouterOS removes it
    when the request is made: files seen while it is there are another request's, a killed run's key done
    late), as `wait_signed` polls a certificate; a DeviceError naming the files, the time waited and the fix
    when `timeout_s` runs out."""
    names = (REQUEST_FILE, REQUEST_KEY_FILE)
    where = " or ".join(f'name="{name}"' for name in names)
    poll(lambda: (_count(dev, f"/file print count-only where {where}") >= len(names)
                  and not _count(dev, f'/certificate print count-only where name="{REQUEST_TEMPLATE}"')),
         timeout_s,
         lambda: DeviceError(
             dev.host, f"/certificate create-certificate-request template={REQUEST_TEMPLATE}",
             f"the router did not write {', '.join(names)} within {timeout_s:g} s (it makes its key); "
             "the request is removed. If the router is only slow, raise certificates.sign_timeout_s in "
             "the inventory's defaults.yaml"))


def sign_requests(task: Task, *, requests: dict[str, KeyRequest], ca: str, server: str,
                  policy: CertPolicy) -> Result:
    """On the hub, all requests in its one session and one SFTP channel: each request goes up, the CA signs
    it (`sign-certificate-request`), the new certificate (the one that was not there before, with the
    request's common name: what RouterOS names it is not documented) is renamed to the request's name and
    exported as PEM; the CA and the server certificate are exported once. Every file is removed from the
    hub; a failure removes that branch's new certificate and does not stop the others.

    `Result.result`: branch -> its Bundle (the key file stays on the branch), or why it failed."""
    dev = device(task)
    prefix = storage(dev)
    shared = private_directory()
    remote: list[str] = []
    out: dict[str, Bundle | str] = {}
    try:
        certs = read_certificates(dev)
        with file_channel(dev) as sftp:
            pems: dict[str, Path] = {}
            for role, cert in (("ca", ca), ("server", server)):
                name = f"{prefix}{EXPORT_PREFIX}{role}"
                remote.append(f"{name}.crt")
                dev.send(f'/certificate export-certificate [find where name="{cert}"] type=pem '
                         f"file-name={name}")
                pems[role] = shared / f"{role}.crt"
                _fetch(sftp, f"{name}.crt", pems[role])
            for branch, request in requests.items():
                try:
                    out[branch] = _sign_one(dev, sftp, prefix, branch, request, ca, policy, pems, remote)
                except (DeviceError, OSError) as exc:
                    out[branch] = str(exc)
        for branch, bundle in out.items():
            if isinstance(bundle, Bundle):
                out[branch] = replace(bundle, ca_fingerprint=certs.get(ca, {}).get("fingerprint", ""),
                                      server_fingerprint=certs.get(server, {}).get("fingerprint", ""))
    except BaseException:
        for bundle in out.values():
            if isinstance(bundle, Bundle):
                with contextlib.suppress(Exception):
                    dev.send(f'/certificate remove [find where name="{bundle.client_name}"]')
        raise
    finally:
        for name in remote:
            with contextlib.suppress(Exception):
                dev.send(f'/file remove [find where name="{name}"]')
        shutil.rmtree(shared, ignore_errors=True)
    signed = [b for b in out.values() if isinstance(b, Bundle)]
    return Result(host=task.host, changed=bool(signed), result=out)


def _sign_one(dev: Device, sftp: Any, prefix: str, branch: str, request: KeyRequest, ca: str,
              policy: CertPolicy, pems: dict[str, Path], remote: list[str]) -> Bundle:
    """`sign_requests` for one request; on a failure the certificate it made is removed again."""
    csr, signed = f"{prefix}{EXPORT_PREFIX}{branch}.csr", f"{prefix}{EXPORT_PREFIX}{branch}-signed"
    remote += [csr, f"{signed}.crt"]
    # read by common name, not the whole store: a wave of requests on a hub of hundreds of certificates
    mine = f'{CERTIFICATE_READ} where common-name="{request.common_name}" or name="{request.name}"'
    before = certificates_by_name(dev.send(mine))
    if request.name in before:
        raise DeviceError(dev.host, "/certificate print", f"the hub already holds {request.name}")
    _put(sftp, request.csr, csr)
    command = f"/certificate sign-certificate-request ca={ca} file-name={csr} days-valid={policy.days_valid}"
    new: list[str] = []
    try:
        dev.send(command)
        after = certificates_by_name(dev.send(mine))
        new = [n for n, c in after.items() if n not in before and c.get("common_name") == request.common_name]
        if len(new) != 1 or not after[new[0]].get("fingerprint"):
            raise DeviceError(dev.host, command, f"expected one new certificate for {request.common_name} "
                              f"after signing, found {len(new)}")
        fingerprint = after[new[0]].get("fingerprint", "")
        dev.send(f'/certificate set [find where name="{new[0]}"] name={request.name}')
        new = [request.name]
        dev.send(f'/certificate export-certificate [find where name="{request.name}"] type=pem '
                 f"file-name={signed}")
        local = request.directory / f"{EXPORT_PREFIX}{branch}-client.crt"
        _fetch(sftp, f"{signed}.crt", local)
        copies = {}
        for role in ("ca", "server"):
            copies[role] = request.directory / f"{EXPORT_PREFIX}{branch}-{role}.crt"
            with private.open_file(copies[role], "wb") as out:
                out.write(pems[role].read_bytes())
    except BaseException:
        for name in new:
            with contextlib.suppress(Exception):
                dev.send(f'/certificate remove [find where name="{name}"]')
        raise
    return Bundle(request.directory, local, copies["ca"], copies["server"], "", fingerprint,
                  key_file=REQUEST_KEY_FILE, key_passphrase=request.key_passphrase, client_name=request.name)


def remove_superseded(task: Task, *, clients: dict[str, str],
                      certs: dict[str, Certificate] | None = None) -> Result:
    """Nornir task for `supersede` (`certs`: the router's certificates, still current; None: read here)."""
    dev = device(task)
    removed = supersede(dev, read_certificates(dev) if certs is None else certs, clients)
    return Result(host=task.host, changed=bool(removed), result=removed)


def supersede(dev: Device, certs: dict[str, Certificate], clients: dict[str, str]) -> list[str]:
    """Remove the client certificates a renewal replaced (`clients`: base name -> current name), once the
    identities on this router name the current ones: the versions older than the current one (a newer one
    is a renewal still on its way); revoked ones stay (the CA's record). Returns what was done."""
    removed = []
    for base, current in clients.items():
        versions = client_versions(certs, base)
        older = versions[: versions.index(current)] if current in versions else []  # never a newer one
        for name in older:
            if not certs[name].get("revoked"):
                dev.send(f'/certificate remove [find where name="{name}"]')
                removed.append(f"certificate {name} removed (superseded by {current})")
    return removed


# Files ikefleet writes on routers for a hand-over (`export_bundles`, `install_branch`, `sign_requests`): the
# PEMs, the PKCS#12 and the requests (its backups, `ikefleet-<date>.backup`, do not match). Quoted with
# RouterOS escapes (`\?`, `\$`).
# A branch's request and key files (`start_request`: fixed names) too: a killed run's key material.
LEFTOVER_FILES = "name~" + quoted(
    rf"^(flash/)?({EXPORT_PREFIX}.*\.(crt|p12|key|csr)|certificate-request(_key)?\.pem)$")


def remove_leftover_files(dev: Device) -> None:
    """Remove the hand-over files a killed run left on this router (normally removed as they are used)."""
    dev.send(f"/file remove [find where {LEFTOVER_FILES}]")


def retired(certs: dict[str, Certificate], clients: list[str], ca: str) -> list[str]:
    """Client certificates (named `<branch>-client`, or a renewal of it) that `ca` issued, not revoked,
    whose base name is not in `clients`."""
    suffix = NAMES["branch_certificate"].format(branch="")
    wanted = set(clients)
    return sorted(
        name
        for name, cert in certs.items()
        if client_base(name).endswith(suffix) and client_base(name) not in wanted and cert.get("ca") == ca
        and not cert.get("revoked")
    )


@contextmanager
def file_channel(dev: Device) -> Iterator[Any]:
    """An SFTP channel on the run's own SSH session to this router. netmiko's SCP logs in again for every
    file (key exchange and all): a wave of bundles would cost three logins per branch on the hub."""
    sftp = dev.connection.remote_conn_pre.open_sftp()
    try:
        yield sftp
    finally:
        sftp.close()


def private_directory() -> Path:
    """A 0700 temporary directory named TEMP_PREFIX... holding the pid of this process (OWNER_FILE), so the
    next run can tell a killed run's key material from a running one's (`sweep_temporary`)."""
    directory = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    with private.open_file(directory / OWNER_FILE, "wb") as out:
        out.write(f"{os.getpid()}\n".encode())
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_temporary(root: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove this user's TEMP_PREFIX directories whose owning process is gone (a run killed with -9
    leaves a PKCS#12 and its CA files there); returns what was removed. Live runs' directories stay."""
    root = Path(tempfile.gettempdir()) if root is None else root
    now = time.time() if now is None else now
    removed = []
    for directory in root.glob(f"{TEMP_PREFIX}*"):
        try:
            info = directory.lstat()
            if not directory.is_dir() or directory.is_symlink() or info.st_uid != os.getuid():
                continue
            owner = directory / OWNER_FILE
            text = owner.read_text().strip() if owner.exists() else ""
            if text.isdigit():
                if _alive(int(text)):
                    continue
            elif now - info.st_mtime < ORPHAN_AGE_S:  # no pid yet: made or being written this moment
                continue
        except OSError:
            continue
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed


def _fetch(sftp: Any, remote: str, local: Path) -> None:
    with private.open_file(local, "wb") as out:
        sftp.getfo(remote, out)
    if sftp.stat(remote).st_size != local.stat().st_size:
        raise OSError(f"get {remote}: size on the router differs after the transfer")


def _put(sftp: Any, local: Path, remote: str) -> None:
    sftp.put(str(local), remote)
    if sftp.stat(remote).st_size != local.stat().st_size:
        raise OSError(f"put {remote}: size on the router differs after the transfer")


def export_bundles(task: Task, *, clients: dict[str, str], ca: str, server: str) -> Result:
    """On the hub, for many branches in its one session: the CA and the server certificate are exported
    once, each branch's certificate as PKCS#12 under its own random passphrase; every file comes to a
    private temporary directory on the jump host over one SFTP channel and is then removed from the hub.

    `clients` maps branch -> client certificate name. `Result.result` maps branch -> its Bundle, or to
    the reason its export failed (one branch's failure does not stop the others').
    """
    dev = device(task)
    certs = read_certificates(dev)
    prefix = storage(dev)
    shared = private_directory()
    remote: list[str] = []  # every file written on the hub, removed whatever happens
    out: dict[str, Bundle | str] = {}
    try:
        pems: dict[str, Path] = {}
        for role, cert in (("ca", ca), ("server", server)):
            name = f"{prefix}{EXPORT_PREFIX}{role}"
            remote.append(f"{name}.crt")
            dev.send(f'/certificate export-certificate [find where name="{cert}"] type=pem file-name={name}')
        exported: dict[str, str] = {}  # branch -> passphrase of its .p12 on the hub
        for branch, client in clients.items():
            if client not in certs:
                out[branch] = f"the hub has no certificate {client}"
                continue
            passphrase = random.token_urlsafe(18)
            register(passphrase)
            name = f"{prefix}{EXPORT_PREFIX}{branch}-client"
            remote.append(f"{name}.p12")
            try:
                dev.send(
                    f'/certificate export-certificate [find where name="{client}"] type=pkcs12 '
                    f"export-passphrase={passphrase} file-name={name}"
                )
            except DeviceError as exc:
                out[branch] = str(exc)
                continue
            exported[branch] = passphrase
        with file_channel(dev) as sftp:
            for role in ("ca", "server"):
                pems[role] = shared / f"{role}.crt"
                _fetch(sftp, f"{prefix}{EXPORT_PREFIX}{role}.crt", pems[role])
            for branch, passphrase in exported.items():
                bundle = _bundle(sftp, prefix, branch, passphrase, pems, certs[clients[branch]])
                out[branch] = replace(bundle, ca_fingerprint=certs.get(ca, {}).get("fingerprint", ""),
                                      server_fingerprint=certs.get(server, {}).get("fingerprint", ""))
    except BaseException:
        for made in out.values():
            if isinstance(made, Bundle):
                made.discard()
        raise
    finally:
        for name in remote:
            dev.send(f'/file remove [find where name="{name}"]')
        shutil.rmtree(shared, ignore_errors=True)
    return Result(host=task.host, changed=False, result=out)


def _bundle(
    sftp: Any, prefix: str, branch: str, passphrase: str, pems: dict[str, Path], cert: Certificate
) -> Bundle:
    """One branch's files in their own private directory (the branch-side names stay per branch)."""
    directory = private_directory()
    base = f"{EXPORT_PREFIX}{branch}"
    try:
        client_p12 = directory / f"{base}-client.p12"
        _fetch(sftp, f"{prefix}{base}-client.p12", client_p12)
        ca_pem, server_pem = directory / f"{base}-ca.crt", directory / f"{base}-server.crt"
        for source, target in ((pems["ca"], ca_pem), (pems["server"], server_pem)):
            with private.open_file(target, "wb") as out:
                out.write(source.read_bytes())
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Bundle(directory, client_p12, ca_pem, server_pem, passphrase, cert.get("fingerprint", ""))


def export_bundle(task: Task, *, branch: str, client: str, ca: str, server: str) -> Result:
    """`export_bundles` for one branch: `Result.result` is its Bundle (`ikefleet certs renew`)."""
    res = export_bundles(task, clients={branch: client}, ca=ca, server=server)
    bundle = res.result[branch]
    if not isinstance(bundle, Bundle):
        return Result(host=task.host, failed=True, result=bundle)
    return Result(host=task.host, changed=False, result=bundle)


def installed_fingerprint(task: Task, client: str) -> str | None:
    """The fingerprint of the branch's client certificate when it has it with its private key (the run's
    version read rides on the same round trip)."""
    read = version.read_with_version(task, {"certificate": CERTIFICATE_READ})
    return client_fingerprint(read["certificate"], client)


def fingerprint_of(certificates: str, name: str) -> str | None:
    """From a `/certificate print detail` reply: certificate `name`'s fingerprint (None: it is not there)."""
    cert = certificates_by_name(certificates).get(name)
    return cert.get("fingerprint") if cert is not None else None


def client_fingerprint(certificates: str, client: str) -> str | None:
    """From a `/certificate print detail` reply: the client certificate's fingerprint if its key is there."""
    return keyed_fingerprint(certificates_by_name(certificates).get(client))


def keyed_fingerprint(cert: Mapping[str, Any] | None) -> str | None:
    """A parsed certificate's fingerprint if its key is on the router (a copy without one authenticates
    nothing), else None."""
    if cert is None or not cert.get("private_key"):
        return None
    return cert.get("fingerprint")


def install_branch(task: Task, *, bundle: Bundle, client: str, ca: str, server: str) -> Result:
    """On the branch: import the CA, the hub's server certificate and the branch's own (with key) as the hub
    has them; the files go up over one SFTP channel of the branch's session and are removed at once.

    The client certificate is imported under its own (new) name next to the one in use, which nothing
    here touches: the identity moves to it in safe mode afterwards (`converge`, `switch_identities`). A
    CA or server certificate is replaced only when it differs from the hub's (the old one no longer
    authenticates anything then). Any failure removes what this import added. `Result.result`: what was
    done, one line each."""
    dev = device(task)
    if not bundle.key_file:  # branch-made: `start_request` swept, and its key file is to be used now
        remove_leftover_files(dev)
    certs = read_certificates(dev)
    prefix = storage(dev)
    done: list[str] = []
    try:
        with file_channel(dev) as sftp:
            for local, name, passphrase, wanted in (
                (bundle.ca_pem, ca, "", bundle.ca_fingerprint),
                (bundle.server_pem, server, "", bundle.server_fingerprint),
                (bundle.client_p12, client, bundle.passphrase, bundle.client_fingerprint),
            ):
                have = certs.get(name)
                if have and have.get("fingerprint") == wanted and (have.get("private_key") or name != client):
                    continue  # already there (a run stopped after importing it)
                if have is not None:
                    dev.send(f'/certificate remove [find where name="{name}"]')
                remote = prefix + local.name
                try:
                    _put(sftp, local, remote)
                    dev.send(f'/certificate import file-name={remote} name={name} passphrase="{passphrase}"')
                    if name == client and bundle.key_file:  # branch-made: its own key joins it
                        dev.send(f"/certificate import file-name={bundle.key_file} "
                                 f'passphrase="{bundle.key_passphrase}"')
                finally:
                    dev.send(f'/file remove [find where name="{remote}"]')
                old = f" (replaces fingerprint {have.get('fingerprint', '?')[:16]})" if have else ""
                done.append(f"certificate {name} imported{old}")
        got = read_certificates(dev).get(client)
        if got is None or got.get("fingerprint") != bundle.client_fingerprint or not got.get("private_key"):
            raise DeviceError(task.host.name, "/certificate print",
                              f"{client} is not there with its private key after the import")
    except BaseException:
        with contextlib.suppress(Exception):  # the one in use stays; the half-imported new one goes
            if client not in certs:
                dev.send(f'/certificate remove [find where name="{client}"]')
        raise
    finally:
        bundle.discard()
        if bundle.key_file:  # used or not, the key file goes (a failed import is made again next run)
            with contextlib.suppress(Exception):
                dev.send(f'/file remove [find where name="{bundle.key_file}"]')
    return Result(host=task.host, changed=bool(done), result=done)


def switch_identities(task: Task, *, field: str, old: str, new: str) -> Result:
    """In safe mode: ikefleet's IPsec identities naming certificate `old` in `field` (`certificate` on a
    branch, `remote-certificate` on the hub) name `new`, read back before safe mode is released; a refusal,
    a drop or a wrong read-back undoes it (Ctrl-D). `Result.result`: how many identities moved."""
    dev = device(task)
    count = _naming(dev, field, old)
    if not count:
        return Result(host=task.host, changed=False, result=0)
    with _identity_window(task, dev):
        dev.send(f'/ip ipsec identity set [find where {MINE} and {field}="{old}"] {field}="{new}"')
        moved = _naming(dev, field, new)
        if moved < count:
            raise DeviceError(task.host.name, "/ip ipsec identity print",
                              f"{count} identities should name {new} after the switch, {moved} do")
    return Result(host=task.host, changed=True, result=count)


def add_identities(task: Task, *, field: str, existing: str, new: str) -> Result:
    """In safe mode: beside ikefleet's identity naming certificate `existing` in `field`, the same one naming
    `new` (`add copy-from`, as the seed does for OSPF interfaces), read back before safe mode is released.
    The hub then accepts a branch presenting either certificate: a renewal stopped at any point leaves a
    working pair. Nothing when one naming `new` exists already, or none names `existing` (a revoked
    branch: the rollout restores its identity). `Result.result`: identities added."""
    dev = device(task)
    if _naming(dev, field, new):
        return Result(host=task.host, changed=False, result=0)
    count = _naming(dev, field, existing)
    if not count:
        return Result(host=task.host, changed=False, result=0)
    if count > 1:
        raise DeviceError(task.host.name, "/ip ipsec identity print",
                          f"{count} identities of ikefleet's name {existing}, one expected: run `ikefleet "
                          "rollout`")
    with _identity_window(task, dev):
        dev.send(f'/ip ipsec identity add copy-from=[find where {MINE} and {field}="{existing}"] '
                 f'{field}="{new}" comment="ikefleet"')
        if _naming(dev, field, new) != 1:
            raise DeviceError(task.host.name, "/ip ipsec identity print",
                              f"one identity should name {new} after the add")
    return Result(host=task.host, changed=True, result=1)


def remove_identities(task: Task, *, field: str, gone: str, kept: str) -> Result:
    """In safe mode: ikefleet's identities naming certificate `gone` in `field` removed, once one naming
    `kept` exists (the other half of `add_identities`; read back before safe mode is released). Refused,
    nothing changed, when none names `kept`: the branch would be left without an identity.
    `Result.result`: identities removed."""
    dev = device(task)
    count = _naming(dev, field, gone)
    if not count:
        return Result(host=task.host, changed=False, result=0)
    if not _naming(dev, field, kept):
        raise DeviceError(task.host.name, "/ip ipsec identity print",
                          f"no identity of ikefleet's names {kept}: {gone} is kept")
    with _identity_window(task, dev):
        dev.send(f'/ip ipsec identity remove [find where {MINE} and {field}="{gone}"]')
        left, still = _naming(dev, field, gone), _naming(dev, field, kept)
        if left or not still:
            raise DeviceError(task.host.name, "/ip ipsec identity print",
                              f"after the removal {left} identities name {gone}, {still} name {kept}")
    return Result(host=task.host, changed=True, result=count)


MINE = 'comment="ikefleet"'  # ikefleet's own identities: never someone else's


def _naming(dev: Device, field: str, certificate: str) -> int:
    """How many of ikefleet's IPsec identities name `certificate` in `field`."""
    return _count(dev, f'/ip ipsec identity print count-only where {MINE} and {field}="{certificate}"')


@contextmanager
def _identity_window(task: Task, dev: Device) -> Iterator[None]:
    """A safe-mode window for an identity change: an exception in it undoes the window (Ctrl-D) and drops
    the aborted session, so the next task reconnects."""
    try:
        with dev.safe_mode_window():
            yield
    except BaseException:
        drop(task)
        raise


def _count(dev: Device, command: str) -> int:
    reply = dev.send(command).strip()
    if not reply.isdigit():
        raise DeviceError(dev.host, command, f"expected a count, got {reply[:80]!r}")
    return int(reply)


def remove_certificate(task: Task, *, certificate: str) -> Result:
    """Remove one certificate by name (a renewal that did not finish takes its new certificate back)."""
    device(task).send(f'/certificate remove [find where name="{certificate}"]')
    return Result(host=task.host, changed=True)
