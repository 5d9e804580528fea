"""Host-key pinning against the lab's real SSH servers: trust on first use, refuse a changed key, accept an
intentional change, and netmiko itself enforcing the pins."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from ikefleet.connection.hostkeys import (
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
    stored = paramiko.RSAKey.from_private_key_file(str(lab.directory / "ssh_host_rsa_key"))
    offered = offered_key(spec.host, spec.port)
    assert offered == stored
    assert (offered.get_name(), offered.get_bits()) == ("ssh-rsa", 2048)  # RouterOS's (docs/routeros-ssh.md)


def test_rollout_pins_then_refuses_a_changed_key_then_accepts_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests_support import fast_keys

    from ikefleet.runbooks.rollout import Rollout, RolloutOptions

    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        config = lab.directory / "config.yaml"
        known = known_hosts_path(config)
        lab.settle()
        first = Rollout(RolloutOptions(config=config, gate_timeout_s=30.0, limit=("hub", "br1"))).run()
        assert not first.failed
        pinned = known.read_text()
        assert all(entry_name(lab.spec(n).host, lab.spec(n).port) in pinned for n in ("hub", "br1"))
        spec = lab.spec("br2")  # br2 "was replaced by an impostor": its pin differs from what it offers
        check_key("br2", spec.host, spec.port, other_key(), known)
        lab.settle()
        refused = Rollout(RolloutOptions(config=config, gate_timeout_s=30.0)).run()
        assert refused.failed == ["br2"]
        assert "host key changed" in refused.hosts["br2"].error
        assert "--accept-new-hostkeys" in refused.hosts["br2"].error
        assert lab.routers["br2"].config.items("/ip ipsec peer") == []  # never logged in, nothing pushed
        lab.settle()
        accepted = Rollout(RolloutOptions(config=config, gate_timeout_s=30.0, accept_new_hostkeys=True)).run()
        assert not accepted.failed, {h: o.error for h, o in accepted.hosts.items() if o.error}
        assert check("br2", spec.host, spec.port, known).action == "known"


def test_cli_says_first_contact_and_takes_the_accept_flag(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from ikefleet.cli import main

    data = tmp_path / "data"
    shutil.copytree(lab.directory, data, ignore=shutil.ignore_patterns(".ikefleet", "*.sock"))
    main(["verify", "-c", str(data / "config.yaml"), "--no-history", "--format", "json"])
    err = capsys.readouterr().err
    assert "first contact" in err and "pinned" in err
    main(["verify", "-c", str(data / "config.yaml"), "--no-history", "--format", "json"])
    assert "first contact" not in capsys.readouterr().err
    spec = lab.spec("br1")  # br1's pin no longer matches what it offers: refused, then accepted by the flag
    check_key("br1", spec.host, spec.port, other_key(), known_hosts_path(data / "config.yaml"), True)
    verify = ["verify", "-c", str(data / "config.yaml"), "--no-history", "--format", "json"]
    main(verify)
    assert "host key changed" in capsys.readouterr().out
    main([*verify, "--accept-new-hostkeys"])
    captured = capsys.readouterr()
    assert "br1: host key changed to" in captured.err and "accepted (--accept-new-hostkeys)" in captured.err
    assert "host key changed (" not in captured.out
    assert "IKEFLEET_ACCEPT_NEW_HOSTKEYS" not in os.environ  # the flag travels as a parameter


@pytest.mark.skipif(__import__("shutil").which("ssh") is None, reason="needs the OpenSSH client (ssh)")
def test_pins_stay_on_when_an_ssh_config_is_used(lab: Lab, tmp_path: Path) -> None:
    """An ssh_config no longer switches pinning off: routers it routes are checked through their hops."""
    import shutil

    from ruamel.yaml import YAML

    from ikefleet.connection import jump, settings
    from ikefleet.nornir_init import init_nornir

    data = tmp_path / "data"
    shutil.copytree(lab.directory, data, ignore=shutil.ignore_patterns(".ikefleet", "*.sock"))
    (data / "ssh_config").write_text("Host 192.0.2.*\n    ProxyJump jump1\n")  # matches no lab router
    yaml = YAML()
    config = yaml.load((data / "config.yaml").read_text())
    config["ikefleet"]["ssh_config"] = "ssh_config"
    with (data / "config.yaml").open("w") as out:
        yaml.dump(config, out)
    nornir = init_nornir(data / "config.yaml")
    hub = nornir.inventory.hosts["hub"]
    assert settings.of(hub)[settings.KNOWN_HOSTS] == str(known_hosts_path(data / "config.yaml"))
    assert jump.route_of(hub) is None  # reached directly: the plain pre-check applies
    assert nornir.config.ssh.config_file == str(data / ".ikefleet" / jump.NETMIKO)


def test_many_pins_read_back_and_each_host_file_holds_only_its_own(tmp_path: Path) -> None:
    """A large pin file is read linearly (own parser, cached by mtime) and answers like OpenSSH's format:
    every pin found again, a changed one refused, and each host's session is given its one pin."""
    known = tmp_path / "known_hosts"
    keys = {f"192.0.2.{i}": other_key() for i in range(1, 21)}
    for host, key in keys.items():
        assert check_key(host, host, 2200, key, known).action == "pinned"
    parsed = paramiko.HostKeys(str(known))  # the file stays OpenSSH's format
    assert len(parsed.keys()) == 20
    for host, key in keys.items():
        pin = check_key(host, host, 2200, key, known)
        assert pin.action == "known"
        assert (pin.entry, pin.keys) == (entry_name(host, 2200), (key,))
    with pytest.raises(HostKeyChanged):
        check_key("192.0.2.7", "192.0.2.7", 2200, keys["192.0.2.8"], known)
    replaced = check_key("192.0.2.7", "192.0.2.7", 2200, keys["192.0.2.8"], known, accept_new=True)
    assert replaced.action == "replaced"
    assert paramiko.HostKeys(str(known)).lookup("[192.0.2.7]:2200")["ssh-rsa"] == keys["192.0.2.8"]
    assert len(paramiko.HostKeys(str(known)).keys()) == 20


