"""Bring one router's managed configuration to the intended one: read, diff, back up, push in safe mode.

Before the first command the router is backed up twice into the run directory (0600): the `/export terse
hide-sensitive` just read (`backups/<host>.rsc`, what an operator diffs) and, when the secrets hold a
`backup_password`, an encrypted `/system backup save` downloaded over SFTP (`backups/<host>.backup`).
The router keeps the newest KEEP_BACKUPS of ikefleet's backups (names matching BACKUP_NAME; any other
file is never touched). No backup, no push: a host whose backup fails is left as it was.

Only the minimal add/set/remove commands are sent. Each safe-mode window holds at most SAFE_MODE_BATCH
changes (RouterOS keeps 100 actions of safe-mode history); the router's own post-check (re-read, diff again:
nothing may be left) runs before the last window is released. Any refusal, drop or failed post-check
undoes the open window on the router, and earlier windows are undone by pushing the way back to the
configuration read at the start, so a failed host ends as it began.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from nornir.core.task import Result, Task

from ikefleet import interrupt
from ikefleet.connection import identity
from ikefleet.connection.session import (
    SAFE_MODE_BATCH,
    Device,
    DeviceError,
    SafeModeHeld,
    describe,
    safe_mode,
)
from ikefleet.diff import Remediation, managed_part, ownership, remediate, restore
from ikefleet.redact import mask_command, scrub
from ikefleet.routeros.config import Config
from ikefleet.routeros.console import max_line, refused_at, stepped, unstepped
from ikefleet.routeros.quoting import quote
from ikefleet.routeros.schema import load_schema
from ikefleet.routeros.script import parse_script
from ikefleet.rundir import RunDir

from .device import device, drop
from .pki import file_channel, storage
from .version import detected

READ_CONFIG = "/export terse hide-sensitive"
# the logins open now, this run's included: another one may be a killed run's session whose safe-mode
# changes RouterOS has not undone yet (it is still running its last command), so what is read is not settled
LOGINS_READ = "/user active print count-only"
KEEP_BACKUPS = 3  # ikefleet backups left on each router (the newest)
BACKUP_NAME = re.compile(r"^ikefleet-\d{8}-\d{6}\.backup$")  # the names ikefleet gives, and only those
PUT_BACK = "configuration put back to before this run (checked by re-read)"
NO_BACKUP = "no backup_password in the secrets: no encrypted /system backup was taken before the push"


@dataclass
class Outcome:
    """What happened on one host; one JSON line of the run directory."""

    host: str
    status: str  # unchanged | changed | would-change | failed
    commands: int = 0  # configuration commands sent; on a dry run, the ones that would be sent
    changes: list[str] = field(default_factory=list)
    error: str = ""
    warnings: list[str] = field(default_factory=list)  # e.g. the inventory's ros_version is wrong
    failed_command: str = ""  # the command RouterOS refused, or in flight when the session dropped (masked)
    put_back: str = ""  # after a failed push or gate: whether a re-read found the configuration put back
    certificates: list[str] = field(default_factory=list)  # certificate work, done (or on a dry run, to do)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:  # print_result: one line, not every change
        return f"{self.status}: {self.error}" if self.error else f"{self.status}, {len(self.changes)} changes"


def read_config(dev: Device) -> tuple[str, Config]:
    text = dev.send(READ_CONFIG)
    return text, parse_script(text)


def plan_changes(
    current: Config, intended_script: str, major: int = 6, known: Mapping[str, Iterable[str]] | None = None
) -> Remediation:
    """The remediation; `known`: names ikefleet gave in menus without a comment field (see
    `ikefleet.diff.ownership`)."""
    return diff_config(current, parse_script(intended_script), major, known)


def diff_config(current: Config, intended: Config, major: int = 6,
                known: Mapping[str, Iterable[str]] | None = None,
                shared: dict[Any, Any] | None = None) -> Remediation:
    """`plan_changes` of an intended configuration parsed already. `shared`: the run's memo of menus alike
    on many routers (`ikefleet.diff.remediate`), for the reach's diffs of a whole fleet."""
    schema = load_schema(major)
    return remediate(current, intended, schema, owned=ownership(current, schema, known=known), shared=shared)


class PushFailed(Exception):
    """A console line of the push failed: `command` is the one RouterOS refused (or, for a drop or a timeout,
    the line's first, `more` others after it), `why` RouterOS's words or the transport's."""

    def __init__(self, command: str, why: str, refused: bool, more: int = 0) -> None:
        self.command = mask_command(command)
        self.why = why
        self.refused = refused
        self.more = more
        super().__init__(self.words())

    def words(self) -> str:
        if self.refused and self.more:
            return (f"RouterOS refused one of the {self.more + 1} commands of the console line starting "
                    f"`{self.command}`: {self.why}")
        if self.refused:
            return f"RouterOS refused `{self.command}`: {self.why}"
        also = f" (and {self.more} more command(s) on its console line)" if self.more else ""
        return f"{self.why} while `{self.command}`{also} was sent"


