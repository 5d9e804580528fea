"""`/certificate` commands of the lab routers: sign, create-certificate-request, export-certificate, import,
remove, issued-revoke.

Generic add/set/print come from the menu schema; these handlers turn templates into real certificates
(`ikefleet.lab.pki`) and keep the storage contract: a certificate is an `Item` of `/certificate` whose
`values` are what `print detail` shows and whose `private` holds `certificate` (PEM) and, when the router
has it, `key` (PEM). Private keys and passphrases never reach logs or output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ikefleet.routeros import keygen, versions
from ikefleet.routeros.config import Item

from . import pki
from .commands import Context, handler
from .errors import CommandError
from .router import Router, Work

PATH = "/certificate"
CRL_PATH = "/certificate crl"
SETTINGS_PATH = "/certificate settings"

# Template defaults of RouterOS 6.49 (used when the schema did not store them on the item).
TEMPLATE_DEFAULTS: dict[str, str] = {
    "key-size": "2048",
    "days-valid": "365",
    "key-usage": "digital-signature,key-encipherment,data-encipherment,key-cert-sign,crl-sign,"
    "tls-server,tls-client",
    "digest-algorithm": "sha256",
}
SETTINGS_DEFAULTS: dict[str, str] = {"crl-download": "no", "crl-use": "no", "crl-store": "ram"}
# v6 flag legend, in print order.
FLAG_LEGEND: tuple[tuple[str, str], ...] = (
    ("K", "private-key"),
    ("L", "crl"),
    ("C", "smart-card-key"),
    ("A", "authority"),
    ("I", "issued"),
    ("R", "revoked"),
    ("E", "expired"),
    ("T", "trusted"),
)
# RouterOS failure texts. Marked *unverified* where no capture of the real text was available.
ERRORS: dict[str, str] = {
    "no-such-item": "no such item",
    "no-such-ca": "input does not match any value of ca",  # unverified
    "ca-no-key": "failure: CA certificate has no private key",  # unverified
    "not-a-ca": "failure: certificate is not a CA",  # unverified
    "already-signed": "failure: certificate is already signed",  # unverified
    "busy": "failure: certificate is being signed",  # unverified
    "missing-template": "missing value for template",  # unverified
    "no-such-template": "input does not match any value of template",  # unverified
    "no-common-name": "failure: common-name is required",  # unverified
    "not-signed": "failure: certificate is not signed",  # unverified
    "short-passphrase": "failure: export passphrase must be at least 8 characters long",  # unverified
    "pkcs12-passphrase": "failure: pkcs12 export requires export-passphrase",  # unverified
    "no-file": "failure: no such file",  # unverified
    "missing-file-name": "missing value for file-name",  # unverified
    "not-issued": "failure: certificate was not issued by a local CA",  # unverified
    "bad-request": "failure: {reason}",  # unverified
    "missing-ca": "missing value for ca",  # unverified
    "bad-value": "invalid value for argument {arg}",
    "unsupported": "failure: {command} is not available on this router",  # lab-only text
}
# Menu commands the schema lists that the lab does not model (smart cards, SCEP).
UNSUPPORTED = ("card-reinstall", "card-verify", "scep-renew")
IMPORT_COUNTERS = (
    "certificates-imported",
    "private-keys-imported",
    "files-imported",
    "decryption-failures",
    "keys-with-no-certificate",
)


def _fail(key: str, **fmt: str) -> CommandError:
    return CommandError(ERRORS[key].format(**fmt))


# --- queries other modules use ----------------------------------------------------------------------


def certificates(router: Router) -> list[Item]:
    return router.config.items(PATH)


def find_cert(router: Router, name: str) -> Item | None:
    return next((item for item in certificates(router) if item.get("name") == name), None)


def is_signed(item: Item) -> bool:
    return "certificate" in item.private


def trusted_ca_pems(router: Router) -> list[str]:
    """PEMs of the router's trusted certificates (the trust anchors `pki.verify` takes)."""
    return [
        item.private["certificate"]
        for item in certificates(router)
        if is_signed(item) and item.get("trusted") == "yes" and "revoked" not in item.private
    ]


