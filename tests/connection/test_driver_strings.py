"""The RouterOS driver's string handling (line breaks, echo, prompt) gives netmiko's own results, on every
real capture framed as a RouterOS console sends it and on random text of line breaks, prompts and echoes;
and the reply's end is found from its last line alone."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from netmiko.mikrotik.mikrotik_ssh import MikrotikRouterOsSSH

from ikefleet.connection import session
from ikefleet.connection.driver import RouterOSDriver

SAMPLES = Path("/work/shared/routeros-samples")
COMMAND = ':put "<<ikefleet:config>>"; /export terse hide-sensitive'
PROMPT = "[admin@br9] > "


def _captures() -> list[str]:
    """Every real capture (v6, v7, v7-more); the checkout's own test inputs where the corpus is absent."""
    root = SAMPLES if SAMPLES.is_dir() else Path(__file__).resolve().parent.parent / "data"
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.rglob("*.txt"))]


def _bare(cls: type[MikrotikRouterOsSSH]) -> MikrotikRouterOsSSH:
    """A driver with no session: only what its string methods use."""
    driver = cls.__new__(cls)
    driver.RETURN, driver.RESPONSE_RETURN, driver.base_prompt = "\r\n", "\n", PROMPT.strip()[:-1].strip()
    driver.global_cmd_verify = None
    return driver


OURS, NETMIKO = _bare(RouterOSDriver), _bare(MikrotikRouterOsSSH)


def _console(text: str) -> str:
    """A capture as RouterOS's console sends it: the echo repainted after `\\r`, `\\r\\n` line ends, the
    closing prompt repainted (as the lab and a real router send a reply)."""
    body = "\r\n".join(text.splitlines())
    return f"{COMMAND}\r{PROMPT}{COMMAND}\r\n{body}\r\n{PROMPT}\r{PROMPT}"


ALPHABET = ["\r", "\n", "\r\n", "\n\r", "\r\r", " ", "a", "[", "]", ">", "] > ", PROMPT, COMMAND, "\x08", "@"]


def _random_texts(count: int, seed: int = 22) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 30))) for _ in range(count)]


def test_line_breaks_are_normalised_as_netmiko_does() -> None:
    texts = [_console(t) for t in _captures()] + _random_texts(5000)
    for text in texts:
        assert OURS.normalize_linefeeds(text) == NETMIKO.normalize_linefeeds(text), repr(text[:200])


def test_echo_and_prompt_are_stripped_as_netmiko_does() -> None:
    line = COMMAND + "\r\n"
    texts = [NETMIKO.normalize_linefeeds(_console(t)) for t in _captures()]
    texts += [NETMIKO.normalize_linefeeds(t) for t in _random_texts(5000)]
    for text in texts:
        for candidate in (text, COMMAND + "\n" + text, text.lstrip()):
            ours = OURS.strip_command(line, candidate)
            assert ours == NETMIKO.strip_command(line, candidate), repr(candidate)
            assert OURS.strip_prompt(candidate) == NETMIKO.strip_prompt(candidate), repr(candidate[-200:])


def test_a_consoles_reply_comes_back_as_netmikos() -> None:
    """The whole of the batch read's string handling on each capture: the command's lines, nothing else."""
    for text in _captures():
        raw = _console(text)
        line = COMMAND + "\r\n"
        ours = OURS.strip_prompt(OURS.strip_command(line, OURS.normalize_linefeeds(raw)))
        theirs = NETMIKO.strip_prompt(NETMIKO.strip_command(line, NETMIKO.normalize_linefeeds(raw)))
        assert ours == theirs
        assert ours == "\n".join(text.splitlines()).strip()


@pytest.mark.parametrize("pattern", [session._REPLY_END, re.compile(session.PAGER)])
def test_the_reply_end_is_found_from_the_last_line_as_from_the_start(pattern: re.Pattern[str]) -> None:
    pager = "-- [Q quit|D dump|down]"
    texts = [_console(t) for t in _captures()] + _random_texts(3000)
    texts += [t + pager + tail for t in _random_texts(300, seed=7) for tail in ("", "  ", "\r\n", "x")]
    for text in texts:
        for start in {0, len(text) // 2, len(text)}:
            found = pattern.search(text, start)
            at = session.last_line_at(text, start)
            assert (pattern.search(text, at) is None) == (found is None), repr(text)
            assert found is None or found.start() >= at


def test_the_prompt_search_reads_the_last_line_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each read of a reply is searched for the prompt on its last line: a branch's 47 KB reply in one read
    was searched from its start (0.27 ms of a router's CPU)."""
    searched: list[int] = []
    real = session._REPLY_END

    class Counting:
        pattern = real.pattern

        def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
            searched.append(len(text) - pos)
            return real.search(text, pos)

    monkeypatch.setattr(session, "_REPLY_END", Counting())
    body = "".join(f"line {n} name=peer{n} value=x\n" for n in range(2000))
    reply = f"{PROMPT}{COMMAND}\n{body}{PROMPT}"

    class OneRead(MikrotikRouterOsSSH):
        def __init__(self) -> None:
            self.RETURN, self.RESPONSE_RETURN, self.base_prompt = "\r\n", "\n", "[admin@br9]"
            self._read_buffer, self.read_timeout_override, self.session_log = "", None, None
            self.global_cmd_verify, self.ansi_escape_codes, self.reply = None, True, reply

        def write_channel(self, out_data: str) -> None:
            pass

        def read_channel(self) -> str:
            out, self._read_buffer, self.reply = self._read_buffer + self.reply, "", ""
            return out

    out = session.Device("br9", OneRead()).send(COMMAND)
    assert out.splitlines()[-1] == "line 1999 name=peer1999 value=x"
    assert max(searched) <= len(PROMPT) + len(COMMAND)  # the echo line, then the prompt's line
    assert sum(searched) < len(reply) / 100
