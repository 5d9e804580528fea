"""Owner-only files and directories, whatever the umask: what ikefleet writes describes routers in detail
(backups, exports, host-key pins, history), and a pin anyone can rewrite is a pin anyone can replace.

Directories are 0700 and files 0600: created so (the mode given to the kernel, which the umask can only
narrow) and set so when they already existed with wider bits (an older ikefleet, a umask-000 shell).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import IO, Any

DIR_MODE, FILE_MODE = 0o700, 0o600


def directory(path: Path) -> Path:
    """`path` (its parent must exist) created 0700, or made 0700 if it existed."""
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def open_file(path: Path, mode: str = "w") -> IO[Any]:
    """`path` opened for writing ("w", "wb", "a", "ab"), 0600 even when it existed."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def write_text(path: Path, text: str) -> Path:
    with open_file(path) as out:
        out.write(text)
    return Path(path)


def replace_text(path: Path, text: str) -> Path:
    """Write beside `path`, then rename over it: a reader never sees half a file."""
    return replace_bytes(path, text.encode())


def replace_bytes(path: Path, data: bytes) -> Path:
    """`replace_text` for bytes. The file beside is this thread's own (two threads of a process may write
    the same path at once), and is removed when the write fails."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open_file(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def user_cache(*parts: str) -> Path:
    """The user's cache directory for ikefleet (`$XDG_CACHE_HOME/ikefleet`, `~/.cache/ikefleet` without it),
    or a folder of it, created 0700 at each of ikefleet's levels: what a process may keep for the next one
    (menu schemas, compiled templates), never needed. Raises OSError when it cannot be made."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root.mkdir(parents=True, exist_ok=True)  # (the user's own XDG directory: its mode is not ours to set)
    path = directory(root / "ikefleet")
    for part in parts:
        path = directory(path / part)
    return path
