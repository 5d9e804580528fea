"""Host-key pinning against the lab's real SSH servers: trust on first use, refuse a changed key, accept an
intentional change, and netmiko itself enforcing the pins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from ikefleet.hostkeys import (
    HostKeyChanged,
    check,
    check_key,
    entry_name,
    fingerprint,
    known_hosts_path,
    netmiko_options,
    offered_key,
)
from ikefleet.lab.manager import Lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("hostkeys"), branches=1) as lab:
        yield lab


def other_key() -> paramiko.PKey:
    return paramiko.RSAKey.generate(1024)


def test_pin_file_lives_in_the_data_directory(tmp_path: Path) -> None:
    assert known_hosts_path(tmp_path / "config.yaml") == tmp_path / ".ikefleet" / "known_hosts"


def test_first_contact_pins_then_matches(lab: Lab, tmp_path: Path) -> None:
    spec = lab.spec("hub")
    known = tmp_path / "known_hosts"
    first = check("hub", spec.host, spec.port, known)
    assert first.action == "pinned" and "first contact" in first.message()
    assert entry_name(spec.host, spec.port) in known.read_text()
    again = check("hub", spec.host, spec.port, known)
    assert again.action == "known" and again.fingerprint == first.fingerprint


def test_changed_key_is_refused_with_the_fix(lab: Lab, tmp_path: Path) -> None:
    spec = lab.spec("br1")
    known = tmp_path / "known_hosts"
    check("br1", spec.host, spec.port, known)
    before = known.read_text()
    impostor = other_key()
    with pytest.raises(HostKeyChanged) as info:
        check_key("br1", spec.host, spec.port, impostor, known)
    assert "--accept-new-hostkeys" in str(info.value) and fingerprint(impostor) in str(info.value)
    assert known.read_text() == before  # a refused key is never written


def test_accept_new_replaces_the_pin(lab: Lab, tmp_path: Path) -> None:
    spec = lab.spec("br1")
    known = tmp_path / "known_hosts"
    check_key("br1", spec.host, spec.port, other_key(), known)
    with pytest.raises(HostKeyChanged):
        check("br1", spec.host, spec.port, known)
    pin = check("br1", spec.host, spec.port, known, accept_new=True)
    assert pin.action == "replaced"
    assert check("br1", spec.host, spec.port, known).action == "known"
    assert known.read_text().count(entry_name(spec.host, spec.port)) == 1


def _connect(spec: object, known: Path) -> object:
    from netmiko import ConnectHandler

    return ConnectHandler(
        device_type="mikrotik_routeros",
        host=spec.host,  # type: ignore[attr-defined]
        port=spec.port,  # type: ignore[attr-defined]
        username=spec.username,  # type: ignore[attr-defined]
        password=spec.password,  # type: ignore[attr-defined]
        conn_timeout=10,
        **netmiko_options(known),
    )


def test_netmiko_enforces_the_pins(lab: Lab, tmp_path: Path) -> None:
    spec = lab.spec("hub")
    known = tmp_path / "known_hosts"
    check("hub", spec.host, spec.port, known)
    conn = _connect(spec, known)
    conn.disconnect()  # type: ignore[attr-defined]
    wrong = tmp_path / "wrong_known_hosts"
    check_key("hub", spec.host, spec.port, other_key(), wrong)
    with pytest.raises(Exception) as info:
        _connect(spec, wrong)
    assert lab.routers["hub"] is not None and "key" in str(info.value).lower()


def test_offered_key_is_the_labs_key(lab: Lab) -> None:
    spec = lab.spec("hub")
    stored = paramiko.Ed25519Key.from_private_key_file(str(lab.directory / "ssh_host_ed25519_key"))
    assert offered_key(spec.host, spec.port) == stored
