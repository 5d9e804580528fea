"""Benchmark: a hub's `/ip ipsec installed-sa print detail` with 2,000 SAs (goal: well under 100 ms).

Run: .venv/bin/python bench/parse_bench.py
"""

from __future__ import annotations

import statistics
import time

from ikefleet.parsers import parse_installed_sa

KEY = "0123456789abcdef" * 4


def hub_output(count: int = 2000) -> str:
    """v6 detail layout at 80 columns, keys wrapped mid-value, as the hub prints it."""
    lines = ["Flags: H - hw-aead, A - AH, E - ESP"]
    for i in range(count):
        branch = f"198.51.100.{i % 250 + 1}"
        src, dst = ("203.0.113.1", branch) if i % 2 else (branch, "203.0.113.1")
        lines += [
            f"{i:>2}  E spi=0x{0x10000000 + i:08X} src-address={src}:4500 dst-address={dst}:4500",
            "      state=mature auth-algorithm=sha256 enc-algorithm=aes-cbc enc-key-size=256",
            f'      auth-key="{KEY}"',
            f'      enc-key="{KEY[:50]}',
            f'      {KEY[50:]}" addtime=nov/27/2026 00:40:46 expires-in=7h38m19s',
            f"      add-lifetime=24m/30m current-bytes={i * 1500} current-packets={i} replay=128",
            "",
        ]
    return "\r\n".join(lines) + "\r\n"


def main() -> None:
    text = hub_output()
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        records = parse_installed_sa(text)
        runs.append(time.perf_counter() - start)
    assert len(records) == 2000
    print(
        f"installed-sa print detail, 2000 SAs ({len(text) // 1024} KiB): "
        f"median {statistics.median(runs) * 1000:.1f} ms, best {min(runs) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
