"""Output taller than netmiko's 4,098-line terminal (a big hub's export) through the lab's real pager:
`Device.send` answers it and returns every line, no pager text, no prompt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from ikefleet.connection.session import Device
from ikefleet.lab.manager import Lab

LINES = 4_500  # past the 4,098 rows netmiko's login asks for (`+ct511w4098h`)


@pytest.fixture(scope="module")
def tall_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("pager"), branches=0) as lab:
        config = lab.routers["hub"].config
        for i in range(LINES):
            config.add("/ip firewall address-list", {"list": "big", "address": f"10.{i // 250}.{i % 250}.1"})
        yield lab


def test_send_dumps_past_the_pager(tall_lab: Lab, tmp_path: Path) -> None:
    spec = tall_lab.spec("hub")
    conn = ConnectHandler(device_type="mikrotik_routeros", host=spec.host, port=spec.port,
                          username=spec.username, password=spec.password)
    try:
        dev = Device("hub", conn, read_timeout=60)
        out = dev.send("/ip firewall address-list export terse")
        rows = [ln for ln in out.splitlines() if ln.startswith("/ip firewall address-list add")]
        assert len(rows) == LINES
        assert rows[0].endswith("address=10.0.0.1 list=big") and rows[-1].endswith(
            f"address=10.{(LINES - 1) // 250}.{(LINES - 1) % 250}.1 list=big")
        assert "Q quit" not in out and "@" not in out.splitlines()[-1]
        # the session is still in step: the next command's answer is its own
        assert dev.send("/system identity print").strip().startswith("name:")
    finally:
        conn.disconnect()
