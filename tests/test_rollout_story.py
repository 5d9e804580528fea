"""Issue 21.7: a rollout's results tell the story: what a dry run would send and do to certificates, every
certificate action on the record, and a failed host's failing command, RouterOS's words and whether it was
put back (checked by a re-read)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from tests_support import fast_keys

from ikefleet.cli.rollout import print_summary
from ikefleet.lab.manager import Lab
from ikefleet.runbooks.rollout import Rollout, RolloutOptions, Summary


def rollout(lab: Lab, **options: object) -> Summary:
    lab.settle()
    opts = RolloutOptions(config=lab.directory / "config.yaml", gate_timeout_s=30.0, **options)  # type: ignore[arg-type]
    return Rollout(opts).run()


def shown(summary: Summary) -> str:
    """The console summary as an operator reads it."""
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=300, color_system=None))
    return out.getvalue()


def results(summary: Summary) -> dict[str, dict[str, object]]:
    """results.jsonl, the last line per host."""
    lines = (summary.run_dir / "results.jsonl").read_text().splitlines()
    return {row["host"]: row for row in map(json.loads, lines)}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as started:
        fast_keys(started.directory)
        yield started


def test_dry_run_counts_and_lists_the_commands_it_would_send(lab: Lab) -> None:
    summary = rollout(lab, dry_run=True)
    for name in ("hub", "br1", "br2"):
        outcome = summary.hosts[name]
        listed = (summary.run_dir / "diffs" / f"{name}.commands").read_text().splitlines()
        assert outcome.status == "would-change" and outcome.commands == len(listed) > 0, name
        assert all(line.startswith("/") for line in listed), name
        assert results(summary)[name]["commands"] == outcome.commands
        assert json.loads((summary.run_dir / "summary.json").read_text())["hosts"][name]["commands"] \
            == outcome.commands
    text = shown(summary)
    hub = summary.hosts["hub"]
    assert f"--- hub: {len(hub.changes)} change(s), {hub.commands} command(s) would be sent" in text
    assert f"│ hub  │ would-change │ {hub.commands:<8} │" in text


def test_the_commands_file_masks_secrets(tmp_path: Path) -> None:
    from ikefleet.rundir import RunDir
    from ikefleet.tasks.converge import write_commands

    run = RunDir(tmp_path, "rollout")
    write_commands(run, "br1", ['/ppp secret add name=x password="s3cret value"', "/ip address add"])
    text = (run.path / "diffs" / "br1.commands").read_text()
    assert "s3cret" not in text and text.splitlines()[0] == "/ppp secret add name=x password=********"
    assert (run.path / "diffs" / "br1.commands").stat().st_mode & 0o077 == 0


def configuration(lab: Lab, router: str) -> dict[str, object]:
    """The router's stored configuration without its certificates (imported before the push, on purpose)."""
    lab.settle()
    menus = lab.routers[router].config.to_json()["menus"]
    return {p: items for p, items in menus.items() if items and p != "/certificate"}


def test_a_refused_command_is_named_with_routeros_words_and_the_put_back_verdict(lab: Lab) -> None:
    from ikefleet.tasks.converge import PUT_BACK

    assert not rollout(lab, limit=("hub",)).failed
    before = configuration(lab, "br1")
    lab.fault("br1", "fail-command", "/routing ospf network add", error="failure: simulated")
    summary = rollout(lab, limit=("br1",))
    outcome = summary.hosts["br1"]
    assert outcome.failed_command.startswith("/routing ospf network add area=backbone comment=ikefleet")
    assert outcome.error == f"RouterOS refused `{outcome.failed_command}`: failure: simulated; {PUT_BACK}"
    assert outcome.put_back == PUT_BACK
    assert configuration(lab, "br1") == before
    row = results(summary)["br1"]
    assert (row["error"], row["failed_command"], row["put_back"]) == (outcome.error, outcome.failed_command,
                                                                      PUT_BACK)
    listed = json.loads((summary.run_dir / "summary.json").read_text())["hosts"]["br1"]
    assert (listed["error"], listed["failed_command"], listed["put_back"]) == (row["error"],
                                                                              row["failed_command"], PUT_BACK)
    text = " ".join(shown(summary).split())
    assert "RouterOS refused `/routing ospf network add" in text.replace("│ │ │ │ ", "")


