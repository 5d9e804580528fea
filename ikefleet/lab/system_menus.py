"""Handlers for `/system` commands that do more than store values, and the `/file` and `/log` views.

`/system backup save` writes an opaque binary: with `password=` it is AES-GCM encrypted under a key derived
from the password (the password itself is never stored); without one, private keys are left out, as the
seed warns. `/file`, `/log` and `/user active` are read-only menus whose items are built from the router's
file store, log and open logins on each command.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ikefleet.routeros.config import Item

from .commands import Context, handler
from .errors import CommandError
from .router import Router

BACKUP_MAGIC_PLAIN = bytes.fromhex("88aca1b1")
BACKUP_MAGIC_ENCRYPTED = bytes.fromhex("efa89172")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
FILE_TYPES = {
    ".backup": "backup",
    ".rsc": "script",
    ".txt": ".txt file",
    ".crt": ".crt file",
    ".pem": ".pem file",
    ".key": ".key file",
    ".p12": ".p12 file",
    ".npk": "package",
}


def router_date(moment: datetime) -> str:
    """`nov/27/2026 00:12:13`, the v6 date-time format of /file and /log."""
    return f"{MONTHS[moment.month - 1]}/{moment.day:02d}/{moment.year} {moment:%H:%M:%S}"


def size_text(size: int) -> str:
    """File size as v6 prints it: bytes below 1 KiB, then KiB/MiB with one decimal."""
    if size < 1024:
        return str(size)
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}KiB"
    return f"{size / 1048576:.1f}MiB"


def _key(password: str, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=100_000)
    return kdf.derive(password.encode())


def backup_bytes(router: Router, password: str) -> bytes:
    """The backup file's contents: configuration (+ private keys only when encrypted)."""
    data = router.config.to_json()
    if not password:
        for items in data["menus"].values():
            for item in items:
                item.pop("private", None)
        return BACKUP_MAGIC_PLAIN + json.dumps(data).encode()
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(password, salt)).encrypt(nonce, json.dumps(data).encode(), BACKUP_MAGIC_ENCRYPTED)
    return BACKUP_MAGIC_ENCRYPTED + salt + nonce + sealed


def read_backup(blob: bytes, password: str) -> dict:
    """Decode a backup written by `backup_bytes` (wrong password -> CommandError)."""
    if blob.startswith(BACKUP_MAGIC_PLAIN):
        return json.loads(blob[4:])
    if not blob.startswith(BACKUP_MAGIC_ENCRYPTED):
        raise CommandError("failure: not a backup file")
    salt, nonce, sealed = blob[4:20], blob[20:32], blob[32:]
    try:
        return json.loads(AESGCM(_key(password, salt)).decrypt(nonce, sealed, BACKUP_MAGIC_ENCRYPTED))
    except Exception:
        raise CommandError("failure: wrong password") from None


