"""bench/ssh_kex.py: a server offering a profile's lists on loopback, paramiko and asyncssh logging in. What
the figures rest on: the lists really are what the server offers (a client that cannot use them fails),
and paramiko's key exchange against the RouterOS lists is the 2048-bit group exchange."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ssh_kex", ROOT / "bench" / "ssh_kex.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ssh_kex"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_paramiko_cannot_log_in_where_only_sha1_host_key_signatures_are_offered() -> None:
    ssh_kex = bench()
    result = ssh_kex.measure(ssh_kex.PROFILES["ros6-2017"], 1, ssh_kex.paramiko_login)
    assert "no acceptable host key" in result["error"]


def test_paramiko_cannot_log_in_where_only_group14_sha1_is_offered() -> None:
    ssh_kex = bench()
    result = ssh_kex.measure(ssh_kex.PROFILES["group14-sha1-only"], 1, ssh_kex.paramiko_login)
    assert "no acceptable kex algorithm" in result["error"]


def test_paramiko_negotiates_the_group_exchange_and_sha1_mac_of_the_routeros_lists() -> None:
    ssh_kex = bench()
    result = ssh_kex.measure(ssh_kex.PROFILES["ros6-rsa-sha2"], 1, ssh_kex.paramiko_login,
                             ssh_kex.paramiko_first_login)
    assert result["negotiated"] == "diffie-hellman-group-exchange-sha256 rsa-sha2-512 aes128-ctr hmac-sha1"
    assert result["client_cpu_ms"] > 0 and result["server_cpu_ms"] > 0


def test_ikefleet_s_transport_negotiates_the_same_algorithms_of_the_routeros_lists() -> None:
    ssh_kex = bench()
    result = ssh_kex.measure(ssh_kex.PROFILES["ros6-rsa-sha2"], 1, ssh_kex.ikefleet_login,
                             ssh_kex.ikefleet_first_login)
    assert result["negotiated"] == "diffie-hellman-group-exchange-sha256 rsa-sha2-512 aes128-ctr hmac-sha1"


def test_asyncssh_logs_in_with_the_lists_offered() -> None:
    ssh_kex = bench()
    result = ssh_kex.measure(ssh_kex.PROFILES["ros-strong-crypto"], 1, ssh_kex.asyncssh_login)
    assert result["negotiated"] == "aes256-ctr hmac-sha2-256"