def test_a_dropped_session_names_the_line_in_flight_and_the_put_back_verdict(lab: Lab) -> None:
    from ikefleet.tasks.converge import PUT_BACK

    assert not rollout(lab, limit=("hub",)).failed
    lab.fault("br1", "fail-command", "/routing ospf network add")  # br1 gets its certificate, not the rest
    assert rollout(lab, limit=("br1",)).failed == ["br1"]
    lab.clear_faults("br1")
    before = configuration(lab, "br1")
    lab.fault("br1", "drop-after", 4)  # the login's read, the branch's reads, then the push's first lines
    summary = rollout(lab, limit=("br1",))
    lab.clear_faults("br1")
    outcome = summary.hosts["br1"]
    assert outcome.status == "failed" and outcome.failed_command.startswith("/"), outcome
    assert outcome.error.startswith(f"the SSH session dropped while `{outcome.failed_command}`")
    assert outcome.error.endswith(f"was sent; {PUT_BACK}") and outcome.put_back == PUT_BACK
    assert "EOFError" not in outcome.error
    assert results(summary)["br1"]["failed_command"] == outcome.failed_command
    assert configuration(lab, "br1") == before


def test_a_failed_command_is_masked() -> None:
    from ikefleet.tasks.converge import PushFailed

    failed = PushFailed('/system backup save name=x password="top secret"', "failure: no space", True)
    assert failed.command == "/system backup save name=x password=********"
    assert failed.words() == f"RouterOS refused `{failed.command}`: failure: no space"


def test_the_failing_command_of_a_console_line() -> None:
    from ikefleet.routeros.console import refused_at, stepped, unstepped

    commands = ["/ip address add address=1", "/ip route add gateway=x", "/ip pool add name=p"]
    [line] = stepped(commands, 1000)
    assert [unstepped(item) for item in line] == commands and "; ".join(line).count(":put") == 3
    assert refused_at(line, "#0\n#1\nfailure: already have such entry") == 1
    assert refused_at(line, "#0\nfailure: already have such entry") == 0
    assert refused_at(line, "failure: already have such entry") is None  # nothing printed: not known
    joined = "; ".join(line)
    assert refused_at(line, f"expected end of command (line 1 column {joined.index('gateway') + 1})") == 1
    assert refused_at(line, f"syntax error (line 1 column {joined.index('pool') + 1})") == 2
    assert refused_at(line, f"syntax error (line 1 column {len(joined) + 5})") is None
    # the line's echo cannot pass for a place printed: `#1` is always followed by its quote there
    assert refused_at(line, '#0\n:put "#1"; /ip route add\nfailure: x') == 0


def test_dry_run_shows_the_certificate_step_and_does_none_of_it(lab: Lab) -> None:
    summary = rollout(lab, dry_run=True)
    hub = summary.hosts["hub"]
    assert hub.certificates == ["would create CA ca", "would issue hub-server (missing)",
                                "would issue certificate br1-client (missing)",
                                "would issue certificate br2-client (missing)"]
    assert hub.changes[:4] == hub.certificates
    for name in ("br1", "br2"):
        assert summary.hosts[name].certificates == [
            f"would transfer certificate {name}-client from the hub to {name} (issued by this run)"]
        assert results(summary)[name]["certificates"] == summary.hosts[name].certificates
    listed = json.loads((summary.run_dir / "summary.json").read_text())["hosts"]["hub"]
    assert listed["certificates"] == results(summary)["hub"]["certificates"] == hub.certificates
    assert "would transfer certificate br2-client from the hub to br2" in shown(summary)
    lab.settle()
    assert not lab.routers["hub"].config.items("/certificate")  # a dry run issues nothing


def test_dry_run_of_a_branch_alone_says_it_lacks_the_hubs_certificate(lab: Lab) -> None:
    assert not rollout(lab, limit=("hub",)).failed
    summary = rollout(lab, dry_run=True, limit=("br1",))
    assert summary.hosts["br1"].status == "would-change"
    assert summary.hosts["br1"].certificates == [
        "would transfer certificate br1-client from the hub to br1 (the branch lacks it)"]