def _push(dev: Device, commands: list[str], post_check: Any, sent: list[int], major: int) -> None:
    """Send commands in safe-mode windows, several per console line (one round trip each: a 1,000-branch
    hub takes 5,000 commands), each after a `:put` of its place in the line so that a refusal names its
    command (`routeros.console.stepped`); raise PushFailed on the first refusal, drop or timeout. `sent[0]`
    counts the commands sent."""
    batches = [commands[i : i + SAFE_MODE_BATCH] for i in range(0, len(commands), SAFE_MODE_BATCH)]
    for number, batch in enumerate(batches, start=1):
        with dev.safe_mode_window():  # any exception in it undoes the window (Ctrl-D), never `quit`
            for line in stepped(batch, max_line(major)):
                sent[0] += len(line)
                try:
                    dev.send("; ".join(line))
                except DeviceError as exc:
                    if interrupt.MESSAGE in exc.error:  # Ctrl-C: the line was not sent
                        raise
                    at = refused_at(line, exc.output)
                    if at is None:  # the reply does not say which: the line's first, and how many
                        raise PushFailed(unstepped(line[0]), exc.error, True, len(line) - 1) from exc
                    raise PushFailed(unstepped(line[at]), exc.error, True) from exc
                except Exception as exc:  # a drop or a timeout: the command in flight is the line's
                    raise PushFailed(unstepped(line[0]), describe(exc), False, len(line) - 1) from exc
            if number == len(batches):
                try:
                    post_check()
                except DeviceError:
                    raise
                except Exception as exc:  # a drop or a timeout while the post-check reads
                    raise PushFailed(READ_CONFIG, f"{describe(exc)} in the post-check", False) from exc


def converge(
    task: Task,
    *,
    intended_script: str,
    run: RunDir | None = None,
    dry_run: bool | None = None,
    backup_password: str | None = None,
    major: int | None = None,
    known: Mapping[str, Iterable[str]] | None = None,
    config_text: str | None = None,
    settle: bool = False,
    config: Config | None = None,
) -> Result:
    """`config_text`: the router's `READ_CONFIG` reply, read in this session with nothing sent since (a
    branch's first round trip carries it); None: read it here. `config`: `config_text` parsed already by
    the caller. `settle`: another login is open, perhaps a
    killed run's session whose safe-mode changes RouterOS has yet to undo: take safe mode (and release it)
    before reading, so what is read stays, or fail the host while that session holds it. `dry_run`: None
    follows Nornir's (`InitNornir(dry_run=True)`, `task.is_dry_run`)."""
    host = task.host.name
    dry_run = task.is_dry_run(dry_run)
    found = detected(task)  # the RouterOS the router runs (read once per run), not the inventory's claim
    if major is None:
        major = found.major
    warnings = [w for w in (found.warning, identity.warning(task.host)) if w]
    dev = device(task)
    if settle:
        try:
            dev.probe_safe_mode()
        except SafeModeHeld as exc:
            message = scrub(f"{exc.error}; nothing changed here")
            outcome = Outcome(host, "failed", 0, [], message, warnings)
            return Result(host=task.host, failed=True, changed=False, result=outcome, exception=None)
        config_text = None
    if config_text is None:
        config_text, before = read_config(dev)
    else:
        before = config if config is not None else parse_script(config_text)
    remediation = plan_changes(before, intended_script, major, known)
    changes = remediation.diff()
    if run is not None:
        run.write_text(f"diffs/{host}.diff", "\n".join(changes) + ("\n" if changes else ""))
    if remediation.conflicts:  # an item ikefleet did not create is in the way: nothing is sent
        message = scrub("nothing changed: " + "; ".join(remediation.conflicts))
        outcome = Outcome(host, "failed", 0, changes, message, warnings)
        return Result(host=task.host, failed=True, changed=False, result=outcome, exception=None)
    if run is not None and remediation.commands:
        write_commands(run, host, remediation.commands)
    if not remediation.commands:
        return Result(host=task.host, changed=False, result=Outcome(host, "unchanged", warnings=warnings))
    if dry_run:
        outcome = Outcome(host, "would-change", len(remediation.commands), changes, warnings=warnings)
        return Result(host=task.host, changed=True, diff="\n".join(changes), result=outcome)

    try:
        dev.probe_safe_mode()  # another session in safe mode: stop before the backup, change nothing
    except SafeModeHeld as exc:
        outcome = Outcome(host, "failed", 0, changes, scrub(f"{exc.error}; nothing changed here"), warnings)
        return Result(host=task.host, failed=True, changed=False, result=outcome, exception=None)
    if run is not None and not (run.path / "backups" / f"{host}.rsc").is_file():
        # as found: the export read before this run's first change of the host (the hub converges again
        # to add a later wave's branches: that one is not what the run found)
        run.write_text(f"backups/{host}.rsc", config_text)
    if not backup_password:
        warnings.append(NO_BACKUP)
    else:
        try:
            back_up(dev, backup_password, run, host)
        except Exception as exc:  # nothing sent yet: the router is as it was
            why = exc.error if isinstance(exc, DeviceError) else f"{type(exc).__name__}: {exc}"
            message = scrub(f"backup failed, nothing changed: {why}")
            outcome = Outcome(host, "failed", 0, changes, message, warnings)
            return Result(host=task.host, failed=True, changed=False, result=outcome, exception=None)

    def left(now: Config) -> Remediation:
        return plan_changes(now, intended_script, major, known)

    after: list[str] = []  # the post-check's read: the configuration as the push left it (the git backup)
    sent, failure = _apply(task, dev, before, remediation.commands, left, major, after)
    if failure:
        outcome = Outcome(host, "failed", sent, changes, failure.error, warnings, failure.command,
                          failure.put_back)
        return Result(host=task.host, failed=True, changed=False, result=outcome, exception=None)
    if run is not None and after:
        run.write_text(f"backups/{host}.after.rsc", after[0])
    return Result(
        host=task.host,
        changed=True,
        diff="\n".join(changes),
        result=Outcome(host, "changed", sent, changes, warnings=warnings),
    )


