"""ikefleet used as a Nornir user would: plain InitNornir on a lab's config.yaml, from another directory,
ikefleet's tasks from the package's face, nornir_utils' print_result."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests_support import fast_keys, rolled_out_lab

from ikefleet.lab.manager import Lab
from ikefleet.verify.history import History, history_path

SCRIPT = """\
import sys

from nornir import InitNornir
from nornir_utils.plugins.functions import print_result

from ikefleet.tasks import gather

nr = InitNornir(config_file=sys.argv[1])
result = nr.run(task=gather)
print_result(result)
print("FAILED HOSTS:", ",".join(sorted(result.failed_hosts)))
print("HUB CONFIG EXPORTS:", len(result["hub"][0].result.get("config")))


def prompt(task):
    session = task.host.get_connection("routeros", task.nornir.config)  # the plugin, by its Nornir name
    return session.base_prompt + " " + session.login_reply.splitlines()[0]


print("HUB PROMPT:", nr.filter(name="hub").run(task=prompt)["hub"][0].result)
"""


def plain(text: str) -> str:
    """Without the colour codes print_result writes (colorama stays on for the rest of the script)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def run_user_script(config: Path, cwd: Path, *args: str, script: str = SCRIPT,
                    **env: str) -> subprocess.CompletedProcess[str]:
    (cwd / "user_script.py").write_text(script)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IKEFLEET_")}
    return subprocess.run([sys.executable, "user_script.py", str(config), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env={**clean, **env})


def test_plain_initnornir_gathers_from_another_directory_and_a_bad_password_fails_the_host(
    lab: Lab, tmp_path: Path
) -> None:
    wrong = "not-the-password-" + os.urandom(4).hex()
    done = run_user_script(lab.directory / "config.yaml", tmp_path, IKEFLEET_PASSWORD_BR1=wrong)
    assert done.returncode == 0, done.stderr
    out = plain(done.stdout)
    assert "FAILED HOSTS: br1\n" in out  # refused login: failed, not green with the error inside
    assert "HUB CONFIG EXPORTS: 1\n" in out  # the data stays on the Result
    assert "HUB PROMPT: [admin@hub] " in out  # a user's own task on the routeros session, logged in
    assert "authentication" in out.lower() or "password" in out.lower()  # the reason is printed
    assert len(out) < 8_000, f"print_result printed {len(out)} characters"
    assert "sections={" in out and "ros_version=" in out  # a summary of what was read
    assert wrong not in out + done.stderr and lab.specs()[0].password not in out + done.stderr


def test_missing_credentials_stop_initnornir_before_any_connection(lab: Lab, tmp_path: Path) -> None:
    copy = tmp_path / "site"
    shutil.copytree(lab.directory / "inventory", copy / "inventory")
    text = (lab.directory / "config.yaml").read_text().replace("secrets_file: secrets.yaml", "secrets_file:")
    (copy / "config.yaml").write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_user_script(copy / "config.yaml", elsewhere)
    assert done.returncode != 0
    assert "FAILED HOSTS" not in done.stdout  # no task ran
    last = plain(done.stderr).strip().splitlines()[-1]
    assert last.startswith("ikefleet.secrets.SecretsError: no password for hosts "), last
    assert "hub" in last and "br1" in last and "IKEFLEET_PASSWORD" in last and "secrets_file" in last


def test_the_inventory_plugin_is_found_through_its_entry_point() -> None:
    from nornir.core.plugins.inventory import InventoryPluginRegister

    from ikefleet.inventory_plugin import IkefleetInventory

    InventoryPluginRegister.auto_register()
    assert InventoryPluginRegister.available["IkefleetInventory"] is IkefleetInventory


def test_the_routeros_connection_plugin_is_found_through_its_entry_point() -> None:
    from nornir.core.plugins.connections import ConnectionPluginRegister

    from ikefleet.connection.plugin import RouterOS

    ConnectionPluginRegister.auto_register()
    assert ConnectionPluginRegister.available["routeros"] is RouterOS


RICH_SCRIPT = """\
import sys

from nornir import InitNornir
from nornir_rich.progress_bar import RichProgressBar

from ikefleet.tasks import gather

nr = InitNornir(config_file=sys.argv[1])
result = nr.with_processors([RichProgressBar()]).run(task=gather)
print("FAILED HOSTS:", ",".join(sorted(result.failed_hosts)))
"""


def test_a_nornir_rich_progress_bar_counts_ikefleet_tasks(lab: Lab, tmp_path: Path) -> None:
    """nornir_rich's processor on ikefleet's gather: every host counted, the failed one as failed."""
    wrong = "not-the-password-" + os.urandom(4).hex()
    done = run_user_script(lab.directory / "config.yaml", tmp_path, script=RICH_SCRIPT,
                           IKEFLEET_PASSWORD_BR1=wrong)
    assert done.returncode == 0, done.stderr
    out = plain(done.stdout)
    assert "FAILED HOSTS: br1\n" in out
    assert re.search(r"Completed:.*3/3", out), out
    assert re.search(r"Successful:.*2/3", out) and re.search(r"Failed:.*1/3", out), out
    assert "gather" in out  # the panel is titled with the task's name


EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "own_flow.py"


def test_the_own_flow_example_runs_against_the_lab(tmp_path: Path) -> None:
    """docs/examples/own_flow.py, run as a user would from another directory: plain InitNornir, the
    reads with the progress processor, verify's checks kept by the history processor, a dry-run converge
    recorded by the run-record processor and printed by print_result."""
    with rolled_out_lab(tmp_path / "lab", branches=2) as lab:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        done = run_user_script(lab.directory / "config.yaml", elsewhere, "br1", script=EXAMPLE.read_text())
        assert done.returncode == 0, done.stdout + done.stderr
        out = plain(done.stdout)
        assert "verify: reading 3 router(s)\n" in out and "[3/3 read]" in out
        assert "COMPLIANT" in out
        kept = History(history_path(lab.directory / "config.yaml")).latest()  # by the RecordHistory processor
        assert kept is not None and {"hub", "br1", "br2"} <= set(kept.hosts) and kept.compliant
        assert "converge" in out and "status='unchanged'" in out  # print_result of the dry run
        run = Path(out.split("run directory: ")[1].split()[0])
        records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
        assert [(r["host"], r["status"], r["commands"]) for r in records] == [("br1", "unchanged", 0)]
        assert lab.specs()[0].password not in out + done.stderr

        # drift on br1: the example's InitNornir(dry_run=True) makes the converge task say, not send
        from ikefleet.lab.engine import Session

        console = Session(lab.routers["br1"], "admin")
        assert console.execute("/interface eoip remove [find comment=ikefleet]") == ""
        lab.settle()
        before = lab.routers["br1"].config.to_json()
        done = run_user_script(lab.directory / "config.yaml", elsewhere, "br1", script=EXAMPLE.read_text())
        assert done.returncode == 1, done.stdout + done.stderr  # the fleet is not compliant now
        out = plain(done.stdout)
        assert "status='would-change'" in out, out
        lab.settle()
        assert lab.routers["br1"].config.to_json() == before  # nothing sent


OWN_ROLLOUT = Path(__file__).resolve().parents[1] / "docs" / "examples" / "own_rollout.py"


def test_the_own_rollout_example_rolls_out_a_lab_and_puts_back_a_branch_that_fails_its_gate(
    tmp_path: Path,
) -> None:
    """docs/examples/own_rollout.py, run as a user would from another directory, on a fresh lab: the hub,
    then br1 (the canary) and br2 in waves. br2's BFD stays down (a lab fault): it fails its gate and is
    put back to the configuration it had before (nothing of ikefleet's left on it). Once the fault is gone
    the script's second run converges br2 and the whole fleet passes `ikefleet verify`."""
    from ikefleet.lab.engine import Session
    from ikefleet.runbooks.verify import Verify, VerifyOptions
    from ikefleet.tasks.converge import PUT_BACK

    def configuration(router: str) -> list[str]:
        lab.settle()
        text = Session(lab.routers[router], "admin").execute("/export terse hide-sensitive")
        return [line for line in text.splitlines() if not line.startswith("#")]

    with Lab.start(tmp_path / "lab", branches=2, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        lab.settle()
        config = lab.directory / "config.yaml"
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        before = configuration("br2")
        lab.fault("br2", "bfd-drop")
        done = run_user_script(config, elsewhere, "5", script=OWN_ROLLOUT.read_text())
        out = plain(done.stdout)
        assert done.returncode == 1, out + done.stderr
        assert re.search(rf"br2: gate failed: .*bfd.*; {re.escape(PUT_BACK)}", out), out
        assert "failed: br2\n" in out
        assert configuration("br2") == before  # put back: as it was before the run
        assert any("comment=ikefleet" in line for line in configuration("br1"))
        run = Path(out.split("run directory: ")[1].split()[0])
        records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
        assert [(r["host"], r["status"]) for r in records] == [("hub", "changed"), ("br1", "changed"),
                                                                ("br2", "changed")]
        assert lab.specs()[0].password not in out + done.stderr

        lab.clear_faults("br2")
        done = run_user_script(config, elsewhere, "30", script=OWN_ROLLOUT.read_text())
        out = plain(done.stdout)
        assert done.returncode == 0, out + done.stderr
        assert "failed: none\n" in out
        report = Verify(VerifyOptions(config=config, record=False)).run()
        assert report.compliant, [(r.host, r.check, r.observed) for r in report.failures()]
