"""A branch's reads go on one console line after its login (whose round trip carries the run's RouterOS
version read: connection/driver.py), and fall back to each read on its own when RouterOS refuses the line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ikefleet.connection.session import DeviceError
from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.parsers.errors import detect_error
from ikefleet.tasks import pki, version
from ikefleet.tasks.device import CONNECTION


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


def logged_in(console: Console, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A task whose host's login read the version (as the login leaves it), over `console`."""
    monkeypatch.setattr(pki, "device", lambda task: console)
    monkeypatch.setattr(version, "device", lambda task: console)
    login_read = console.session.execute("/system resource print", console.refuse)
    session = SimpleNamespace(connection=SimpleNamespace(login_reply=login_read), detected=None)
    return SimpleNamespace(host=SimpleNamespace(name="br1", data={"ros_version": "6.49.2"},
                                                connections={CONNECTION: session}))


def read(monkeypatch: pytest.MonkeyPatch, console: Console) -> tuple[Any, Any]:
    task = logged_in(console, monkeypatch)
    return pki.installed_fingerprint(task, "br1-client"), version.cached(task)  # type: ignore[arg-type]


def test_certificates_come_in_one_round_trip_after_the_login(monkeypatch: pytest.MonkeyPatch,
                                                             branch: Session) -> None:
    console = Console(branch)
    fingerprint, found = read(monkeypatch, console)
    assert len(console.sent) == 1 and "/system resource" not in console.sent[0]
    assert found is not None and found.read and found.version == branch.router.spec.version
    expected = pki.read_certificates(Console(branch))["br1-client"]  # type: ignore[arg-type]
    assert fingerprint == (expected.get("fingerprint") if expected.get("private_key") else None)


def test_a_refused_line_falls_back_to_each_read_on_its_own(monkeypatch: pytest.MonkeyPatch,
                                                            branch: Session) -> None:
    console = Console(branch, refuse=("^:put", "bad command name put (line 1 column 2)"))
    fingerprint, found = read(monkeypatch, console)
    assert console.sent[0].startswith(":put") and console.sent[1:] == [pki.CERTIFICATE_READ]
    assert found is not None and found.read
    assert fingerprint == read(monkeypatch, Console(branch))[0]


def test_a_login_whose_version_read_was_refused_uses_the_inventorys_and_says_so(
        monkeypatch: pytest.MonkeyPatch, branch: Session) -> None:
    console = Console(branch, refuse=("^/system resource", "bad command name resource (line 1 column 9)"))
    task = logged_in(console, monkeypatch)
    found = version.detected(task)  # type: ignore[arg-type]
    assert not found.read and found.version == "6.49.2"
    assert "could not read the RouterOS version" in found.warning
    assert console.sent == []  # the login's answer stands: not asked again


def test_a_version_already_read_is_not_read_again(monkeypatch: pytest.MonkeyPatch, branch: Session) -> None:
    console = Console(branch)
    monkeypatch.setattr(version, "device", lambda task: console)
    session = SimpleNamespace(connection=SimpleNamespace(), detected=None)  # its login read nothing
    task = SimpleNamespace(host=SimpleNamespace(name="br1", data={}, connections={CONNECTION: session}))
    version.remember(task, branch.execute("/system resource print"))  # type: ignore[arg-type]
    assert session.detected is not None and task.host.data == {}  # kept with the session, not the host
    pki.installed_fingerprint(task, "br1-client")  # type: ignore[arg-type]
    assert len(console.sent) == 1 and pki.CERTIFICATE_READ in console.sent[0]
    assert "/system resource" not in console.sent[0]


def test_a_reply_missing_a_read_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                       branch: Session) -> None:
    """A reply cut short (a section's marker never came) is not taken for an empty answer."""

    class CutShort(Console):
        def send(self, line: str) -> str:
            return super().send(line).split("<<ikefleet:config>>")[0]

    task = logged_in(CutShort(branch), monkeypatch)
    with pytest.raises(DeviceError) as caught:
        version.read_with_version(task, {"certificate": pki.CERTIFICATE_READ,  # type: ignore[arg-type]
                                         "config": "/export terse hide-sensitive"})
    assert "/export terse hide-sensitive" in str(caught.value) and "no output" in str(caught.value)
