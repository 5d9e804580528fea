"""Console text to clean lines: line endings, terminal repaints, pager, prompts and the echoed command."""

from __future__ import annotations

import re

# "\x1b[9999B", "\x1b[K", "\x1b[?25h": terminal control sequences of a live session
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>Z]")
# "-- [Q quit|D dump|down]" / "-- [Q quit|D dump|C-z pause|down]": the pager line
_PAGER_RE = re.compile(r"-- \[Q quit\|[^\]]*\]")
# "[admin@PE1] > interface print", "[admin@R1] /ip/route> print", "[admin@A1M] > ", "> ip ipsec ... print"
_PROMPT_RE = re.compile(r"^\s*(?:\[[^\]\n]*@[^\]\n]*\][^>\n]*>|>(?:\s|$))")
# "routing ospf neighbor print detail", "/ip/route/print", "ip ipsec/active-peers/print", ":put [...]"
_ECHO_RE = re.compile(
    r"^\s*(?::[a-z]+\b.*|/?(?:[a-z][\w-]*[ /]+)*(?:print|pr|p|get|run|export)\b[^=]*(?:where\b.*)?)$"
)


def clean_lines(text: str) -> list[str]:
    """Lines of router output with prompts, the echoed command, pager markers and repaints removed.

    Trailing spaces go; leading spaces stay (tables and detail continuation lines depend on them).
    """
    text = text.lstrip("\ufeff")
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw
        if "\r" in line:
            # a carriage return repaints the line: what follows the last one is what the terminal shows
            parts = [p for p in line.split("\r") if p.strip()]
            line = parts[-1] if parts else ""
        if "\x1b" in line:
            line = _ANSI_RE.sub("", line)
        if "-- [" in line:
            line = _PAGER_RE.sub("", line)
        line = line.rstrip()
        if ("@" in line or ">" in line) and _PROMPT_RE.match(line):
            continue
        lines.append(line)
    # the command echoed without a prompt (a saved session or a note) precedes everything else
    for i, line in enumerate(lines):
        if line.strip():
            if _ECHO_RE.match(line) and "=" not in line.split(" where ", 1)[0]:
                del lines[i]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def cut_at_width(lines: list[str]) -> bool:
    """True when v7 cut lines at the terminal width, marking each with a final ">": their values are lost.

    Seen as lines of one length (at least 79 columns) ending in a non-space followed by ">".
    """
    widths = {len(line) for line in lines if len(line) >= 79 and line.endswith(">") and line[-2:-1] != " "}
    return len(widths) == 1
