"""Every CLI command against a lab with known unique secrets; nothing written anywhere may contain them.

Secrets: the lab's router password, a backup password, and every PKCS#12 passphrase the rollout generates
(recorded by wrapping the generator). Scanned: stdout and stderr of every command, and every file under the
data directory (run directories, diffs, backups, reports, history database, logs, the lab's own files) except
the secrets file itself. `lab status --json` prints credentials on purpose and is left out.
"""

from __future__ import annotations

import secrets as real_secrets
import types
from collections.abc import Iterator

import pytest
from ruamel.yaml import YAML
from tests_support import fast_keys

from ikefleet.cli import main
from ikefleet.lab.manager import Lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("secrets-scan"), branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


def test_no_secret_in_any_output_or_file(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ikefleet.tasks import pki

    passphrases: list[str] = []

    def token_urlsafe(n: int | None = None) -> str:
        value = real_secrets.token_urlsafe(n)
        passphrases.append(value)
        return value

    monkeypatch.setattr(pki, "random", types.SimpleNamespace(token_urlsafe=token_urlsafe))
    backup_password = "bkp-" + real_secrets.token_hex(12)
    monkeypatch.setenv("IKEFLEET_BACKUP_PASSWORD", backup_password)
    data = lab.directory
    secrets_file = data / "secrets.yaml"
    password = str(YAML(typ="safe").load(secrets_file.read_text())["password"])
    config = str(data / "config.yaml")
    capture = data / "capture.rsc"
    capture.write_text("/ip ipsec peer print detail\n")
    commands = [
        ["lab", "status", "--dir", str(data)],
        ["plan", "-c", config],
        ["plan", "-c", config, "--json"],
        ["render", "-c", config, "hub"],
        ["render", "-c", config, "br1"],
        ["rollout", "-c", config, "--dry-run"],
        ["rollout", "-c", config, "--json"],
        ["rollout", "-c", config, "--dry-run", "--json"],
        *(["verify", "-c", config, "--format", f] for f in ("console", "json", "junit", "prom")),
        ["compliance", "-c", config],
        ["history", "br1", "-c", config],
        ["certs", "status", "-c", config],
        ["certs", "renew", "br1", "-c", config],
        ["certs", "revoke", "br2", "-c", config],
        ["parse", "--command", "/ip ipsec peer print detail", str(capture)],
    ]
    outputs: list[str] = []
    codes: dict[str, int] = {}
    for argv in commands:
        lab.settle()
        try:
            codes[" ".join(argv[:2])] = main(argv)
        except SystemExit as exc:  # argparse errors count as output too
            codes[" ".join(argv[:2])] = int(exc.code or 0)
        out = capsys.readouterr()
        outputs.append(out.out + out.err)
    assert passphrases, "the rollout exported no PKCS#12: the scan would not cover passphrases"
    assert codes["rollout -c"] == 0, outputs
    known = [password, backup_password, *passphrases]
    for argv, text in zip(commands, outputs, strict=True):
        for secret in known:
            assert secret not in text, f"a secret in the output of `ikefleet {' '.join(argv)}`"
    # secrets.yaml, lab.json and each router's stored state (its login password, like a router's user db)
    stores = {secrets_file, data / "lab.json", *data.glob("routers/*/config.json")}
    scanned = 0
    for path in data.rglob("*"):
        if not path.is_file() or path.suffix == ".sock":
            continue
        if path in stores:  # the lab's credential stores: owner-only, never scanned
            assert path.stat().st_mode & 0o077 == 0, path
            continue
        content = path.read_bytes()
        scanned += 1
        for secret in known:
            assert secret.encode() not in content, f"a secret in {path.relative_to(data)}"
    assert scanned > 10