def test_a_branch_removed_from_the_inventory_has_its_revocation_on_the_record(lab: Lab) -> None:
    from ruamel.yaml import YAML

    assert not rollout(lab).failed
    hosts = lab.directory / "inventory" / "hosts.yaml"
    yaml = YAML()
    data = yaml.load(hosts.read_text())
    del data["br2"]
    with hosts.open("w") as out:
        yaml.dump(data, out)
    revoked = "certificate br2-client revoked (its branch is no longer in the inventory)"
    dry = rollout(lab, dry_run=True)
    assert dry.hosts["hub"].certificates == [
        "would revoke certificate br2-client (its branch is no longer in the inventory)"]
    assert dry.hosts["hub"].status == "would-change"
    summary = rollout(lab)
    hub = summary.hosts["hub"]
    assert hub.status == "changed" and hub.certificates == [revoked] and revoked in hub.changes
    assert results(summary)["hub"]["certificates"] == [revoked]
    assert json.loads((summary.run_dir / "summary.json").read_text())["hosts"]["hub"]["certificates"] \
        == [revoked]
    assert f"hub: {revoked}" in shown(summary)


def test_certs_revoke_puts_the_revocation_on_the_record(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    from ikefleet.cli import main

    assert not rollout(lab).failed
    assert main(["certs", "revoke", "br2", "-c", str(lab.directory / "config.yaml")]) == 0
    said = "certificate br2-client revoked (`ikefleet certs revoke br2`)"
    assert f"hub: {said}" in capsys.readouterr().out
    run = sorted((lab.directory / ".ikefleet" / "runs").iterdir())[-1]
    rows = {row["host"]: row for row in map(json.loads, (run / "results.jsonl").read_text().splitlines())}
    assert rows["hub"]["certificates"] == [said] and said in rows["hub"]["changes"]
    assert json.loads((run / "summary.json").read_text())["hosts"]["hub"]["certificates"] == [said]


def test_certs_renew_puts_what_it_did_or_why_not_on_the_record(lab: Lab) -> None:
    from ikefleet.runbooks.certs import Certs, CertsError

    assert not rollout(lab).failed
    certs = Certs(lab.directory / "config.yaml")
    message = certs.renew("br1")
    run = Path(message.rsplit("; record: ", 1)[1])
    row = json.loads((run / "results.jsonl").read_text())
    assert row["host"] == "br1" and row["status"] == "changed"
    assert row["certificates"] == [message.rsplit("; record: ", 1)[0]]
    assert "renewed (br1-client -> br1-client-" in row["certificates"][0]
    listed = json.loads((run / "summary.json").read_text())["hosts"]["br1"]
    assert listed["certificates"] == row["certificates"]
    lab.fault("br1", "refuse")
    with pytest.raises(CertsError) as failed:
        certs.renew("br1")
    lab.clear_faults("br1")
    run = Path(str(failed.value).rsplit("; record: ", 1)[1])
    row = json.loads((run / "results.jsonl").read_text())
    assert row["status"] == "failed" and "br1" in row["error"] and row["certificates"] == []


def test_dry_run_of_branches_with_the_hub_unreadable_shows_their_diff_and_says_what_was_not_checked(
    lab: Lab,
) -> None:
    assert not rollout(lab, limit=("hub",)).failed
    lab.fault("hub", "refuse")
    summary = rollout(lab, dry_run=True, limit=("br1",))
    lab.clear_faults("hub")
    br1 = summary.hosts["br1"]
    assert br1.status == "would-change" and br1.commands > 0 and br1.certificates == []
    assert [w for w in br1.warnings if w.startswith("certificate step not checked: the hub's certificates "
                                                    "could not be read (could not connect")], br1.warnings


def test_a_refused_command_is_named_on_routeros_7(tmp_path: Path) -> None:
    """v7 lines hold fewer commands (450 characters): the place printed still names the refused one."""
    from ikefleet.tasks.converge import PUT_BACK

    with Lab.start(tmp_path / "lab", branches=1, version="7.16.1", convergence_delay=0.05) as v7:
        fast_keys(v7.directory)
        assert not rollout(v7, limit=("hub",)).failed
        before = configuration(v7, "br1")
        v7.fault("br1", "fail-command", "/routing ospf interface-template add", error="failure: simulated")
        outcome = rollout(v7, limit=("br1",)).hosts["br1"]
        assert "interface-template" in outcome.failed_command and "add" in outcome.failed_command, outcome
        assert outcome.error == f"RouterOS refused `{outcome.failed_command}`: failure: simulated; {PUT_BACK}"
        assert configuration(v7, "br1") == before
