"""Which router a session reached: refuse one that is another inventory host, before the first change.

A pinned host key does not tell routers apart (one key can be copied to many), and two inventory entries can
reach one router under different spellings (a DNS alias, NAT), which validation cannot see. So every login
reads the router's `/system identity` from its prompt (`[admin@br1] > `: RouterOS shows the identity there,
so the check costs no round trip) and refuses a router whose identity is ANOTHER inventory host's name (case
ignored, as for site names). ikefleet expects each router's identity to be its inventory name; it does not
set it. An identity that names no inventory host (a factory `MikroTik`, an operator's own scheme) is
accepted with a rollout warning (`warning`): it cannot be told apart from the right router, so naming
routers as the inventory does is what makes the check complete (the lab does).
"""

from __future__ import annotations

from typing import Any

from ikefleet.connection import CONNECTION_NAME, settings
from ikefleet.connection.session import DeviceError


class OtherRouter(DeviceError):
    """The session reached the router of another inventory host: nothing may be sent to it."""


def prompt_identity(base_prompt: str, username: str | None = None) -> str:
    """`[admin@br1]` (netmiko's base prompt of RouterOS) -> `br1`."""
    inner = base_prompt.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    if username and inner.startswith(f"{username}@"):
        return inner[len(username) + 1 :]
    return inner.partition("@")[2] or inner


def check(host: Any, base_prompt: str) -> str:
    """The router's identity; OtherRouter when it is another inventory host's name (see the module). The
    inventory's names come with the `routeros` connection options (set by init_nornir)."""
    identity = prompt_identity(base_prompt, getattr(host, "username", None))
    names = settings.of(host).get(settings.INVENTORY_NAMES) or {}
    other = names.get(identity.lower())
    if other is not None and other.lower() != host.name.lower():
        raise OtherRouter(host.name, "/system identity", (
            f"the router at {host.hostname}:{host.port or 22} is {identity!r} (/system identity), which is "
            f"inventory host {other}: refusing to touch it, nothing was sent. Fix: correct {host.name}'s "
            f"hostname/port in the inventory; if this router really is {host.name}, set its identity "
            f"(/system identity set name={host.name})"))
    return identity


def warning(host: Any) -> str:
    """Operator words when the login of the host's open session read an identity other than the host's name
    ('' when it is the name, or when no session is open): such a router passes the check without being told
    apart."""
    session = (getattr(host, "connections", None) or {}).get(CONNECTION_NAME)
    identity = getattr(session, "identity", None)
    if identity is None or identity.lower() == host.name.lower():
        return ""
    return (f"{host.name}: the router's identity is {identity!r}, not {host.name}: ikefleet cannot tell it "
            f"from another host's router; set /system identity name={host.name}")
