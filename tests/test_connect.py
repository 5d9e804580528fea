"""Opening sessions: timeouts from config and inventory, retries of connection errors only, the gate.

Unit tests drive `ikefleet.connection.connector.Connector` with instrumented attempts; the lab tests count
from the routers' side (`Lab.handshakes`, the `reset-next` fault) what a real run did.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from hypothesis import given
from hypothesis import strategies as st
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout
from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsSSH
from nornir.core import Nornir
from nornir.core.task import Result, Task
from ruamel.yaml import YAML
from tests_support import console_lines, fast_keys

from ikefleet.cli import main
from ikefleet.connection import connector
from ikefleet.connection.connector import ConnectFailed, Connector, Policy, parse_policy, retryable
from ikefleet.connection.hostkeys import HostKeyChanged
from ikefleet.connection.plugin import RouterOS
from ikefleet.connection.session import Device, describe
from ikefleet.inventory import load_inventory
from ikefleet.lab.manager import Lab
from ikefleet.nornir_init import init_nornir
from ikefleet.problems import InventoryError
from ikefleet.runbooks.verify import Verify, VerifyOptions
from ikefleet.tasks.device import CONNECTION, device

# --- policy from config ----------------------------------------------------------------------------------


def test_policy_defaults_and_values() -> None:
    assert parse_policy(None, "c.yaml") == Policy()
    policy = parse_policy({"conn_timeout": 3, "attempts": 5, "max_concurrent": 2, "backoff": 0.5}, "c.yaml")
    assert (policy.conn_timeout, policy.attempts, policy.max_concurrent, policy.backoff) == (3, 5, 2, 0.5)
    assert policy.netmiko_extras() == {"conn_timeout": 3, "auth_timeout": 10, "banner_timeout": 15}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"attempt": 3}, "ikefleet.connect.attempt", "did you mean"),
        ({"attempts": 0}, "ikefleet.connect.attempts", "out of range"),
        ({"attempts": 2.5}, "ikefleet.connect.attempts", "integer"),
        ({"conn_timeout": "10s"}, "ikefleet.connect.conn_timeout", "number"),
        ({"max_concurrent": True}, "ikefleet.connect.max_concurrent", "integer"),
        ([1, 2], "ikefleet.connect", "mapping"),
    ],
)
def test_bad_policy_names_field_and_fix(data: object, field: str, words: str) -> None:
    with pytest.raises(InventoryError) as err:
        parse_policy(data, "config.yaml")
    (problem,) = err.value.problems
    assert problem.field == field and problem.source == "config.yaml"
    assert words in (problem.message + problem.fix).lower() and problem.fix


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = Policy(backoff=1, max_backoff=5)
    rng = random.Random(7)
    delays = [[policy.delay(retry, rng) for retry in (1, 2, 3, 4, 5)] for _ in range(50)]
    for retry, bound in enumerate((1, 2, 4, 5, 5)):
        seen = [d[retry] for d in delays]
        assert all(bound / 2 <= d <= bound for d in seen)
        assert len(set(seen)) > 1  # jitter: a fleet does not retry in lockstep


# --- what is retried -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "reset"),
        OSError(113, "No route to host"),
        TimeoutError(),
        NetmikoTimeoutException("TCP connection to device failed"),
        paramiko.SSHException("Error reading SSH protocol banner"),
        EOFError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_errors_are_retried(exc: BaseException) -> None:
    assert retryable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        NetmikoAuthenticationException("Authentication to device failed"),
        paramiko.AuthenticationException("bad"),
        HostKeyChanged("r1: key changed"),
        ReadTimeout("pattern never detected"),
        FileNotFoundError(2, "No such file or directory"),
        ValueError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_are_not(exc: BaseException) -> None:
    assert not retryable(exc)


def _raised(*chain: BaseException) -> BaseException:
    """The last exception, raised while handling the one before it (as paramiko and netmiko chain them)."""
    for inner, outer in itertools.pairwise(chain):
        outer.__context__ = inner
    return chain[-1]


@pytest.mark.parametrize(
    ("chain", "words"),
    [  # netmiko re-raises paramiko's banner error as a NetmikoTimeoutException: the cause tells which it was
        ((ConnectionResetError(104, "reset"), paramiko.SSHException("Error reading SSH protocol banner"),
          NetmikoTimeoutException("A paramiko SSHException occurred")), "connection reset before the ssh"),
        ((EOFError(), paramiko.SSHException("Error reading SSH protocol banner")), "connection reset before"),
        ((TimeoutError(), paramiko.SSHException("Error reading SSH protocol banner"),
          NetmikoTimeoutException("A paramiko SSHException occurred")), "no ssh banner within"),
        ((paramiko.AuthenticationException("Authentication timeout."),
          NetmikoAuthenticationException("Authentication to device failed")), "login timed out after 7 s"),
        ((paramiko.AuthenticationException("Authentication failed."),
          NetmikoAuthenticationException("Authentication to device failed")), "wrong username or password"),
    ],
    ids=["reset", "eof", "banner-timeout", "login-timeout", "wrong-password"],
)
def test_the_cause_under_netmikos_error_decides_the_words(chain: tuple[BaseException, ...],
                                                          words: str) -> None:
    exc = _raised(*chain)
    if connector.login_timed_out(exc):  # as connection.opening raises it, with the host's auth_timeout
        exc = _raised(exc, connector.LoginTimedOut(7))
    assert words in describe(exc).lower()
    assert not retryable(exc) if "login" in words or "password" in words else retryable(exc)


class Flaky:
    """An attempt that fails with `error` the first `failures` times."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "session"


