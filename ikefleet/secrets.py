"""Credentials, kept out of the inventory: environment variables or a private YAML file.

Order of precedence (highest first): `IKEFLEET_PASSWORD_<HOST>`, the file's `hosts: <host>: password`,
`IKEFLEET_PASSWORD`, the file's `password`. Same for the username (`IKEFLEET_USERNAME[_<HOST>]`, default
"admin"). `IKEFLEET_BACKUP_PASSWORD` / `backup_password` encrypts `/system backup save`.
A `Secrets` object never shows a value in repr/str; `redact()` masks them in any text before it is logged.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ikefleet import redact

ENV_PREFIX = "IKEFLEET_"
DEFAULT_USERNAME = "admin"
FILE_KEYS = ("username", "password", "backup_password", "hosts")
HOST_KEYS = ("username", "password")
MASK = "********"


class SecretsError(Exception):
    """Credentials cannot be used (unsafe file permissions, bad file, no password): CLI exit code 2."""


def host_env_suffix(host: str) -> str:
    """`branch-1.lab` -> `BRANCH_1_LAB`, as used in IKEFLEET_PASSWORD_<HOST>."""
    return re.sub(r"[^A-Za-z0-9]", "_", host).upper()


@dataclass(frozen=True, repr=False)
class Secrets:
    """Resolved credentials. Values are reachable only through methods, never through repr/str."""

    _username: str | None = None
    _password: str | None = None
    _backup_password: str | None = None
    _hosts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    _env: Mapping[str, str] = field(default_factory=dict)
    source: str = "environment"

    def __repr__(self) -> str:
        hosts = sorted(set(self._hosts) | {k for k in self._env if k.startswith(f"{ENV_PREFIX}PASSWORD_")})
        return (f"Secrets(source={self.source!r}, password={'set' if self._password else 'unset'}, "
                f"host_overrides={len(hosts)}, backup_password={'set' if self.backup_password else 'unset'})")

    __str__ = __repr__

    def _lookup(self, host: str, key: str) -> str | None:
        env_host = self._env.get(f"{ENV_PREFIX}{key.upper()}_{host_env_suffix(host)}")
        if env_host:
            return env_host
        file_host = (self._hosts.get(host) or {}).get(key)
        if file_host:
            return str(file_host)
        env_all = self._env.get(f"{ENV_PREFIX}{key.upper()}")
        if env_all:
            return env_all
        return self._username if key == "username" else self._password

    def username(self, host: str) -> str:
        return self._lookup(host, "username") or DEFAULT_USERNAME

    def password(self, host: str) -> str:
        """The host's login password; SecretsError (naming the variables to set) when there is none."""
        value = self._lookup(host, "password")
        if not value:
            raise SecretsError(f"no password for host {host}: set {ENV_PREFIX}PASSWORD (or "
                               f"{ENV_PREFIX}PASSWORD_{host_env_suffix(host)}) or use a secrets file")
        return value

    def credentials(self, host: str) -> tuple[str, str]:
        return self.username(host), self.password(host)

    @property
    def backup_password(self) -> str | None:
        return self._env.get(f"{ENV_PREFIX}BACKUP_PASSWORD") or self._backup_password

    def values(self) -> set[str]:
        """Every secret value known, for redaction."""
        found = {self._password, self._backup_password}
        found |= {str(v.get("password")) for v in self._hosts.values() if v.get("password")}
        found |= {v for k, v in self._env.items() if k.startswith(f"{ENV_PREFIX}PASSWORD")
                  or k == f"{ENV_PREFIX}BACKUP_PASSWORD"}
        return {v for v in found if v}

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced by ********, longest first."""
        for value in sorted(self.values(), key=len, reverse=True):
            text = text.replace(value, MASK)
        return text


def check_permissions(path: Path) -> None:
    """Refuse a secrets file that group or others can read or write."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsError(f"secrets file {path} is accessible by group/others (mode {stat.filemode(mode)}); "
                           f"fix: chmod 600 {path}")


def read_secrets_file(path: Path) -> dict[str, Any]:
    try:
        check_permissions(path)
        # every scalar as the text written: YAML's safe types would read `password: 0123` as the integer 123
        data = YAML(typ="base").load(path.read_text())
    except OSError as exc:
        raise SecretsError(f"cannot read secrets file {path}: {exc.strerror}") from exc
    except SecretsError:
        raise
    except Exception as exc:  # YAML errors: do not echo the content, it holds secrets
        raise SecretsError(f"secrets file {path} is not valid YAML (line "
                           f"{getattr(getattr(exc, 'problem_mark', None), 'line', '?')})") from None
    data = data or {}
    if not isinstance(data, dict):
        raise SecretsError(f"secrets file {path}: expected a mapping with keys {', '.join(FILE_KEYS)}")
    unknown = [k for k in data if k not in FILE_KEYS]
    hosts = data.get("hosts") or {}
    if not isinstance(hosts, dict) or not all(isinstance(v, dict) for v in hosts.values()):
        raise SecretsError(f"secrets file {path}: hosts must map host names to {{username, password}}")
    unknown += [f"hosts.{h}.{k}" for h, v in hosts.items() for k in v if k not in HOST_KEYS]
    if unknown:
        raise SecretsError(f"secrets file {path}: unknown keys {', '.join(map(str, unknown))} "
                           f"(valid: {', '.join(FILE_KEYS)}; per host: {', '.join(HOST_KEYS)})")
    return data


def load_secrets(secrets_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> Secrets:
    """Credentials from the environment and, when given, a chmod-600 YAML file."""
    env = dict(os.environ if env is None else env)
    relevant = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    if secrets_file is None:
        secrets = Secrets(_env=relevant)
        redact.register(*secrets.values())
        return secrets
    path = Path(secrets_file)
    data = read_secrets_file(path)
    secrets = Secrets(
        _username=data.get("username"),
        _password=None if data.get("password") is None else str(data["password"]),
        _backup_password=None if data.get("backup_password") is None else str(data["backup_password"]),
        _hosts={str(h): {k: str(v) for k, v in d.items()} for h, d in (data.get("hosts") or {}).items()},
        _env=relevant,
        source=str(path),
    )
    redact.register(*secrets.values())
    return secrets


def load_secrets_or_report(secrets_file: str | Path | None = None, stream: Any = None) -> Secrets | None:
    """For CLI commands: the secrets, or None after printing why (with the fix); the caller exits 2."""
    try:
        return load_secrets(secrets_file)
    except SecretsError as exc:
        print(f"secrets: {exc}", file=stream or sys.stderr)
        return None
