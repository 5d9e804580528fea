"""The intended configuration's Jinja templates, compiled once per user and kept: compiling v6's four
templates costs every verify, render or rollout process ~40 ms of CPU, loading their code back ~1 ms.

Jinja's own bytecode-cache protocol: a template's entry is found by its name and file, and used only when
the source's SHA-1, Jinja's bytecode version and the Python version all match, so an edited template or
another interpreter simply compiles again. The entry's name also carries a digest of the environment's
options, which change the generated code without changing the source. Best effort, like the menu schema's
cache: an unreadable, corrupt or unwritable entry means compiling, never a failed run. Entries are
owner-only (the directory 0700, each file 0600, whatever the umask): they are code this process runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

from ikefleet import private


def cache_dir() -> Path:
    """Where compiled templates live: `$XDG_CACHE_HOME/ikefleet/templates` (`~/.cache/...` without it)."""
    return private.user_cache() / "templates"


class CompiledTemplates(BytecodeCache):
    """Compiled templates in `directory`, for an environment built with `options` (see the module)."""

    def __init__(self, directory: Path, options: dict[str, Any]) -> None:
        self.directory = directory
        settings = repr((jinja2.__version__, sorted(options.items())))
        self.tag = hashlib.sha256(settings.encode()).hexdigest()[:16]

    def _path(self, bucket: Bucket) -> Path:
        return self.directory / f"{self.tag}-{bucket.key}.jinja"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with open(self._path(bucket), "rb") as stream:
                bucket.load_bytecode(stream)  # (a stale magic or checksum resets the bucket itself)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()  # missing or damaged: compiled again, and written over

    def dump_bytecode(self, bucket: Bucket) -> None:
        path = self._path(bucket)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # a writer's own
        try:
            self.directory.parent.mkdir(parents=True, exist_ok=True)
            private.directory(self.directory)
            with private.open_file(tmp, "wb") as stream:
                bucket.write_bytecode(stream)
            os.replace(tmp, path)  # a reader sees the whole entry or none
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
