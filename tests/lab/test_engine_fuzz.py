"""Whatever is typed, `Session.execute` answers with text and never raises."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikefleet.lab.engine import Session
from ikefleet.lab.factory import initial_config
from ikefleet.lab.router import Router, RouterSpec

FRAGMENTS = [
    "/", "..", "/ip", "ipsec", "proposal", "peer", "policy", "group", "/interface", "eoip", "bridge",
    "/routing", "ospf", "interface", "network", "/system", "identity", "backup", "/certificate", "/file",
    "add", "set", "remove", "print", "export", "find", "get", "enable", "disable", "move", "comment",
    "unset", "edit", "detail", "terse", "where", "count-only", "as-value", "without-paging", "and", "or",
    "!", "(", ")", "name=x", "name=$v", 'name="a b"', "[find]", "[find where name=x]", "[ find default=yes ]",
    "0", "1", "*1", "99", "lifetime=00:30:00", "pfs-group=modp", "disabled=yes", "copy-from=0",
    "place-before=0", "once", "do={}", "do={:put x}", ":global", ":local", ":put", ":delay", "v", "$v",
    '"', "[", "]", "{", "}", ";", "=", "~", "address=10.0.0.1/24", "interface=ether1", "default=yes",
    "hide-sensitive", "verbose", "file=f", "password=p", "save", "run", "sign", "ca=$v", "\\", "$",
]  # fmt: skip


def make_session() -> Session:
    directory = Path(tempfile.mkdtemp(prefix="ikefleet-fuzz-"))
    spec = RouterSpec("F1", "initiator", "127.0.0.1", 1, "admin", "pw", "192.0.2.10/24", "10.9.0.0/24")
    session = Session(Router(spec, directory, config=initial_config(spec)), "admin")
    session.max_delay_s = 0
    return session


SESSION = make_session()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_random_printable_lines_never_raise(line: str) -> None:
    out = SESSION.execute(line)
    assert isinstance(out, str)
    assert "Traceback" not in out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8), st.sampled_from([" ", "", " "]))
def test_lines_from_command_fragments_never_raise(words: list[str], glue: str) -> None:
    out = SESSION.execute(glue.join(words) if glue else " ".join(words))
    assert isinstance(out, str)
    assert "failure: internal error" not in out, " ".join(words)
    assert isinstance(SESSION.prompt, str)
