"""Key generation takes a real router's time in the lab (`keygen_timing.yaml`, times the lab's time
scale): the template stays a template meanwhile, a monitor-style sign holds only its own console,
`once` returns at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from netmiko import BaseConnection, ConnectHandler

from ikefleet.lab import certificates
from ikefleet.lab.engine import Session
from ikefleet.lab.manager import Lab
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.routeros import keygen

SIZES = ("1024", "1536", "2048", "4096", "8192")


def test_every_class_has_a_time_for_every_key_size_with_its_basis() -> None:
    data = keygen.table()
    for name, row in data["classes"].items():
        assert row["basis"] in data["basis"], name
        times = [row["seconds"][size] for size in SIZES]
        assert times == sorted(times) and times[0] > 0, name  # a longer key never takes less time
    assert set(data["models"].values()) <= set(data["classes"])
    assert keygen.seconds("RB750Gr3", 4096) == 130  # the seed's `:delay 130` anchor (hEX class)
    assert keygen.cpu_class("CCR1009-7G-1C-1S+") == "tile" and keygen.cpu_class("unknown") == "mmips"
    assert keygen.slowest(4096) == max(row["seconds"]["4096"] for row in data["classes"].values())


def router(tmp_path: Path, scale: float) -> Router:
    spec = RouterSpec(name="R1", role="responder", host="127.0.0.1", port=0, username="admin",
                      password="unused", wan_address="203.0.113.1/24", lan_prefix="192.168.1.0/24")
    r = Router(spec=spec, directory=tmp_path / "R1")
    r.clock.time_scale = scale
    return r


def eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    """True as soon as `check` is (the lab's scaled wait plus its own crypto on a loaded machine)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def signed(r: Router, name: str) -> bool:
    item = certificates.find_cert(r, name)
    return item is not None and certificates.is_signed(item)


ADD = "/certificate add name=ca common-name=ca key-size=2048 key-usage=key-cert-sign,crl-sign"


def test_once_returns_and_the_template_stays_a_template_until_the_key_is_made(tmp_path: Path) -> None:
    r = router(tmp_path, 0.1)  # CCR, 2048 bits: 10 s real, 1 s here
    session = Session(r, "admin")
    assert session.execute(ADD) == ""
    assert session.execute('/certificate sign [find where name="ca"] once do={}') == ""
    meanwhile = session.execute("/certificate print detail without-paging")
    assert "fingerprint" not in meanwhile and "key-size=2048" in meanwhile  # still the template, no flags
    again = session.execute('/certificate sign [find where name="ca"]')
    assert again == "failure: certificate is being signed"
    assert eventually(lambda: "fingerprint" in session.execute("/certificate print detail without-paging"))
    assert signed(r, "ca")


def test_a_template_removed_while_it_is_signed_stays_removed(tmp_path: Path) -> None:
    r = router(tmp_path, 0.02)
    session = Session(r, "admin")
    session.execute(ADD)
    session.execute('/certificate sign [find where name="ca"] once do={}')
    session.execute('/certificate remove [find where name="ca"]')
    time.sleep(0.3)
    assert session.execute("/certificate print count-only") == "0" and not r.work


def test_a_monitor_sign_ends_with_progress_done_once_signed(tmp_path: Path) -> None:
    r = router(tmp_path, 0.01)
    session = Session(r, "admin")  # in-process: the engine itself waits for the monitor's work
    session.execute(ADD)
    assert session.execute('/certificate sign [find where name="ca"]') == "  progress: done"
    assert signed(r, "ca")


@pytest.fixture
def slow_lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=1, time_scale=0.2, convergence_delay=0.05) as lab:
        yield lab  # CCR, 2048 bits: 10 s real, 2 s here


def connect(lab: Lab, name: str) -> BaseConnection:
    spec = lab.spec(name)
    return ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                          username=spec.username, password=spec.password, fast_cli=False)


