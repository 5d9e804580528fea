"""Router configurations in git: one file per router (`<host>.rsc`, its `/export terse hide-sensitive`).

A bare repository written with git's plumbing (no work tree, so no export ever lies on disk outside git's
object store), one commit per backup or run, naming it and the routers whose configuration changed. Every
text is scrubbed of known secrets before it is hashed, and the repository is owner-only whatever the umask
(`core.sharedRepository=0600`). A remote, when set, is pushed after each commit.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ikefleet.redact import scrub

BRANCH = "refs/heads/main"
DEFAULT_PATH = ".ikefleet/backups.git"  # relative to config.yaml's folder
_IDENTITY = ("-c", "user.name=ikefleet", "-c", "user.email=ikefleet@localhost")
_HOST_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RepoError(RuntimeError):
    """git failed: the message says which command and what git said."""


@dataclass(frozen=True)
class RepoSettings:
    """`ikefleet: backups:` in config.yaml: `repository` (a path, relative to config.yaml) and `remote`."""

    path: Path
    remote: str | None = None

    @classmethod
    def from_config(cls, config_path: Path, section: Mapping[str, Any] | None) -> RepoSettings:
        section = section or {}
        unknown = sorted(set(section) - {"repository", "remote"})
        if unknown:
            raise RepoError(
                f"{config_path}: ikefleet.backups.{unknown[0]}: unknown key (known: repository, remote)"
            )
        raw = section.get("repository") or DEFAULT_PATH
        remote = section.get("remote")
        if remote is not None and not isinstance(remote, str):
            raise RepoError(f"{config_path}: ikefleet.backups.remote: expected a git URL or path (a string)")
        return cls(config_path.parent / Path(str(raw)).expanduser(), remote)


@dataclass(frozen=True)
class Commit:
    rev: str
    changed: tuple[str, ...]  # routers whose file differs from the parent commit


class ConfigRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        if not (path / "HEAD").exists():
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(path, 0o700)
            self._git("init", "--quiet", "--bare", "--shared=0600", "--initial-branch=main", str(path),
                      bare=False)

    def _git(self, *args: str, bare: bool = True, env: Mapping[str, str] | None = None,
             stdin: str | None = None) -> str:
        cmd = ["git", *_IDENTITY, *(("--git-dir", str(self.path)) if bare else ()), *args]
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                              env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})})
        if done.returncode != 0:
            raise RepoError(f"git {args[0]}: {scrub(done.stderr.strip() or done.stdout.strip())}")
        return done.stdout

    def head(self) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", BRANCH).strip() or None
        except RepoError:
            return None

    def commit(
        self, files: Mapping[str, str], title: str, body: str = "", remote: str | None = None
    ) -> Commit | None:
        """Commit `files` (host -> export text) over the tree of the last commit, the message `title: <the
        routers that changed>` and `body`; None when none of them changed. Texts are scrubbed of registered
        secrets first."""
        for host in files:
            if not _HOST_FILE.match(host):
                raise RepoError(f"{host!r}: not a router name ikefleet writes to the repository")
        parent = self.head()
        with tempfile.TemporaryDirectory(prefix="ikefleet-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self._git("read-tree", parent, env=env)
            changed = []
            for host, text in sorted(files.items()):
                blob = self._git("hash-object", "-w", "--stdin", stdin=_normalised(scrub(text))).strip()
                name = f"{host}.rsc"
                if parent is None or self._blob_at(parent, name) != blob:
                    changed.append(host)
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
            if parent is not None and not changed:
                return None
            tree = self._git("write-tree", env=env).strip()
        args = ["commit-tree", tree, "-F", "-"] + (["-p", parent] if parent else [])
        rev = self._git(*args, stdin=message(title, changed, body)).strip()
        self._git("update-ref", BRANCH, rev, *([parent] if parent else []))
        if remote:
            self._git("push", "--quiet", remote, f"{BRANCH}:{BRANCH}")
        return Commit(rev, tuple(changed))

    def _blob_at(self, rev: str, name: str) -> str | None:
        out = self._git("ls-tree", rev, "--", name).split()
        return out[2] if len(out) >= 3 else None

    def show(self, host: str, rev: str = BRANCH) -> str:
        """The export of `host` as committed at `rev` (a commit, a branch, `main~2`...)."""
        return self._git("show", f"{rev}:{host}.rsc")

    def log(self, host: str | None = None, limit: int = 50) -> list[tuple[str, str]]:
        """(commit, subject) newest first, of the commits that changed `host` (or any router)."""
        if self.head() is None:
            return []
        args = ["log", f"-{limit}", "--format=%H %s", BRANCH]
        if host:
            args += ["--", f"{host}.rsc"]
        return [tuple(line.split(" ", 1)) for line in self._git(*args).splitlines()]  # type: ignore[misc]


# The export's first line: `# jan/05/2026 09:03:07 by RouterOS 6.49.19` (v6), `# 2026-01-05 09:03:07 by`
# (v7.10 on).
_EXPORT_STAMP = re.compile(
    r"^# (?:\w{3}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2} (by RouterOS)", re.M
)


def _normalised(text: str) -> str:
    """One line ending, one newline at the end, no export time stamp: a router's CRLF reply and a saved file
    commit the same, and an unchanged router makes no commit."""
    text = _EXPORT_STAMP.sub(r"# \1", text.replace("\r\n", "\n"), count=1)
    return text.rstrip("\n") + "\n"


def message(title: str, changed: list[str], body: str = "") -> str:
    """`title` then the routers that changed, the way `git log --oneline` shows it best."""
    names = ", ".join(changed) if changed else "no router changed"
    return f"{scrub(title)}: {names}\n" + (f"\n{scrub(body).strip()}\n" if body.strip() else "")