def made(**policy: object) -> tuple[Connector, list[float]]:
    waits: list[float] = []
    return Connector(Policy(**policy), sleep=waits.append, rng=random.Random(1)), waits  # type: ignore[arg-type]


def test_refused_then_accepted_succeeds_after_retries() -> None:
    conn, waits = made(attempts=4, backoff=2)
    attempt, counted = Flaky(2, ConnectionRefusedError(111, "refused")), []
    assert conn.open("br1", attempt, counted.append) == "session"
    assert attempt.calls == 3 and sum(counted) == 3
    assert len(waits) == 2 and 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4


def test_authentication_failure_is_tried_once() -> None:
    conn, waits = made(attempts=5)
    attempt = Flaky(9, NetmikoAuthenticationException("Authentication to device failed."))
    with pytest.raises(NetmikoAuthenticationException):
        conn.open("br1", attempt)
    assert attempt.calls == 1 and waits == []


def test_gives_up_after_the_attempts_and_says_so() -> None:
    conn, waits = made(attempts=3)
    attempt = Flaky(9, ConnectionRefusedError(111, "refused"))
    with pytest.raises(ConnectFailed) as err:
        conn.open("br1", attempt)
    assert attempt.calls == 3 and len(waits) == 2  # no wait after the last attempt
    words = describe(err.value)
    assert "connection refused" in words and "after 3 connection attempts" in words


def test_gate_bounds_attempts_in_flight_across_threads() -> None:
    """20 threads, a gate of 3: each attempt waits until 3 are inside, so an unbounded gate shows 20."""
    bound = 3
    conn, _ = made(max_concurrent=bound)
    lock = threading.Condition()
    inside, peak, done = [0], [0], []

    def attempt() -> str:
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
            lock.notify_all()
            lock.wait_for(lambda: inside[0] >= bound or len(done) >= 20 - bound, timeout=5)
            inside[0] -= 1
        return "ok"

    def worker() -> None:
        done.append(conn.open("h", attempt))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 20 and peak[0] == bound


