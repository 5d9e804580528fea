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
import pickle
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

from ikefleet import private


class CompiledTemplates(BytecodeCache):
    """Compiled templates, for an environment built with `options` (see the module)."""

    def __init__(self, options: dict[str, Any]) -> None:
        settings = repr((jinja2.__version__, sorted(options.items())))
        self.tag = hashlib.sha256(settings.encode()).hexdigest()[:16]

    def _path(self, bucket: Bucket) -> Path:
        """The entry's file in `$XDG_CACHE_HOME/ikefleet/templates` (made 0700 when missing)."""
        return private.user_cache("templates") / f"{self.tag}-{bucket.key}.jinja"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with open(self._path(bucket), "rb") as stream:
                bucket.load_bytecode(stream)  # (a stale magic or checksum resets the bucket itself)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()  # missing or damaged: compiled again, and written over

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):  # (best effort: the next process compiles again)
            private.replace_bytes(self._path(bucket), bucket.bytecode_to_string())
