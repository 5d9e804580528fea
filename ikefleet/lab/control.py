"""The running lab's control socket: one JSON object per line in, one per line out (`PATH/control.sock`)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

SOCKET_NAME = "control.sock"


class ControlError(Exception):
    """The lab is not running, or it refused the request (message from the lab)."""


def socket_path(lab_dir: Path) -> Path:
    return Path(lab_dir) / SOCKET_NAME


def request(lab_dir: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send one request to the lab serving `lab_dir` and return its answer (raises ControlError)."""
    path = socket_path(lab_dir)
    if not path.exists():
        raise ControlError(f"no lab running in {lab_dir}")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(connectable(path))
            sock.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise ControlError(f"no lab running in {lab_dir} ({exc.strerror or exc})") from exc
    if not data:
        raise ControlError("the lab closed the control connection")
    answer = json.loads(data)
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "request failed")))
    return answer


def connectable(path: Path) -> str:
    """AF_UNIX paths are limited to ~107 bytes: fall back to a path relative to the current directory."""
    text = str(path)
    if len(text.encode()) < 100:
        return text
    import os

    return os.path.relpath(text)