def settings(router: Router) -> dict[str, str]:
    items = router.config.items(SETTINGS_PATH)
    values = dict(SETTINGS_DEFAULTS)
    if items:
        values.update(items[0].values)
    return values


def crl_pems(router: Router) -> list[str]:
    """The CRLs the router applies: all of `/certificate crl` when `settings crl-use=yes`, else none."""
    if settings(router).get("crl-use") != "yes":
        return []
    return [item.private["crl"] for item in router.config.items(CRL_PATH) if "crl" in item.private]


def cert_flags(item: Item, now: datetime) -> str:
    """The v6 flag letters of a certificate item, in legend order (`KAT`, `KIT`, `T`, `KIRT`)."""
    if not is_signed(item):
        return ""
    cert = pki.load_certificate(item.private["certificate"])
    present = {
        "K": "key" in item.private,
        "L": "crl" in item.private,
        "C": False,
        "A": pki.is_ca(cert) and "key" in item.private,
        # issued and revoked share one column: a revoked certificate shows R instead of I
        "I": bool(item.get("ca")) and "revoked" not in item.private,
        "R": "revoked" in item.private,
        "E": now.astimezone(UTC) > cert.not_valid_after_utc,
        "T": item.get("trusted") == "yes",
    }
    return "".join(letter for letter, _ in FLAG_LEGEND if present[letter])


def format_duration(seconds: int) -> str:
    """RouterOS duration as print shows it: `521w3d20h29m37s`, zero parts left out."""
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def cert_status(item: Item, now: datetime) -> dict[str, str]:
    """Time-driven read-only fields: `expires-after` while valid, `expired=yes` after."""
    if not is_signed(item):
        return {}
    cert = pki.load_certificate(item.private["certificate"])
    left = int((cert.not_valid_after_utc - now.astimezone(UTC)).total_seconds())
    return {"expires-after": format_duration(left)} if left > 0 else {"expired": "yes"}


def refresh_status(router: Router, now: datetime | None = None) -> None:
    """Set `status` of every certificate to `cert_status` (call before printing `/certificate`)."""
    moment = now or router.now()
    for item in certificates(router):
        item.status = cert_status(item, moment)


# --- helpers ------------------------------------------------------------------------------------------



def _signing_ca(router: Router, name: str) -> Item:
    """The CA named `name`, able to sign: signed, with its key, a CA certificate (RouterOS's errors else)."""
    ca = find_cert(router, name)
    if ca is None or not is_signed(ca):
        raise _fail("no-such-ca")
    if "key" not in ca.private:
        raise _fail("ca-no-key")
    if not pki.is_ca(pki.load_certificate(ca.private["certificate"])):
        raise _fail("not-a-ca")
    return ca

def _targets(targets: list[Item]) -> list[Item]:
    if not targets:
        raise _fail("no-such-item")
    return targets


def _request(item: Item, crl_url: str) -> pki.Request:
    values = {**TEMPLATE_DEFAULTS, **{k: v for k, v in item.values.items() if v != ""}}
    common_name = values.get("common-name", "")
    if not common_name:
        raise _fail("no-common-name")
    try:
        days = int(values["days-valid"])
    except ValueError as exc:
        raise _fail("bad-value", arg="days-valid") from exc
    if values["key-size"] not in pki.KEY_SIZES:
        raise _fail("bad-value", arg="key-size")
    subject = {arg: values[arg] for arg in pki.SUBJECT_FIELDS if arg != "common-name" and arg in values}
    return pki.Request(
        common_name=common_name,
        key_size=values["key-size"],
        key_usage=tuple(pki.split_words(values["key-usage"])),
        days_valid=days,
        subject_alt_name=values.get("subject-alt-name", ""),
        subject=subject,
        digest=values["digest-algorithm"],
        crl_url=crl_url,
    )


def _update(item: Item, values: dict[str, str] | None = None, private: dict[str, str] | None = None) -> None:
    """Change an item by replacing its dicts, never mutating them: the engine's change detection and
    safe-mode snapshot (`Config.to_json`) hold references to the old ones."""
    if values:
        item.values = {**item.values, **values}
    if private:
        item.private = {**item.private, **private}


