"""Safe mode of a lab console (Ctrl-X) and its hijack by a second session.

At most one session of a router holds safe mode. Its undo journal is a snapshot of the whole configuration
taken with safe mode: a dropped session puts it back (RouterOS undoes safe-mode changes on a dropped session
or Ctrl-D), releasing or quitting keeps the changes. Menu handlers therefore need no undo bookkeeping.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ikefleet.routeros.config import Config

from .router import Router

# Ctrl-X while another session holds safe mode; RouterOS then waits for u, r or d. Wording from the MikroTik
# manual (wiki Manual:Console, "Safe Mode"), which prints "someone", not a user name.
HIJACK_PROMPT = "Hijacking Safe Mode from someone - unroll/release/don't take it [u/r/d]: "


@runtime_checkable
class Holder(Protocol):
    """A console session's safe-mode state (the engine's `Session`)."""

    router: Router
    safe_mode: bool
    hijacking: bool  # Ctrl-X asked HIJACK_PROMPT: the next key answers it
    notices: list[str]  # lines the console shows before its next prompt
    safe_mode_snapshot: dict[str, Any] | None  # the configuration when safe mode was taken


def holder_of(router: Router) -> Holder | None:
    """The session now holding the router's safe mode, if any."""
    holder = router.safe_mode_holder
    return holder if isinstance(holder, Holder) else None


def toggle(session: Holder) -> str:
    """Ctrl-X. While another session holds safe mode the answer is HIJACK_PROMPT and the console waits
    for one key, given to `answer_hijack`."""
    if session.safe_mode:
        give_up(session)
        return "[Safe Mode released]"
    holder = holder_of(session.router)
    if holder is not None and holder is not session and holder.safe_mode:
        session.hijacking = True
        return HIJACK_PROMPT
    take(session)
    return "[Safe Mode taken]"


def answer_hijack(session: Holder, key: str) -> str | None:
    """The key typed at HIJACK_PROMPT. Verified (MikroTik manual, wiki Manual:Console, "Safe Mode"): `u`
    undoes the holder's changes and takes safe mode, `r` keeps them and takes it and the holder is told
    "[Safe mode released by another user]", `d` does not take it. Assumed: after `r` the holder's changes
    are released (a later drop of this session does not undo them), the holder is told the same after
    `u`, the key is echoed before the answer, other keys are ignored while RouterOS keeps asking."""
    key = key.lower()
    holder = holder_of(session.router)
    if key not in ("u", "r", "d"):
        return None
    session.hijacking = False
    if key == "d" or holder is None:
        return ""
    if key == "u":
        close(holder, dropped=True)
    give_up(holder)
    holder.notices.append("[Safe mode released by another user]")
    take(session)
    return "[Safe Mode taken]"


def take(session: Holder) -> None:
    session.safe_mode = True
    session.safe_mode_snapshot = session.router.config.to_json()
    session.router.safe_mode_holder = session


def give_up(session: Holder) -> None:
    """Leave safe mode keeping the changes."""
    session.safe_mode = False
    session.safe_mode_snapshot = None
    if session.router.safe_mode_holder is session:
        session.router.safe_mode_holder = None


def close(session: Holder, dropped: bool) -> None:
    """The session ends; a drop in safe mode puts back the configuration safe mode was taken on."""
    if dropped and session.safe_mode and session.safe_mode_snapshot is not None:
        session.router.config = Config.from_json(session.safe_mode_snapshot)
        session.router.changed()
    give_up(session)