# --- against the lab -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.start(tmp_path_factory.mktemp("connect") / "lab", branches=5, convergence_delay=0.05) as lab:
        fast_keys(lab.directory)
        yield lab


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits recorded instead of slept (the policy's numbers are unit-tested above)."""
    waits: list[float] = []
    monkeypatch.setattr(connector, "wait", waits.append)
    return waits


def _edit(path: Path, change) -> str:  # type: ignore[no-untyped-def]
    """Apply `change` to a YAML file's data; returns the old text to restore."""
    old = path.read_text()
    yaml = YAML()
    data = yaml.load(old)
    change(data)
    with path.open("w") as out:
        yaml.dump(data, out)
    return old


def verify_hosts(lab: Lab, *hosts: str) -> dict:
    lab.settle()
    options = VerifyOptions(lab.directory / "config.yaml", limit=hosts, record=False)
    return Verify(options).gather()


def attempts_of(nr: Nornir, host: str) -> int:
    return RouterOS.connector(nr.config).attempts.get(host, 0)


def _connect(lab: Lab, host: str) -> tuple[object, int, object]:
    """Open one host's session the way a run does; (Device, attempts, exception)."""
    nr = init_nornir(lab.directory / "config.yaml")
    box: dict[str, object] = {}

    def task(task: Task) -> Result:
        box["device"] = device(task)
        return Result(host=task.host)

    try:
        res = nr.filter(name=host).run(task=task)
        return box.get("device"), attempts_of(nr, host), res[host][0].exception
    finally:
        nr.close_connections(on_failed=True)


def test_reset_connections_are_retried_until_accepted(lab: Lab, fast_retries: list[float]) -> None:
    lab.fault("br1", "reset-next", 2)
    try:
        dev, attempts, exc = _connect(lab, "br1")
    finally:
        left = lab.routers["br1"].faults.reset_next
        lab.clear_faults("br1")
    assert exc is None and dev is not None
    assert left == 0 and attempts == 3 and len(fast_retries) == 2


def test_refused_gives_up_with_the_count(lab: Lab, fast_retries: list[float]) -> None:
    lab.fault("br2", "refuse")
    try:
        _, attempts, exc = _connect(lab, "br2")
    finally:
        lab.clear_faults("br2")
    assert isinstance(exc, ConnectFailed) and attempts == 3
    assert "refused" in describe(exc) and "after 3 connection attempts" in describe(exc)


def test_wrong_password_is_one_attempt_seen_by_the_router(lab: Lab, fast_retries: list[float]) -> None:
    before = lab.handshakes.total
    verify_hosts(lab, "br3")
    per_attempt = lab.handshakes.total - before  # host key check + login, however many that takes
    lab.fault("br3", "bad-password")
    try:
        before = lab.handshakes.total
        _, attempts, exc = _connect(lab, "br3")
        seen = lab.handshakes.total - before
    finally:
        lab.clear_faults("br3")
    assert isinstance(exc, NetmikoAuthenticationException) and attempts == 1
    assert per_attempt >= 1 and seen == per_attempt and fast_retries == []


def test_a_failed_login_leaves_no_session_for_the_next_task(lab: Lab, fast_retries: list[float]) -> None:
    """ikefleet completes netmiko's login itself (without its fixed wait): a login that fails must not leave
    a half-open session in Nornir's cache for the run's next task to use."""
    nr = init_nornir(lab.directory / "config.yaml")
    replies: list[str] = []

    def task(task: Task) -> Result:
        replies.append(device(task).send("/system identity print"))
        return Result(host=task.host)

    lab.fault("br3", "bad-password")
    try:
        failed = nr.filter(name="br3").run(task=task)
    finally:
        lab.clear_faults("br3")
    try:
        assert isinstance(failed["br3"][0].exception, NetmikoAuthenticationException)
        assert CONNECTION not in nr.inventory.hosts["br3"].connections
        again = nr.filter(name="br3").run(task=task, on_failed=True)
        assert again["br3"][0].exception is None
        assert len(replies) == 1 and "name: br3" in replies[0]
    finally:
        nr.close_connections(on_failed=True)


@given(st.text(alphabet=st.characters(blacklist_characters="\x1b"), max_size=300))
def test_netmiko_leaves_text_without_esc_as_is(text: str) -> None:
    """The premise of tasks.device.skip_plain_reads: netmiko's RouterOS stripping changes nothing in a read
    without ESC (a netmiko upgrade that strips a code without ESC fails here)."""
    driver = MikrotikRouterOsSSH.__new__(MikrotikRouterOsSSH)
    driver.RETURN = "\r\n"
    assert driver.strip_ansi_escape_codes(text) == text


def test_a_session_strips_terminal_codes_and_passes_plain_reads(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """netmiko's stripping runs only on reads that hold ESC, and still strips them."""
    seen: list[str] = []
    netmikos = MikrotikRouterOsSSH.strip_ansi_escape_codes

    def counted(self: MikrotikRouterOsSSH, text: str) -> str:
        seen.append(text)
        return netmikos(self, text)

    monkeypatch.setattr(MikrotikRouterOsSSH, "strip_ansi_escape_codes", counted)
    nr = init_nornir(lab.directory / "config.yaml")
    box: dict[str, Device] = {}

    def task(task: Task) -> Result:
        box["device"] = device(task)
        return Result(host=task.host, result=box["device"].send("/system identity print"))

    try:
        res = nr.filter(name="br2").run(task=task)
    finally:
        nr.close_connections(on_failed=True)
    assert "name: br2" in res["br2"][0].result
    assert all("\x1b" in text for text in seen)
    strip = box["device"].connection.strip_ansi_escape_codes
    assert strip("[admin@br2] > \x1b[K\x1b[9999B/ip route print") == "[admin@br2] > /ip route print"
    assert seen[-1] == "[admin@br2] > \x1b[K\x1b[9999B/ip route print"


def test_the_login_reads_the_version_in_the_round_trip_that_finds_the_prompt(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a session runs one console line, the version read, and leaves netmiko its prompt; the run's
    version comes from it (no task reads it again)."""
    from ikefleet.tasks import version

    seen = console_lines(monkeypatch)
    nr = init_nornir(lab.directory / "config.yaml")

    def task(task: Task) -> Result:
        dev = device(task)
        return Result(host=task.host, result=(dev.connection.base_prompt, version.detected(task)))

    try:
        res = nr.filter(name="br4").run(task=task)
    finally:
        nr.close_connections(on_failed=True)
    prompt, found = res["br4"][0].result
    assert [c.line for c in seen] == ["/system resource print"]
    assert prompt == "[admin@br4]"
    assert found.read and found.version == lab.routers["br4"].spec.version


def test_concurrent_handshakes_bounded_on_the_router_side(lab: Lab) -> None:
    config = lab.directory / "config.yaml"
    old = _edit(config, lambda d: d.setdefault("ikefleet", {}).__setitem__("connect", {"max_concurrent": 2}))
    routers = list(lab.routers)
    for name in routers:  # slow logins: without the gate all of them would overlap
        lab.fault(name, "login-delay", 300)
    try:
        lab.handshakes.reset()
        states = verify_hosts(lab)
    finally:
        config.write_text(old)
        for name in routers:
            lab.clear_faults(name)
    hosts = {s.name for s in load_inventory(config).sites}
    assert set(states) == hosts and not any(s.error for s in states.values())
    assert lab.handshakes.total >= len(hosts) and 1 <= lab.handshakes.peak <= 2


def test_timeouts_reach_netmiko_per_host(lab: Lab) -> None:
    config = lab.directory / "config.yaml"
    hosts = lab.directory / "inventory" / "hosts.yaml"
    old_config = _edit(config, lambda d: d.setdefault("ikefleet", {}).__setitem__(
        "connect", {"auth_timeout": 7, "banner_timeout": 9, "command_timeout": 33}))
    old_hosts = _edit(hosts, lambda d: d["br4"].setdefault("data", {}).update(
        connect_timeout=4, command_timeout=21))
    try:
        load_inventory(config)  # the per-host keys are valid inventory
        br4, _, exc4 = _connect(lab, "br4")
        br5, _, exc5 = _connect(lab, "br5")
    finally:
        config.write_text(old_config)
        hosts.write_text(old_hosts)
    assert exc4 is None and exc5 is None
    c4, c5 = br4.connection, br5.connection  # type: ignore[attr-defined]
    assert (c4.conn_timeout, c4.auth_timeout, c4.banner_timeout) == (4, 7, 9)
    assert (c5.conn_timeout, c5.auth_timeout, c5.banner_timeout) == (10, 7, 9)
    assert br4.read_timeout == 21 and br5.read_timeout == 33  # type: ignore[attr-defined]


def test_bad_host_timeout_is_an_inventory_error(lab: Lab) -> None:
    hosts = lab.directory / "inventory" / "hosts.yaml"
    old = _edit(hosts, lambda d: d["br4"].setdefault("data", {}).update(command_timeout="slow"))
    try:
        with pytest.raises(InventoryError) as err:
            load_inventory(lab.directory / "config.yaml")
    finally:
        hosts.write_text(old)
    (problem,) = err.value.problems
    assert problem.host == "br4" and problem.field == "command_timeout" and "seconds" in problem.fix


def test_bad_config_stops_the_cli_before_contact(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    config = lab.directory / "config.yaml"
    old = _edit(config, lambda d: d.setdefault("ikefleet", {}).__setitem__("connect", {"attempts": -1}))
    try:
        before = lab.handshakes.total
        code = main(["rollout", "-c", str(config)])
        err = capsys.readouterr().err
    finally:
        config.write_text(old)
    assert code == 2 and "ikefleet.connect.attempts" in err and "Fix:" in err
    assert lab.handshakes.total == before


def test_unset_bound_is_the_worker_count_direct_and_max_startups_behind_jump_hosts(lab: Lab) -> None:
    """No `max_concurrent` in config.yaml: routers reached directly share no door (the worker count
    bounds the run), routers behind jump hosts share sshd's MaxStartups (10); a set value always wins."""
    nr = init_nornir(lab.directory / "config.yaml")
    workers = int(nr.config.runner.options["num_workers"])
    assert parse_policy(None, "c.yaml").max_concurrent is None
    assert connector.enable(nr, Policy()).policy.max_concurrent == workers
    behind_jump = connector.enable(nr, Policy(), behind_jump=True).policy
    assert behind_jump.max_concurrent == connector.JUMP_MAX_STARTUPS
    assert connector.enable(nr, Policy(max_concurrent=3), behind_jump=True).policy.max_concurrent == 3
    RouterOS.use(nr.config, connector.enable(nr, Policy(max_concurrent=3)))
    assert RouterOS.connector(nr.config).policy.max_concurrent == 3
    assert connector.policy_of(nr.inventory.hosts["br1"]).max_concurrent == 3  # in its connection options


def test_direct_sessions_run_without_nagle(lab: Lab) -> None:
    """paramiko leaves Nagle's algorithm on: each small write after another then waits for the router's
    delayed ACK (about 40 ms per key exchange and per command). A directly reached router's session runs
    over ikefleet's own socket with TCP_NODELAY."""
    import socket

    nr = init_nornir(lab.directory / "config.yaml")
    seen: dict[str, int] = {}

    def task(task: Task) -> Result:
        conn = device(task).connection
        sock = conn.remote_conn.get_transport().sock  # type: ignore[attr-defined]
        seen[task.host.name] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        return Result(host=task.host)

    try:
        nr.filter(name="hub").run(task=task)
    finally:
        nr.close_connections(on_failed=True)
    assert seen == {"hub": 1}
