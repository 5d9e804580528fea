"""Whole-process `ikefleet verify` of a standing lab in instructions (callgrind), for checkouts in turn.

On a shared VM whose speed swings within minutes, wall and CPU figures of a whole process move by 10-20 %
for the same code; the client's instruction count moves by less than 0.1 %. Each run is
`ikefleet verify --quiet --no-history` under `valgrind --tool=callgrind` (about 40x slower), against a copy
of CONFIG whose connection timeouts are raised so that no login times out at that speed; the lab is
another process, so its instructions are not in the count. Prints the total and its split by library
(GMP: the key exchange's modular powers; OpenSSL; the interpreter; the rest).

    .venv/bin/python bench/verify_instructions.py CONFIG CHECKOUT [CHECKOUT ...]

Each CHECKOUT has its own .venv (`ikefleet` installed from it).
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SLOW_CONNECT = {"conn_timeout": 300, "auth_timeout": 300, "banner_timeout": 300, "command_timeout": 600,
                "attempts": 1}
LIBRARIES = (("libgmp", "GMP"), ("libcrypto", "OpenSSL"), ("_rust", "OpenSSL"), ("libpython", "interpreter"),
             ("libc.so", "libc"))
_TOTAL = re.compile(r"Collected : (\d+)")
_LINE = re.compile(r"^\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$")


def slow_config(config: Path) -> Path:
    """CONFIG with the connection timeouts raised, beside it (its relative paths stay right)."""
    from ruamel.yaml import YAML

    from ikefleet import private

    yaml = YAML(typ="safe")
    data = yaml.load(config.read_text())
    data.setdefault("ikefleet", {})["connect"] = {**(data["ikefleet"].get("connect") or {}), **SLOW_CONNECT}
    copy = config.with_name(config.stem + "_callgrind.yaml")
    with private.open_file(copy) as out:  # (owner-only: it names the secrets file)
        yaml.dump(data, out)
    return copy


def count(checkout: Path, config: Path) -> tuple[int, dict[str, int]]:
    """The process's instructions and their split by library."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             str(checkout / ".venv" / "bin" / "ikefleet"), "verify", "-c", str(config), "--quiet",
             "--no-history"],
            cwd=checkout, env={**os.environ, "PYTHONHASHSEED": "0"}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{checkout}: verify exited {done.returncode}: {done.stderr[-800:]}")
        total = int(_TOTAL.findall(done.stderr)[-1])
        annotated = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", str(out)],
                                   capture_output=True, text=True, check=True).stdout
    split: dict[str, int] = collections.Counter()
    for line in annotated.splitlines():
        match = _LINE.match(line)
        if match is None or "PROGRAM TOTALS" in line:
            continue
        where = next((name for key, name in LIBRARIES if key in match[2]), "other")
        split[where] += int(match[1].replace(",", ""))
    return total, dict(split)


def main(config: Path, checkouts: list[Path]) -> None:
    slow = slow_config(config)
    try:
        for checkout in checkouts:
            total, split = count(checkout, slow)
            shares = sorted(split.items(), key=lambda kv: -kv[1])
            parts = ", ".join(f"{name} {n / total:.1%}" for name, n in shares)
            print(f"{checkout}: {total / 1e9:.3f} G instructions ({parts})", flush=True)
    finally:
        slow.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