def test_while_the_hub_makes_a_key_its_console_waits_and_the_other_routers_answer(slow_lab: Lab) -> None:
    hub_name, branch_name = slow_lab.plan.specs()[0].name, slow_lab.plan.specs()[1].name
    hub, branch = connect(slow_lab, hub_name), connect(slow_lab, branch_name)
    try:
        hub.send_command(ADD)
        answers: list[str] = []
        signing = threading.Thread(target=lambda: answers.append(hub.send_command(
            '/certificate sign [find where name="ca"]', read_timeout=30)))
        signing.start()
        time.sleep(0.3)
        identity = branch.send_command("/system identity print")
        assert signing.is_alive() and not answers  # the hub's console still holds the sign ...
        assert "name:" in identity  # ... and the branch answered meanwhile (the lab's loop was not blocked)
        assert not signed(slow_lab.routers[hub_name], "ca")
        signing.join(30)
        assert [answer.strip() for answer in answers] == ["progress: done"]
        assert signed(slow_lab.routers[hub_name], "ca")
    finally:
        hub.disconnect()
        branch.disconnect()


REQUEST_TEMPLATE = ("/certificate add name=br1 common-name=br1 key-size=2048 "
                    "key-usage=digital-signature,key-encipherment,key-agreement,ipsec-tunnel")


def test_a_certificate_request_appears_once_the_key_is_made_and_the_template_goes(tmp_path: Path) -> None:
    r = router(tmp_path, 0.1)
    session = Session(r, "admin")
    session.execute(REQUEST_TEMPLATE)
    line = "/certificate create-certificate-request template=br1 key-passphrase=branch-key-pass once do={}"
    assert session.execute(line) == ""
    assert not r.files.exists(certificates.REQUEST_FILE)  # still making the key
    assert certificates.find_cert(r, "br1") is not None
    assert eventually(lambda: session.execute("/certificate print count-only") == "0")  # the template went
    csr = x509.load_pem_x509_csr(r.files.read(certificates.REQUEST_FILE))
    key = serialization.load_pem_private_key(r.files.read(certificates.REQUEST_KEY_FILE), b"branch-key-pass")
    assert csr.is_signature_valid and csr.public_key() == key.public_key()
    assert csr.subject.rfc4514_string() == "CN=br1"


def test_a_certificate_request_monitor_ends_with_progress_done(tmp_path: Path) -> None:
    r = router(tmp_path, 0.01)
    session = Session(r, "admin")
    session.execute(REQUEST_TEMPLATE)
    answer = session.execute("/certificate create-certificate-request template=br1 key-passphrase=k3y-pass-1")
    assert answer == "  progress: done" and r.files.exists(certificates.REQUEST_FILE)
    assert session.execute("/certificate create-certificate-request template=br1") == (
        "input does not match any value of template")


def test_lab_up_takes_a_time_scale_and_refuses_a_negative_one(capsys: pytest.CaptureFixture[str]) -> None:
    from ikefleet.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["lab", "up", "--time-scale", "0.01"]).time_scale == 0.01
    assert parser.parse_args(["lab", "up"]).time_scale is None  # the lab's default: 1 (real timing)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["lab", "up", "--time-scale", "-1"])
    assert exit_info.value.code == 2 and "--time-scale" in capsys.readouterr().err


def test_a_lab_started_with_a_time_scale_keeps_it(tmp_path: Path) -> None:
    with Lab.start(tmp_path / "lab", branches=0, time_scale=0.5) as lab:
        assert lab.clock.time_scale == 0.5
        assert all(r.clock is lab.clock for r in lab.routers.values())
    with pytest.raises(ValueError, match="time scale"):
        Lab.start(tmp_path / "other", branches=0, time_scale=-1)


def test_a_router_makes_one_key_at_a_time(tmp_path: Path) -> None:
    r = router(tmp_path, 0.1)  # 1 s per 2048-bit key here
    session = Session(r, "admin")
    for name in ("a", "b"):
        session.execute(f"/certificate add name={name} common-name={name} key-size=2048")
        session.execute(f'/certificate sign [find where name="{name}"] once do={{}}')
    first, second = sorted(work.deadline for work in r.work)
    assert second - first >= 0.1 * keygen.seconds(r.spec.model, 2048)  # b waits for a's key
