"""A branch's certificate read carries the run's RouterOS version read on the same console line (one round
trip where a re-run spent two), and falls back to the two reads on their own when RouterOS refuses one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ikefleet.device import DeviceError
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.parsers.errors import detect_error
from ikefleet.tasks import pki, version


class Console:
    """A Device over a lab console: keeps the lines sent, raises on RouterOS errors like Device.send."""

    def __init__(self, session: Session, refuse: tuple[str, str] | None = None) -> None:
        self.session, self.refuse, self.sent = session, refuse, []  # type: ignore[var-annotated]

    def send(self, line: str) -> str:
        self.sent.append(line)
        out = self.session.execute(line, self.refuse)
        if detect_error(out) is not None:
            raise DeviceError("br1", line, out)
        return out


@pytest.fixture
def branch(tmp_path: Path) -> Session:
    spec = RouterSpec("br1", "initiator", "127.0.0.1", 1, "admin", "pw", "198.51.100.2/24", "192.168.2.0/24")
    session = Session(Router(spec, tmp_path / "br1", config=initial_config(spec)), "admin", width=250)
    assert session.execute("/certificate add name=br1-client common-name=br1-client") == ""
    return session


def read(monkeypatch: pytest.MonkeyPatch, console: Console) -> tuple[Any, Any]:
    monkeypatch.setattr(pki, "device", lambda task: console)
    monkeypatch.setattr(version, "device", lambda task: console)
    task = SimpleNamespace(host=SimpleNamespace(name="br1", data={"ros_version": "6.49.2"}))
    return pki.installed_fingerprint(task, "br1-client"), version.cached(task)  # type: ignore[arg-type]


def test_certificates_and_the_version_come_in_one_round_trip(monkeypatch: pytest.MonkeyPatch,
                                                              branch: Session) -> None:
    console = Console(branch)
    fingerprint, found = read(monkeypatch, console)
    assert len(console.sent) == 1
    assert found is not None and found.read and found.version == branch.router.spec.version
    expected = pki.read_certificates(Console(branch))["br1-client"]  # type: ignore[arg-type]
    assert fingerprint == (expected.get("fingerprint") if expected.get("private_key") else None)


def test_a_refused_version_read_falls_back_to_each_read_on_its_own(monkeypatch: pytest.MonkeyPatch,
                                                                    branch: Session) -> None:
    console = Console(branch, refuse=("^/system resource", "bad command name resource (line 1 column 9)"))
    fingerprint, found = read(monkeypatch, console)
    assert [line.startswith(":put") for line in console.sent] == [True, False, False]
    assert console.sent[2] == pki.CERTIFICATE_READ
    assert found is not None and not found.read and found.version == "6.49.2"  # the inventory's, said so
    assert fingerprint == read(monkeypatch, Console(branch))[0]


def test_a_version_already_read_is_not_read_again(monkeypatch: pytest.MonkeyPatch, branch: Session) -> None:
    console = Console(branch)
    monkeypatch.setattr(version, "device", lambda task: console)
    task = SimpleNamespace(host=SimpleNamespace(name="br1", data={}))
    version.remember(task, branch.execute("/system resource print"))  # type: ignore[arg-type]
    pki.installed_fingerprint(task, "br1-client")  # type: ignore[arg-type]
    assert len(console.sent) == 1 and pki.CERTIFICATE_READ in console.sent[0]
    assert "/system resource" not in console.sent[0]


def test_a_reply_missing_a_read_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                       branch: Session) -> None:
    """A reply cut short (a section's marker never came) is not taken for an empty answer."""

    class CutShort(Console):
        def send(self, line: str) -> str:
            return super().send(line).split("<<ikefleet:config>>")[0]

    console = CutShort(branch)
    monkeypatch.setattr(version, "device", lambda task: console)
    task = SimpleNamespace(host=SimpleNamespace(name="br1", data={}))
    with pytest.raises(DeviceError) as caught:
        version.read_with_version(task, {"certificate": pki.CERTIFICATE_READ,  # type: ignore[arg-type]
                                         "config": "/export terse hide-sensitive"})
    assert "/export terse hide-sensitive" in str(caught.value) and "no output" in str(caught.value)
    assert version.cached(task) is not None  # type: ignore[arg-type]  # the version that did come is kept