@handler("/system backup", "save")
def backup_save(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    router = ctx.router
    identity = (router.config.menus.get("/system identity") or [Item(id=0)])[0].values.get("name", "MikroTik")
    name = args.get("name") or f"{identity}-{ctx.now:%Y%m%d-%H%M}"
    if not name.endswith(".backup"):
        name += ".backup"
    password = (
        "" if "dont-encrypt" in args and args.get("dont-encrypt") in ("", "yes") else args.get("password", "")
    )
    router.files.write(name, backup_bytes(router, password))
    router.log("system,info", "configuration backup saved")
    return "Configuration backup saved"


def _settings_print(values: dict[str, str]) -> str:
    from . import render

    return render.print_settings(None, values)


def resource_values(router: Router, now: datetime) -> dict[str, str]:
    """`/system resource` as the lab's CCR reports it (memory and disk are fixed, plausible numbers)."""
    uptime = int((now - router.booted_at).total_seconds()) + router.faults.clock_offset_s
    from .certificates import format_duration

    v7 = router.major_version >= 7

    return {
        "uptime": format_duration(max(uptime, 0)),
        # v6.49 is the long-term channel; v7 prints the build time in ISO form (v7 capture, 7.14.3).
        "version": f"{router.spec.version} ({'stable' if v7 else 'long-term'})",
        "build-time": "2024-10-29 11:33:47" if v7 else "Aug/31/2022 11:03:15",
        "factory-software": "6.44.6",
        "free-memory": "1758.9MiB",
        "total-memory": "2048.0MiB",
        "cpu": "tilegx",
        "cpu-count": "9",
        "cpu-frequency": "1200MHz",
        "cpu-load": "1%",
        "free-hdd-space": "95.4MiB",
        "total-hdd-space": "128.0MiB",
        "write-sect-since-reboot": "2031",
        "write-sect-total": "112437",
        "bad-blocks": "0%",
        "architecture-name": "tile",
        "board-name": router.spec.model,
        "platform": "MikroTik",
    }


def routerboard_values(router: Router, now: datetime) -> dict[str, str]:
    spec = router.spec
    serial = hashlib.sha256(spec.name.encode()).hexdigest()[:12].upper()
    return {
        "routerboard": "yes",
        "model": spec.model,
        "serial-number": serial,
        "firmware-type": "tilegx",
        "factory-firmware": "3.41",
        "current-firmware": spec.version,
        "upgrade-firmware": spec.version,
    }


def clock_values(router: Router, now: datetime) -> dict[str, str]:
    now = router.now().astimezone(UTC)
    stored = (router.config.menus.get("/system clock") or [Item(id=0)])[0].values
    return {
        "time": f"{now:%H:%M:%S}",
        "date": f"{MONTHS[now.month - 1]}/{now.day:02d}/{now.year}",
        "time-zone-autodetect": stored.get("time-zone-autodetect", "yes"),
        "time-zone-name": stored.get("time-zone-name", "manual"),
        "gmt-offset": "+00:00",
        "dst-active": "no",
    }


# Read-only menus whose values the lab computes: `print` shows them, `get` returns them.
STATE_VALUES: dict[str, Callable[[Router, datetime], dict[str, str]]] = {
    "/system resource": resource_values,
    "/system routerboard": routerboard_values,
    "/system clock": clock_values,
}


def _state_print(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    return _settings_print(STATE_VALUES[ctx.path](ctx.router, ctx.now))


for _path in STATE_VALUES:
    handler(_path, "print")(_state_print)


@handler("/system script", "run")
def script_run(ctx: Context, args: dict[str, str], targets: list[Item]) -> str:
    """Each script's lines in a fresh `admin` login of its own (opened through the console's `ctx.login`)."""
    if not targets:
        raise CommandError("no such item")
    if ctx.login is None:
        raise CommandError("failure: no console to run the script in")
    out = []
    for script in targets:
        session = ctx.login("admin")
        for line in script.values.get("source", "").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                text = session.execute(line)
                if text:
                    out.append(text)
    return "\n".join(out)


def file_items(router: Router) -> list[Item]:
    """`/file` rows built from the file store (ids follow the sorted names)."""
    items = []
    names = router.files.names()
    folders = sorted({"/".join(n.split("/")[:i]) for n in names for i in range(1, n.count("/") + 1)})
    for folder in folders:
        when = router_date(router.now())
        items.append(
            Item(id=len(items) + 1, values={"name": folder, "type": "directory", "creation-time": when})
        )
    for name in names:
        ext = os.path.splitext(name)[1].lower()
        size = len(router.files.read(name))
        items.append(
            Item(
                id=len(items) + 1,
                values={
                    "name": name,
                    "type": FILE_TYPES.get(ext, f"{ext} file" if ext else "file"),
                    "size": size_text(size),
                    "creation-time": router_date(router.files.mtime(name)),
                },
            )
        )
    return items


def log_items(router: Router) -> list[Item]:
    """`/log` rows from the router's log, oldest first."""
    today = router.now().date()
    items = []
    for n, (moment, topics, message) in enumerate(router.logs, start=1):
        stamp = f"{moment:%H:%M:%S}" if moment.date() == today else router_date(moment)
        items.append(Item(id=n, values={"time": stamp, "topics": topics, "message": message}))
    return items


def active_items(router: Router) -> list[Item]:
    """`/user active` rows from the logins now open (v6 dates `dec/06/2026 18:01:02`, v7 ISO)."""
    items = []
    for n, login in enumerate(router.active_logins):
        when = router_date(login.when) if router.major_version < 7 else f"{login.when:%Y-%m-%d %H:%M:%S}"
        values = {"when": when, "name": login.name, "address": login.address, "via": login.via,
                  "group": login.group}
        items.append(Item(id=n + 1, values=values))
    return items
