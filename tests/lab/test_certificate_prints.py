"""`/certificate print` as real RouterOS lays it out, and what the parser keeps of it.

v7 (helpmt-certs, helpmt-certs-signed, helpmt-certs-templates, terraform-docs captures): one legend group
per flag (I and R share one), a table legend naming only the flags shown in capitals, `Columns:`, whole
fingerprints. v6 cuts a fingerprint wider than its column to `3a5f09c1b...` (issue 18): the parser must
never keep such a prefix as if it were the fingerprint.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec
from ikefleet.parsers import parse_certificate
from ikefleet.tasks.pki import client_fingerprint

GOLDEN = Path(__file__).resolve().parents[1] / "parsers" / "golden"


def capture(name: str) -> list[str]:
    return (GOLDEN / name).read_text().splitlines()


def router(tmp_path: Path, version: str) -> Session:
    spec = RouterSpec(name="R1", role="responder", host="127.0.0.1", port=1, username="admin", password="pw",
                      wan_address="203.0.113.1/24", lan_prefix="192.168.1.0/24", version=version)
    session = Session(Router(spec, tmp_path, config=initial_config(spec)), "admin", width=80)
    for line in ("/certificate add name=ca common-name=ca key-size=2048 key-usage=key-cert-sign,crl-sign",
                 "/certificate sign ca",
                 "/certificate add name=br1-client common-name=br1-client key-size=2048",
                 "/certificate sign br1-client ca=ca"):
        assert session.execute(line) in ("", "  progress: done"), line
    return session


@pytest.fixture(scope="module")
def v6(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return router(tmp_path_factory.mktemp("v6"), "6.49.2")


@pytest.fixture(scope="module")
def v7(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return router(tmp_path_factory.mktemp("v7"), "7.16.1")


def test_v6_table_cuts_the_fingerprint_and_the_parser_drops_it(v6: Session) -> None:
    table = v6.execute("/certificate print")
    detail = v6.execute("/certificate print detail")
    whole = {c["name"]: c["fingerprint"] for c in parse_certificate(detail)}
    assert all(re.fullmatch(r"[0-9a-f]{64}", f) for f in whole.values())
    lines = table.splitlines()
    rows = lines[next(i for i, line in enumerate(lines) if line.lstrip().startswith("#")) + 1:]
    assert len(rows) == 2 and all(re.match(r"^ *\d+ ", line) for line in rows)  # cut, not wrapped
    assert all(line.rstrip().endswith("...") for line in rows)
    records = parse_certificate(table)
    assert [r["name"] for r in records] == ["ca", "br1-client"]
    for record in records:
        assert "fingerprint" not in record and record["truncated"] == ["fingerprint"]
    assert client_fingerprint(table, "br1-client") is None  # a prefix is never taken for the fingerprint
    assert client_fingerprint(detail, "br1-client") == whole["br1-client"]


def test_v7_table_as_captured(v7: Session) -> None:
    lines = v7.execute("/certificate print").splitlines()
    # the flags shown, in capitals, one group each (terraform-docs: "K - PRIVATE-KEY; A - AUTHORITY; ...")
    assert lines[0] == "Flags: K - PRIVATE-KEY; A - AUTHORITY; I - ISSUED; T - TRUSTED"
    shape = re.compile(r"^Flags: (?:\S - [A-Z-]+(?:; |$))+")
    assert shape.fullmatch(capture("v7__certificate_print_show-ids__terraform-docs.txt")[1])
    # no certificate has a subject-alt-name: its column is left out (helpmt-certs-signed)
    assert lines[1] == "Columns: NAME, COMMON-NAME, FINGERPRINT"
    assert lines[2].split() == ["#", "NAME", "COMMON-NAME", "FINGERPRINT"]
    assert re.match(r"^0 KA T ca {10}ca {11}[0-9a-f]{64}$", lines[3])  # "0 KT name_example    cert"
    records = parse_certificate("\n".join(lines))
    whole = {c["name"]: c["fingerprint"] for c in parse_certificate(v7.execute("/certificate print detail"))}
    assert {r["name"]: r["fingerprint"] for r in records} == whole
    assert all("truncated" not in r for r in records)


def test_v7_detail_legend_as_captured(v7: Session) -> None:
    captured = capture("v7__certificate_print_detail__helpmt-certs-templates.txt")[1]
    wide = Session(v7.router, "admin", width=200)  # the capture's terminal was wider than 80 columns
    assert wide.execute("/certificate print detail").splitlines()[0] == captured