def test_a_pinned_routers_session_opens_without_hashing_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pinned router's Pin (what its session enforces) is made without its fingerprint, a SHA-256 of the
    key that no message of a known key's opening shows; asked for, it is OpenSSH's of the key compared."""
    from ikefleet.connection import hostkeys

    known, key = tmp_path / "known_hosts", other_key()
    assert check_key("br1", "192.0.2.1", 22, key, known).fingerprint == fingerprint(key)
    hashed: list[paramiko.PKey] = []
    real = hostkeys.fingerprint
    monkeypatch.setattr(hostkeys, "fingerprint", lambda k: hashed.append(k) or real(k))
    pin = hostkeys.known_pin("br1", "192.0.2.1", 22, known)
    assert pin is not None and pin.action == "known" and pin.keys == (key,) and hashed == []
    assert pin.fingerprint == real(key)
    assert pin.message() == f"br1: host key {real(key)} matches the pinned key"


def test_a_pinned_router_is_not_fetched_again(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First contact fetches each router's key and pins it; later runs do not fetch it again (its session
    refuses a different key itself), so a run makes one key exchange per router, not two."""
    import shutil

    from ikefleet.connection import hostkeys
    from ikefleet.runbooks.verify import Verify, VerifyOptions

    fleet = tmp_path / "fleet"
    shutil.copytree(lab.directory / "inventory", fleet / "inventory")
    for name in ("config.yaml", "secrets.yaml"):
        shutil.copy(lab.directory / name, fleet / name)
    fetched: list[str] = []
    real = hostkeys.offered_key

    def counting(host: str, port: int, *args: object, **kwargs: object) -> paramiko.PKey:
        fetched.append(f"{host}:{port}")
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hostkeys, "offered_key", counting)
    options = VerifyOptions(fleet / "config.yaml", record=False)
    first = Verify(options).gather()
    assert len(fetched) == 2 and all(s.reachable for s in first.values())
    again = Verify(options).gather()
    assert len(fetched) == 2 and all(s.reachable for s in again.values())
    assert not (known_hosts_path(fleet / "config.yaml").parent / "pins").exists()  # no file per host