def write_commands(run: RunDir, host: str, commands: list[str]) -> None:
    """`diffs/<host>.commands`: the RouterOS commands the diff turns into, in the order they are (or on a
    dry run would be) sent, secrets masked: what an operator reviews before a change window. A later
    converge of the host in the same run adds its commands after the earlier ones."""
    with run.open(f"diffs/{host}.commands", "a") as out:
        out.write("".join(scrub(c) + "\n" for c in commands))


@dataclass(frozen=True)
class Failure:
    """Why a push failed and how the router was left: `error` says it all (the Outcome's error); `command`
    is the command refused or in flight ('' when none was: a failed post-check), `put_back` the verdict of
    the re-read after the undo."""

    error: str
    command: str
    put_back: str


def _apply(task: Task, dev: Device, before: Config, commands: list[str],
           left: Callable[[Config], Remediation], major: int, after: list[str] | None = None,
           put_back_words: str = PUT_BACK) -> tuple[int, Failure | None]:
    """Push `commands` in safe mode; the post-check (re-read: `left` of it must be empty) runs before the
    last window is released, its read kept in `after`. A refusal, drop, timeout or failed post-check undoes
    the open window (Ctrl-D and the drop, never `quit`) and pushes windows already released back to
    `before`, then reads again to say whether the router is as `before` (`put_back_words` when it is);
    when another session took safe mode between two windows nothing is pushed back (that would need safe
    mode and would undo that session's work). Returns (commands sent, the failure or None)."""
    host = task.host.name

    def post_check() -> None:
        text, now = read_config(dev)
        if after is not None:
            after[:] = [text]
        rest = left(now)
        if rest.commands:
            raise DeviceError(
                host, "post-check", "configuration differs after the push: " + "; ".join(rest.diff()[:5])
            )

    sent = [0]
    start = _released(dev)
    try:
        _push(dev, commands, post_check, sent, major)
    except Exception as exc:  # refusal, drop, timeout, failed post-check: undo and report
        command = exc.command if isinstance(exc, PushFailed | DeviceError) and exc.command != "post-check" \
            else ""
        error = exc.words() if isinstance(exc, PushFailed) else exc.error if isinstance(exc, DeviceError) \
            else describe(exc)
        released = _released(dev) - start
        dev.abort()
        drop(task)
        if isinstance(exc, SafeModeHeld):
            verdict = (f"NOT put back: {released} safe-mode window(s) released before it stay: run again"
                       if released else "nothing of this push was sent")
        else:
            verdict = _restore(task, before, major, push_back=released > 0, same=put_back_words)
        return sent[0], Failure(scrub(f"{error}; {verdict}"), scrub(command), scrub(verdict))
    return sent[0], None


