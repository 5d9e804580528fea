"""The RouterOS console line: how long one may be, how commands share one, and how their replies are told
apart. Push (`tasks/converge.py`) and reads (`tasks/version.py`, `tasks/gather.py`) both batch commands into
few lines to save round trips; what a console accepts is RouterOS knowledge, so it lives here, not on either
side.
"""

from __future__ import annotations

import re

# The run's RouterOS version read: made by the login (connection/driver.py), before the batch (the dialect).
VERSION_COMMAND = "/system resource print"

# RouterOS 7 scrolls a console line longer than the terminal sideways, so its echo never holds the whole
# command and netmiko gives up on it (see ikefleet/lab/sshd.py, netmiko #3285). netmiko logs in 511 columns
# wide; v7 lines stay under MAX_V7_LINE (room for a 60-character prompt). v6 takes long lines (the verify
# batch is one); pushed lines stay under MAX_V6_LINE all the same.
MAX_V7_LINE = 450
MAX_V6_LINE = 1000


def max_line(major: int) -> int:
    return MAX_V7_LINE if major >= 7 else MAX_V6_LINE


def pack(commands: list[str], limit: int) -> list[list[str]]:
    """Commands grouped into console lines (`; ` between) of at most `limit` characters, in order. RouterOS
    runs a line's commands one by one until one fails (MikroTik scripting manual), so a refused command
    leaves the ones after it unsent, as one command per line did; a longer command has a line of its own."""
    lines: list[list[str]] = []
    length = 0
    for command in commands:
        if lines and length + 2 + len(command) <= limit:
            lines[-1].append(command)
            length += 2 + len(command)
        else:
            lines.append([command])
            length = len(command)
    return lines


def pack_reads(reads: list[str], limit: int) -> list[list[str]]:
    """Reads grouped into console lines of at most `limit` characters, as few as either of two ways finds:
    longest first into the first line with room (first-fit decreasing), or in order (`pack`). Unlike a
    push's commands, reads change nothing, so their order is free: a refused one leaves the reads after it
    on its line unread, and the caller reads each on its own then (`tasks/gather.py`)."""
    lines: list[list[str]] = []
    room: list[int] = []
    for read in sorted(reads, key=len, reverse=True):
        at = next((at for at, free in enumerate(room) if 2 + len(read) <= free), None)
        if at is None:
            lines.append([read])
            room.append(limit - len(read))
        else:
            lines[at].append(read)
            room[at] -= 2 + len(read)
    in_order = pack(reads, limit)
    return in_order if len(in_order) < len(lines) else lines


MARKER = "<<ikefleet:{}>>"
_MARKER_RE = re.compile(r"^<<ikefleet:([a-z_]+)>>\s*$", re.MULTILINE)


def marked(section: str, command: str) -> str:
    """`command` after its section marker: joined with `; ` into one console line, the reads come back in
    one round trip and `split_sections` cuts the reply apart again."""
    return f':put "{MARKER.format(section)}"; {command}'


def split_sections(output: str) -> dict[str, str]:
    """The batch reply cut at its markers: section -> that command's output."""
    parts: dict[str, str] = {}
    matches = list(_MARKER_RE.finditer(output))
    for at, m in enumerate(matches):
        end = matches[at + 1].start() if at + 1 < len(matches) else len(output)
        parts[m[1]] = output[m.end() : end].strip("\r\n")
    return parts


_STEP = re.compile(r"^#(\d+)\s*$", re.MULTILINE)
_COLUMN = re.compile(r"\(line 1 column (\d+)\)")


def stepped(commands: list[str], limit: int) -> list[list[str]]:
    """Commands packed into console lines as `pack` does, each after a `:put` of its place in the line:
    RouterOS prints nothing for an add, set or remove that works and runs a line's commands in order, so the
    last place printed before an error names the command it refused (`refused_at`). The first is marked too:
    a reply that prints no place then says nothing, rather than naming the first command. (`#`: a reply line
    that is only `#<n>` cannot be a piece of the line's echo, where a quote follows it.)"""
    lines: list[list[str]] = []
    length = 0
    for command in commands:
        if lines:
            item = f':put "#{len(lines[-1])}"; {command}'
            if length + 2 + len(item) <= limit:
                lines[-1].append(item)
                length += 2 + len(item)
                continue
        item = f':put "#0"; {command}'
        lines.append([item])
        length = len(item)
    return lines


def unstepped(item: str) -> str:
    """The command of an item of a `stepped` line."""
    return re.sub(r'^:put "#\d+"; ', "", item)


def refused_at(line: list[str], output: str) -> int | None:
    """The place in `line` (a `stepped` line) of the command the error in `output` is about: the column of a
    parse error (RouterOS then runs none of the line), else the last place printed. None when the reply
    says neither (or its column points nowhere in the line)."""
    column = _COLUMN.search(output)
    if column:
        at = int(column[1]) - 1  # 1-based, counted over the line as sent ("; " between commands)
        for place, item in enumerate(line):
            if at < len(item):
                return place
            at -= len(item) + 2
        return None
    printed = _STEP.findall(output)
    return int(printed[-1]) if printed else None