def _store(item: Item, cert_pem: str, key_pem: str | None, **values: str) -> None:
    """Write the certificate's printed fields and private data onto `item`."""
    printed = pki.describe(cert_pem) | {"private-key": "yes" if key_pem else "no"} | values
    _update(item, printed, {"certificate": cert_pem} | ({"key": key_pem} if key_pem else {}))


def _crl_url(ca: Item) -> str:
    host = ca.get("ca-crl-host")
    return f"http://{host}/crl/{ca.get('serial-number')}.crl" if host else ""


def _issuer_of(router: Router, item: Item) -> Item | None:
    """The certificate on this router that signed `item` (by key identifier and signature), if any."""
    cert = pki.load_certificate(item.private["certificate"])
    akid = pki.authority_key_id(cert)
    for other in certificates(router):
        if other is item or not is_signed(other) or other.get("skid") != akid:
            continue
        if pki.issued_by(item.private["certificate"], other.private["certificate"]):
            return other
    return None


def _chain(router: Router, item: Item) -> list[str]:
    """CA certificates above `item` that the router holds, nearest first."""
    chain: list[str] = []
    current = item
    while len(chain) < 8:
        issuer = _issuer_of(router, current)
        if issuer is None or issuer is item or issuer.private["certificate"] in chain:
            break
        chain.append(issuer.private["certificate"])
        current = issuer
    return chain


def _unique_name(router: Router, wanted: str) -> str:
    names = {item.get("name") for item in certificates(router)}
    if wanted not in names:
        return wanted
    n = 1
    while f"{wanted}_{n}" in names:
        n += 1
    return f"{wanted}_{n}"


# --- handlers ----------------------------------------------------------------------------------------


def busy(router: Router, item: Item) -> bool:
    """True while `item` is being signed (`Router.work`): print shows it as the template it still is."""
    return any(work.subject is item for work in router.work)