def put_back(
    task: Task,
    *,
    snapshot_text: str,
    intended_script: str,
    major: int | None = None,
    dry_run: bool | None = None,
) -> Result:
    """Nornir task: put the router's managed configuration back to what it was when `snapshot_text` (the
    export read before this run changed it) was read, by the path a change takes: read, diff, safe mode,
    post-check by re-read. Only what ikefleet manages moves (`managed_part`). Outcome status: changed (put
    back), unchanged (nothing to put back), would-change (`dry_run`: nothing sent) or failed (the run's
    change is still on the router). `dry_run`: None follows Nornir's (`task.is_dry_run`)."""
    host = task.host.name
    dry_run = task.is_dry_run(dry_run)
    if major is None:
        major = detected(task).major
    schema = load_schema(major)
    target = managed_part(parse_script(snapshot_text), parse_script(intended_script), schema)

    def left(now: Config) -> Remediation:
        return remediate(now, target, schema)

    dev = device(task)
    _, now = read_config(dev)
    back = left(now)
    if not back.commands:
        return Result(host=task.host, result=Outcome(host, "unchanged"))
    if dry_run:
        outcome = Outcome(host, "would-change", len(back.commands), back.diff())
        return Result(host=task.host, changed=True, diff="\n".join(back.diff()), result=outcome)
    still = "NOT put back: the change of the run it undoes is still on it (checked by re-read)"
    sent, failure = _apply(task, dev, now, back.commands, left, major, put_back_words=still)
    if failure:
        outcome = Outcome(host, "failed", sent, back.diff(), failure.error, failed_command=failure.command,
                          put_back=failure.put_back)
        return Result(host=task.host, failed=True, result=outcome, exception=None)
    return Result(host=task.host, changed=True, result=Outcome(host, "changed", sent, back.diff()))


def back_up(dev: Device, password: str, run: RunDir | None, host: str, keep: int = KEEP_BACKUPS) -> str:
    """Save an encrypted backup on the router, download it to `backups/<host>.backup` of the run (0600),
    and remove ikefleet's older backups beyond `keep`. Returns the backup's name on the router."""
    prefix = storage(dev)
    stem = f"ikefleet-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    name = f"{stem}.backup"  # RouterOS adds the extension
    dev.send(f"/system backup save name={quote(prefix + stem)} password={quote(password)}")
    with file_channel(dev) as sftp:
        if run is not None:
            with run.open(f"backups/{host}.backup", "wb") as out:
                sftp.getfo(prefix + name, out)
                size = out.tell()
            if sftp.stat(prefix + name).st_size != size:
                raise OSError(f"get {prefix}{name}: size on the router differs after the transfer")
        ours = sorted(n for n in sftp.listdir(prefix.rstrip("/") or ".") if BACKUP_NAME.match(n))
    for old in ours[: max(len(ours) - keep, 0)]:
        dev.send(f'/file remove [find where name="{prefix}{old}"]')
    return prefix + name


def _released(dev: Device) -> int:
    state = safe_mode(dev.connection)
    return state.released if state is not None else 0


def _restore(task: Task, before: Config, major: int, push_back: bool, same: str = PUT_BACK) -> str:
    """Undo windows already released: push the way back to `before`. With none released the router's own
    undo (the dropped window) left it as `before`: that is only checked, never pushed, since a difference
    is then another session's work (a second run that pushed since our read) and pushing back would undo
    it. Returns the verdict of a re-read: `same` when the router is as `before`, else what differs."""
    schema = load_schema(major)
    host = task.host.name

    def still(now: Config) -> str:
        back = restore(now, before, schema)
        return f"{len(back.commands)} item(s) differ: " + "; ".join(back.diff()[:3]) if back.commands else ""

    def check() -> None:
        _, now = read_config(dev)
        differs = still(now)
        if differs:
            raise DeviceError(host, "post-check", differs)

    try:
        dev = device(task)
        _, now = read_config(dev)
        differs = still(now)
        if differs and not push_back:
            return (f"NOT put back: after the undo {differs} (changed by another session since the read "
                    "before the push; left as they are)")
        if differs:
            _push(dev, restore(now, before, schema).commands, check, [0], major)
        return same
    except Exception as exc:
        drop(task)
        why = exc.words() if isinstance(exc, PushFailed) else exc.error if isinstance(exc, DeviceError) \
            else describe(exc)
        if isinstance(exc, DeviceError) and exc.command == "post-check":
            return f"NOT put back: {why}"
        if isinstance(exc, PushFailed):
            return f"NOT put back: pushing it back failed: {why}"
        return f"NOT known to be put back (the re-read failed: {why}): run again, or check the router"