@handler(PATH, "sign")
def sign(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Turn templates into certificates: self-signed without `ca=`, else signed by that CA's key.

    Timing as on a real router (`keygen.seconds` for the model and key size, times the lab's time scale):
    the template stays a template (no flags, `print` shows its template fields) until the key is made.
    `sign` is a monitor-style command: without `once` it holds the console and ends with `  progress: done`
    (verified: MikroTik WebFig page, captured in routeros-samples/v7-more/v7__certificate_sign__helpmt-
    webfig-ca.txt; the intermediate progress lines are not documented, so none are printed); with `once`
    (the seed's `once do={}`) the console returns at once and the work goes on (the seed's reason for
    `:delay 130`). Assumed, unverified: `once` prints nothing; a template being signed cannot be signed
    again (ERRORS["busy"]); removing it meanwhile drops the work."""
    router = ctx.router
    ca = _signing_ca(router, args["ca"]) if args.get("ca") else None
    items = _targets(targets)
    for item in items:
        if is_signed(item):
            raise _fail("already-signed")
        if busy(router, item):
            raise _fail("busy")
    start = 0.0
    for item in items:
        request = _request(item, _crl_url(ca) if ca else "")
        try:
            key = pki.generate_key(request.key_size)
            if ca is None:
                cert_pem = pki.build_certificate(request, key, ctx.now)
            else:
                ca_key = pki.load_key(ca.private["key"])
                cert_pem = pki.build_certificate(request, key, ctx.now, ca.private["certificate"], ca_key)
        except pki.PkiError as exc:
            raise CommandError(f"failure: {exc}") from exc
        extra = {"trusted": "yes"}
        if ca is not None:
            extra["ca"] = ca.get("name")
        elif args.get("ca-crl-host"):
            extra["ca-crl-host"] = args["ca-crl-host"]
        if args.get("name"):
            extra["name"] = args["name"]
        finish = _finisher(router, item, cert_pem, pki.key_to_pem(key), extra)
        start = _schedule(ctx, item, request.key_size, finish, start)
    return _monitor_end(ctx, args, start)


def _schedule(ctx: Context, item: Item, key_size: str, finish: Callable[[], None], after: float) -> float:
    """Run `finish` once the router would have made a `key_size` key: the table's time (scaled) from now,
    after the lab's own crypto (so that does not hide the router's time), and not before `after` (the
    previous key of the same command) nor before the keys the router is already making: one key at a time
    per router (assumed, unverified: a conservative model; parallel key generation on a multi-core router
    would only make things faster). At once for a direct handler call or a zero time scale. Returns when
    this key is done (monotonic)."""
    took = keygen.seconds(ctx.router.spec.model, key_size) * ctx.router.clock.time_scale
    if not ctx.timed or took <= 0:
        finish()
        return after
    busy_until = max((work.deadline for work in ctx.router.work), default=0.0)
    deadline = max(after, busy_until, time.monotonic()) + took
    ctx.router.work.append(Work(deadline=deadline, finish=finish, subject=item))
    return deadline


def _monitor_end(ctx: Context, args: dict[str, str], until: float) -> str:
    """A monitor-style command's answer: with `once`/`do` at once and nothing printed (assumed), else the
    console is held until `until` and shows `  progress: done` (verified, see `sign`)."""
    if "once" in args or "do" in args:
        return ""
    ctx.wait_until = max(ctx.wait_until, until)
    return "  progress: done"


def _finisher(
    router: Router, item: Item, cert_pem: str, key_pem: str, extra: dict[str, str]
) -> Callable[[], None]:
    """Store the signed certificate on `item` when the key is made, if the template is still there (a
    removal, or a safe-mode undo that replaced the configuration, dropped it)."""

    def finish() -> None:
        if is_signed(item) or not any(other is item for other in certificates(router)):
            return
        _store(item, cert_pem, key_pem, **extra)
        router.log("certificate,info", f"certificate {item.get('name')} signed")

    return finish


REQUEST_FILE = "certificate-request.pem"
REQUEST_KEY_FILE = "certificate-request_key.pem"


@handler(PATH, "create-certificate-request")
def create_certificate_request(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Make the template's key and a PKCS#10 request: the files `certificate-request.pem` and
    `certificate-request_key.pem` (the key, encrypted with `key-passphrase` when given), then the template
    goes. Verified: the file names (blog "Create a Self-Signed Certificate on MikroTik", cyberjunky.nl,
    2019); the args template/key-passphrase/challenge-passphrase (MikroTik CLI reference, RAML 7.13.5); "the
    certificate template is deleted right after ... a certificate request command is executed" (MikroTik,
    Certificates); that it is monitor-style (RAML: interval/duration/once/do) and that the files appear
    later (a provisioning script polls for the file). Assumed, unverified: it ends with `progress: done`
    like `sign`; the files appear only once the key is made; an empty key-passphrase writes the key in clear;
    the error texts (ERRORS)."""
    router = ctx.router
    name = args.get("template", "")
    if not name:
        raise _fail("missing-template")
    item = find_cert(router, name)
    if item is None or is_signed(item):
        raise _fail("no-such-template")
    if busy(router, item):
        raise _fail("busy")
    passphrase = args.get("key-passphrase", "")
    if passphrase and len(passphrase) < pki.MIN_PASSPHRASE:
        raise _fail("short-passphrase")
    request = _request(item, "")
    try:
        key = pki.generate_key(request.key_size)
        csr_pem = pki.build_csr(request, key)
    except pki.PkiError as exc:
        raise CommandError(f"failure: {exc}") from exc
    key_pem = pki.key_to_pem(key, passphrase)

    def finish() -> None:
        items = certificates(router)
        if not any(other is item for other in items):
            return  # the template was removed meanwhile
        router.files.write(REQUEST_FILE, csr_pem.encode())
        router.files.write(REQUEST_KEY_FILE, key_pem.encode())
        items[:] = [other for other in items if other is not item]
        router.log("certificate,info", f"certificate request for {name} created")

    until = _schedule(ctx, item, request.key_size, finish, 0.0)
    return _monitor_end(ctx, args, until)


@handler(PATH, "sign-certificate-request")
def sign_certificate_request(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Sign the PKCS#10 request in file `file-name` with CA `ca`: the certificate joins `/certificate`
    without a private key (its key stays where the request was made), issued by the CA.

    Verified: the command and its arguments ca, file-name, days-valid, digest-algorithm (RAML inspect
    7.9 to 7.24, MikroTik CLI reference); that it is no monitor-style command (no once/do/interval in its
    argument list), so the console is held while the CA signs (`keygen.request_seconds`, scaled); absent
    before 7.9 (ikefleet/routeros/versions.py: no source has it; the real text of an unknown command also
    names its column, not reproduced here). Assumed, unverified (no capture or page shows them): it prints
    nothing; the new certificate is named `<file-name>_0` as `import` names one; it takes subject, key
    usage and subject-alt-name from the request; days-valid defaults to 365 and digest to sha256; the error
    texts (ERRORS)."""
    router = ctx.router
    if not versions.has(router.spec.version, "sign-certificate-request"):
        raise CommandError("bad command name sign-certificate-request")
    if not args.get("ca"):
        raise _fail("missing-ca")
    file_name = args.get("file-name", "")
    if not file_name:
        raise _fail("missing-file-name")
    ca = _signing_ca(router, args["ca"])
    if not router.files.exists(file_name):
        raise _fail("no-file")
    try:
        days = int(args.get("days-valid") or TEMPLATE_DEFAULTS["days-valid"])
        cert_pem = pki.sign_csr(
            router.files.read(file_name).decode("latin-1"), days_valid=days,
            digest=args.get("digest-algorithm") or TEMPLATE_DEFAULTS["digest-algorithm"], now=ctx.now,
            issuer_pem=ca.private["certificate"], issuer_key=pki.load_key(ca.private["key"]),
            crl_url=_crl_url(ca))
    except ValueError as exc:  # PkiError included
        raise _fail("bad-request", reason=str(exc)) from exc
    item = router.config.add(PATH, {"name": _unique_name(router, f"{file_name}_0")})
    _store(item, cert_pem, None, trusted="yes", ca=str(ca.get("name")))
    router.log("certificate,info", f"certificate request {file_name} signed by {ca.get('name')}")
    took = keygen.request_seconds(router.spec.model) * router.clock.time_scale
    if ctx.timed and took > 0:
        ctx.wait_until = max(ctx.wait_until, time.monotonic() + took)
    return ""


@handler(PATH, "export-certificate")
def export_certificate(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Write `<file-name>.crt` (+ `.key` when a passphrase is given) or `<file-name>.p12`."""
    kind = args.get("type", "pem")
    if kind not in ("pem", "pkcs12"):
        raise _fail("bad-value", arg="type")
    passphrase = args.get("export-passphrase", "")
    if passphrase and len(passphrase) < pki.MIN_PASSPHRASE:
        raise _fail("short-passphrase")
    if kind == "pkcs12" and not passphrase:
        raise _fail("pkcs12-passphrase")
    for item in _targets(targets):
        if not is_signed(item):
            raise _fail("not-signed")
        base = args.get("file-name") or f"cert_export_{item.get('name')}"
        cert_pem, key_pem = item.private["certificate"], item.private.get("key")
        if kind == "pem":
            ctx.router.files.write(f"{base}.crt", cert_pem.encode())
            if passphrase and key_pem:
                encrypted = pki.key_to_pem(pki.load_key(key_pem), passphrase)
                ctx.router.files.write(f"{base}.key", encrypted.encode())
        else:
            chain = _chain(ctx.router, item)
            data = pki.export_pkcs12(item.get("name"), cert_pem, key_pem, chain, passphrase)
            ctx.router.files.write(f"{base}.p12", data)
    return ""


@handler(PATH, "import")
def import_(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Read certificates and keys from a file; a key joins the certificate with its public key (K flag)."""
    router = ctx.router
    file_name = args.get("file-name", "")
    if not file_name:
        raise _fail("missing-file-name")
    if not router.files.exists(file_name):
        raise _fail("no-file")
    counters = dict.fromkeys(IMPORT_COUNTERS, 0)
    try:
        found = pki.read_file(router.files.read(file_name), args.get("passphrase", ""))
    except ValueError:
        found = pki.FileContents()
    counters["decryption-failures"] = found.decryption_failures
    base = args.get("name") or ""
    known = {item.get("fingerprint") for item in certificates(router) if is_signed(item)}
    for index, pem in enumerate(found.certificates):
        if pki.fingerprint(pem) in known:
            continue
        if base:
            wanted = base if counters["certificates-imported"] == 0 else f"{base}_{index}"
        else:
            wanted = f"{file_name}_{index}"
        item = router.config.add(PATH, {"name": _unique_name(router, wanted)})
        _store(item, pem, None, trusted="yes")
        known.add(item.get("fingerprint"))
        counters["certificates-imported"] += 1
    for key_pem in found.keys:
        public = pki.public_key_bytes(pki.load_key(key_pem))
        owners = [
            item
            for item in certificates(router)
            if is_signed(item) and pki.public_key_bytes(item.private["certificate"]) == public
        ]
        if not owners:
            counters["keys-with-no-certificate"] += 1
            continue
        for owner in owners:
            if "key" not in owner.private:
                _update(owner, {"private-key": "yes"}, {"key": key_pem})
        counters["private-keys-imported"] += 1
    if found.certificates or found.keys:
        counters["files-imported"] = 1
    width = max(len(name) for name in IMPORT_COUNTERS) + 2
    return "\n".join(f"{name:>{width}}: {count}" for name, count in counters.items())


@handler(PATH, "remove")
def remove(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Remove certificates; removing a CA also removes every certificate it signed, recursively."""
    router = ctx.router
    doomed: dict[int, Item] = {}
    pending = list(targets)  # `remove [find ...]` that matches nothing does nothing, as in every menu
    while pending:
        item = pending.pop()
        if item.id in doomed:
            continue
        doomed[item.id] = item
        if is_signed(item) and pki.is_ca(pki.load_certificate(item.private["certificate"])):
            pending += [
                other
                for other in certificates(router)
                if other.id not in doomed and is_signed(other) and _issuer_of(router, other) is item
            ]
    removed_skids = {item.get("skid") for item in doomed.values() if item.get("skid")}
    items = certificates(router)
    items[:] = [item for item in items if item.id not in doomed]
    crls = router.config.items(CRL_PATH)
    crls[:] = [crl for crl in crls if crl.private.get("ca-skid") not in removed_skids]
    return ""


@handler(PATH, "issued-revoke")
def issued_revoke(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Revoke certificates issued by a local CA: R flag, serial added to that CA's CRL."""
    router = ctx.router
    for item in _targets(targets):
        ca = _issuer_of(router, item) if is_signed(item) and item.get("ca") else None
        if ca is None or "key" not in ca.private:
            raise _fail("not-issued")
        _update(item, {"trusted": "no"}, {"revoked": ctx.now.astimezone(UTC).isoformat()})
        _update_crl(router, ca, ctx.now)
    return ""


def _update_crl(router: Router, ca: Item, now: datetime) -> None:
    """(Re)issue the CA's CRL from the revoked certificates it signed; keep it in `/certificate crl`."""
    revoked = []
    for item in certificates(router):
        if "revoked" in item.private and _issuer_of(router, item) is ca:
            serial = pki.load_certificate(item.private["certificate"]).serial_number
            revoked.append((serial, datetime.fromisoformat(item.private["revoked"])))
    crl_pem = pki.build_crl(ca.private["certificate"], pki.load_key(ca.private["key"]), revoked, now)
    crl_values = {
        "issuer": pki.format_name(pki.load_certificate(ca.private["certificate"]).subject),
        "url": _crl_url(ca),
        "fingerprint": pki.crl_fingerprint(crl_pem),
        "this-update": pki.format_time(now),
        "next-update": pki.format_time(now.astimezone(UTC) + timedelta(hours=24)),
        "revoked": ",".join(f"{serial:X}" for serial, _ in revoked),
    }
    crls = router.config.items(CRL_PATH)
    entry = next((c for c in crls if c.private.get("ca-skid") == ca.get("skid")), None)
    if entry is None:
        entry = router.config.add(CRL_PATH, {})
    entry.values = crl_values
    entry.private = {"crl": crl_pem, "ca-skid": ca.get("skid")}
    _update(ca, private={"crl": "yes"})


def _unsupported(command: str) -> None:
    def refuse(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
        raise _fail("unsupported", command=command)

    handler(PATH, command)(refuse)


for _command in UNSUPPORTED:
    _unsupported(_command)
