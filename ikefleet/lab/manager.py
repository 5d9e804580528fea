"""A lab: one asyncio loop serving every router of a lab directory, persistence, faults and control socket.

In-process (tests): `with Lab.start(tmp_path, branches=3) as lab: ...` runs the loop in one background
thread. As a service (`ikefleet lab up`): `python -m ikefleet.lab.manager serve PATH` runs the same `Lab`
until `lab down` asks it to stop over the control socket.

Layout of PATH: `lab.json` (plan: address octet, credentials, ports), `ssh_host_rsa_key`,
`routers/<name>/config.json` + `files/`, `inventory/*.yaml`, `config.yaml`, `secrets.yaml`, `control.sock`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import random
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, fields, replace
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from ikefleet import gc_policy
from ikefleet.routeros.config import Config

from . import control
from .clock import LabClock, check_time_scale
from .inventory_writer import write_inventory
from .router import Faults, Router, RouterSpec
from .sshd import (
    ConsoleQuirks,
    Handshakes,
    RouterServer,
    SessionFactory,
    engine_session_factory,
    has_flash,
    host_key,
)

log = logging.getLogger(__name__)

DEFAULT_VERSION = "6.49.2"
DEFAULT_MODEL = "CCR1009-7G-1C-1S+"
DEFAULT_USERNAME = "admin"
BACKENDS = ("model", "netns")  # netns: real strongSwan + FRR per router (docs/netns-backend.md), root only

# --- address plan (README "The built-in lab") -------------------------------------------------------------

HUB_WAN = "203.0.113.1/24"
BRANCH_WAN_NETWORKS = ("198.51.100.0/24", "192.0.2.0/24", "203.0.113.0/24")  # hosts .2-.254 in this order
# Past the 759 branches the documentation ranges hold, the RFC 2544 benchmarking range 198.18.0.0/15
# (never routed on the Internet either), cut into /24s used the same way: big labs for bench/run.py.
BENCHMARK_WAN_RANGE = "198.18.0.0/15"
DOCUMENTATION_BRANCHES = 253 * len(BRANCH_WAN_NETWORKS)
MAX_BRANCHES = 10_000  # what one lab process is meant to serve; addresses (WAN, LAN, management) go further


def router_name(index: int) -> str:
    return "hub" if index == 0 else f"br{index}"


def management_host(lab_octet: int, index: int) -> str:
    """127.<lab_octet>.<index // 254>.<index % 254 + 1>: one /16 of 127.0.0.0/8 per lab, never 127.0.0.1."""
    if not 2 <= lab_octet <= 254:
        raise ValueError(f"lab octet {lab_octet} outside 2..254")
    return f"127.{lab_octet}.{index // 254}.{index % 254 + 1}"


def wan_address(index: int) -> str:
    if index == 0:
        return HUB_WAN
    if index > MAX_BRANCHES:
        raise ValueError(f"a lab holds at most {MAX_BRANCHES} branches")
    slot = index - 1
    if slot < DOCUMENTATION_BRANCHES:
        base = IPv4Network(BRANCH_WAN_NETWORKS[slot // 253]).network_address
    else:  # the benchmarking range's /24s in order: 198.18.0.0/24, 198.18.1.0/24, ...
        slot -= DOCUMENTATION_BRANCHES
        base = IPv4Network(BENCHMARK_WAN_RANGE).network_address + (slot // 253) * 256
    return f"{base + slot % 253 + 2}/24"


def lan_prefix(index: int) -> str:
    """Hub 192.168.1.0/24, branch k 192.168.(k+1).0/24 to k=253, then 10.(128 + m // 256).(m % 256).0/24."""
    if index <= 253:
        return f"192.168.{index + 1}.0/24"
    m = index - 254
    return f"10.{128 + m // 256}.{m % 256}.0/24"


@dataclass
class LabPlan:
    """What `lab.json` keeps so a lab comes back identical: addresses, credentials, ports, versions."""

    lab_octet: int
    username: str
    password: str
    branches: int
    version: str = DEFAULT_VERSION
    model: str = DEFAULT_MODEL
    ports: dict[str, int] | None = None
    upgraded: dict[str, str] | None = None  # router -> version after `lab upgrade` (overrides `version`)
    backend: str = "model"  # "netns": IPsec/EoIP/OSPF state from strongSwan + FRR (ikefleet/lab/netns)

    @classmethod
    def new(cls, branches: int, version: str, model: str) -> LabPlan:
        return cls(
            lab_octet=random.randint(16, 250),
            username=DEFAULT_USERNAME,
            password=secrets.token_urlsafe(18),
            branches=branches,
            version=version,
            model=model,
            ports={},
        )

    def router_version(self, index: int) -> str:
        """`version` may list several ("7.16.1,6.49.2", a mixed fleet): router `index` takes them in turn,
        so the hub runs the first and the branches alternate."""
        versions = [v.strip() for v in self.version.split(",") if v.strip()]
        return versions[index % len(versions)]

    def specs(self) -> list[RouterSpec]:
        ports = self.ports or {}
        return [
            RouterSpec(
                name=router_name(i),
                role="responder" if i == 0 else "initiator",
                host=management_host(self.lab_octet, i),
                port=ports.get(router_name(i), 0),
                username=self.username,
                password=self.password,
                wan_address=wan_address(i),
                lan_prefix=lan_prefix(i),
                version=(self.upgraded or {}).get(router_name(i)) or self.router_version(i),
                model=self.model,
            )
            for i in range(self.branches + 1)
        ]


def _load_plan(path: Path) -> LabPlan | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    known = {f.name for f in fields(LabPlan)}
    return LabPlan(**{k: v for k, v in data.items() if k in known})


def _save_plan(path: Path, plan: LabPlan) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(plan), fh, indent=1)
    os.replace(tmp, path)


# --- faults ----------------------------------------------------------------------------------------------

# CLI fault name -> (Faults field, value type); bool faults take no value.
FAULTS: dict[str, tuple[str, type]] = {
    "refuse": ("refuse", bool),
    "reset-next": ("reset_next", int),
    "bad-password": ("bad_password", bool),
    "latency": ("latency_ms", int),
    "login-delay": ("login_delay_ms", int),
    "drop-after": ("drop_after", int),
    "fail-command": ("fail_command", str),
    "wan-down": ("wan_down", bool),
    "clock-offset": ("clock_offset_s", int),
    "mtu": ("mtu", int),
    "ike-drop": ("ike_drop", bool),
    "bfd-drop": ("bfd_drop", bool),
}


def active_faults(faults: Faults) -> dict[str, Any]:
    """The faults switched on, by CLI name (for status output)."""
    default = Faults()
    out: dict[str, Any] = {}
    for name, (attr, _) in FAULTS.items():
        value = getattr(faults, attr)
        if value != getattr(default, attr):
            out[name] = value
    if faults.fail_command and faults.fail_error != default.fail_error:
        out["fail-error"] = faults.fail_error
    return out


def apply_fault(faults: Faults, name: str, value: Any = None, error: str | None = None) -> Faults:
    """A copy of `faults` with fault `name` set (`value` None for on/off faults means on)."""
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    attr, kind = FAULTS[name]
    if kind is bool:
        parsed: Any = True if value is None else str(value).lower() not in ("0", "no", "false", "off")
    elif value is None:
        raise ValueError(f"fault {name} needs a value")
    elif kind is int:
        parsed = int(value)
    else:
        parsed = str(value)
    changes: dict[str, Any] = {attr: parsed}
    if name == "fail-command" and error:
        changes["fail_error"] = error
    return replace(faults, **changes)


# --- the lab ---------------------------------------------------------------------------------------------


def _initial_config(spec: RouterSpec) -> Config:
    """The factory state of a router ("initial setup done"), from the console engineer's factory module."""
    try:
        factory = importlib.import_module("ikefleet.lab.factory")
    except ModuleNotFoundError:
        return Config()
    return factory.initial_config(spec)


def _fabric() -> Any | None:
    try:
        return importlib.import_module("ikefleet.lab.fabric")
    except ModuleNotFoundError:
        return None


def _fabric_recompute() -> Callable[..., Any] | None:
    """`fabric.recompute(routers, now)`: the one call that derives every router's dynamic state."""
    return getattr(_fabric(), "recompute", None)


def _fabric_refresh() -> Callable[[Router, str], None] | None:
    """`fabric.refresh(router, now, path)` as `Router.refresh_state`: time-driven fields (and, for a route
    print, the routing table) current before a print or find."""
    refresh = getattr(_fabric(), "refresh", None)
    if refresh is None:
        return None
    return lambda router, path: refresh(router, router.clock.now(), path)


class Lab:
    """A running lab. Create with `Lab.start(...)`; stop with `stop()` or by leaving the `with` block."""

    def __init__(
        self,
        directory: Path,
        plan: LabPlan,
        *,
        session_factory: SessionFactory = engine_session_factory,
        quirks: ConsoleQuirks | None = None,
        convergence_delay: float = 0.2,
        clock: LabClock | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.clock = clock or LabClock()
        self.plan = plan
        self.session_factory = session_factory
        self.quirks = quirks or ConsoleQuirks()
        self.convergence_delay = convergence_delay
        self.routers: dict[str, Router] = {}
        self.servers: dict[str, RouterServer] = {}
        self.handshakes = Handshakes()  # SSH handshakes in flight across the lab (tests read the peak)
        self.branch_ids: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._dirty: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._control: asyncio.AbstractServer | None = None
        self.stopped = threading.Event()
        self._recompute = _fabric_recompute()
        self._netns: Any = None  # ikefleet.lab.netns.backend.NetnsBackend when plan.backend == "netns"
        self._refresh = _fabric_refresh()

    # -- lifecycle --------------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        directory: str | Path,
        branches: int | None = None,
        *,
        version: str = DEFAULT_VERSION,
        model: str | None = None,
        session_factory: SessionFactory = engine_session_factory,
        quirks: ConsoleQuirks | None = None,
        convergence_delay: float = 0.2,
        control_socket: bool = True,
        backend: str | None = None,
        clock: LabClock | None = None,
        time_scale: float | None = None,
    ) -> Lab:
        """Start (or restart) the lab in `directory`: same addresses, credentials, keys and configs.
        `time_scale`: key generation takes this fraction of a real router's time (`keygen_timing.yaml`);
        None keeps the clock's (IKEFLEET_LAB_TIME_SCALE, else 1)."""
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        plan_path = directory / "lab.json"
        plan = _load_plan(plan_path)
        if plan is None:
            plan = LabPlan.new(3 if branches is None else branches, version, model or DEFAULT_MODEL)
        else:
            if branches is not None:
                plan.branches = branches
            if model is not None:
                plan.model = model
        if backend is not None:
            plan.backend = backend
        if plan.backend not in BACKENDS:
            raise ValueError(f"lab backend {plan.backend!r}: use one of {', '.join(BACKENDS)}")
        if plan.branches > MAX_BRANCHES or plan.branches < 0:
            raise ValueError(f"branches must be 0..{MAX_BRANCHES}")
        if time_scale is not None:
            check_time_scale(time_scale)
        lab = cls(
            directory, plan, session_factory=session_factory, quirks=quirks,
            convergence_delay=convergence_delay, clock=clock,
        )
        if time_scale is not None:
            lab.clock.time_scale = time_scale
        lab._thread = threading.Thread(target=lab.loop.run_forever, name="ikefleet-lab", daemon=True)
        lab._thread.start()
        try:
            lab._call(lab._start(control_socket))
        except BaseException:
            lab.stop()
            raise
        plan.ports = {name: server.port for name, server in lab.servers.items()}
        _save_plan(plan_path, plan)
        write_inventory(directory, lab.specs(), lab.branch_ids)
        return lab

    async def _start(self, control_socket: bool) -> None:
        key = host_key(self.directory)
        for index, spec in enumerate(self.plan.specs()):
            router = Router(spec=spec, directory=self.directory / "routers" / spec.name, clock=self.clock)
            if not router.load():
                router.config = _initial_config(spec)
                router.save()
            if has_flash(spec.model):
                (router.files.root / "flash").mkdir(exist_ok=True)
            router.listeners.append(self._on_changed)
            router.refresh_state = self._refresh
            self.routers[spec.name] = router
            if index:
                self.branch_ids[spec.name] = index
            server = RouterServer(router, key, self.session_factory, self.quirks, handshakes=self.handshakes)
            try:
                await server.start()
            except OSError:
                if not spec.port:
                    raise
                server.port = 0  # the port kept from last time is taken: take a new one
                await server.start()
            self.servers[spec.name] = server
        if self.plan.backend == "netns":
            self._start_netns()
        if control_socket:
            await self._start_control()
        self._schedule()

    def _start_netns(self) -> None:
        """Namespaces and daemons for every router; prints read the daemons' state (after the fabric's)."""
        from .netns.backend import NetnsBackend

        self._netns = NetnsBackend(list(self.routers.values()), self.directory)
        self._netns.up()
        for router in self.routers.values():
            router.refresh_state = self._refresh_netns

    def _refresh_netns(self, router: Router, path: str) -> None:
        if self._refresh is not None:
            self._refresh(router, path)
        self._netns.refresh(router)

    def stop(self) -> None:
        """Save every router, close all listeners and the control socket, end the loop thread."""
        if self._thread is None or not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._stop(), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()
        self.stopped.set()

    async def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for router in self.routers.values():
            router.save()
        for server in self.servers.values():
            await server.stop(sessions=True)
        if self._netns is not None:
            self._netns.down()
        if self._control is not None:
            self._control.close()
            with contextlib.suppress(OSError):
                control.socket_path(self.directory).unlink()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # -- what the lab looks like ------------------------------------------------------------------------

    def specs(self) -> list[RouterSpec]:
        """The routers' specs with the ports actually bound."""
        return [replace(r.spec, port=self.servers[n].port) for n, r in self.routers.items()]

    def spec(self, name: str) -> RouterSpec:
        return replace(self.routers[name].spec, port=self.servers[name].port)

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for spec in self.specs():
            rows.append(
                {
                    "name": spec.name,
                    "role": spec.role,
                    "address": spec.host,
                    "port": spec.port,
                    "username": spec.username,
                    "password": spec.password,
                    "wan_address": spec.wan_address,
                    "lan_prefix": spec.lan_prefix,
                    "version": spec.version,
                    "model": spec.model,
                    "faults": active_faults(self.routers[spec.name].faults),
                }
            )
        return rows

    def set_quirks(self, router: str, **changes: bool) -> None:
        """Change one router's repaint switches (`ConsoleQuirks` fields) for sessions opened from now on."""
        server = self.servers[router]
        server.quirks = replace(server.quirks, **changes)

    # -- faults -----------------------------------------------------------------------------------------

    def fault(self, router: str, name: str, value: Any = None, error: str | None = None) -> None:
        """Switch a fault on for `router`, e.g. `lab.fault("br1", "latency", 200)`."""
        self._call(self._set_faults(router, lambda f: apply_fault(f, name, value, error)))

    def clear_faults(self, router: str) -> None:
        self._call(self._set_faults(router, lambda f: Faults()))

    async def _set_faults(self, name: str, change: Callable[[Faults], Faults]) -> None:
        if name not in self.routers:
            raise KeyError(f"no router {name!r} in this lab")
        router = self.routers[name]
        new = change(router.faults)
        # Mutate in place: sessions and the fabric hold the router, not its Faults object.
        for f in fields(Faults):
            setattr(router.faults, f.name, getattr(new, f.name))
        await self.servers[name].apply_faults()
        self._schedule()

    # -- upgrade ----------------------------------------------------------------------------------------

    def upgrade(self, router: str, version: str) -> list[str]:
        """`ikefleet lab upgrade ROUTER --ros 7.16.1`: convert its configuration as RouterOS's upgrade does
        and reboot it on the new version (sessions dropped). Returns notes on the conversion."""
        return self._call(self._upgrade(router, version))  # type: ignore[no-any-return]

    async def _upgrade(self, name: str, version: str) -> list[str]:
        from .upgrade import upgrade_router

        if name not in self.routers:
            raise KeyError(f"no router {name!r} in this lab")
        notes = upgrade_router(self.routers[name], version)
        for conn in list(self.servers[name].connections):  # the reboot ends every session
            conn.abort()
        self.plan.upgraded = {**(self.plan.upgraded or {}), name: version}
        _save_plan(self.directory / "lab.json", self.plan)
        self._mark_dirty(name)
        return notes

    # -- persistence and fabric -------------------------------------------------------------------------

    def _on_changed(self, router: Router) -> None:
        if self.loop.is_closed():
            router.save()
            return
        self.loop.call_soon_threadsafe(self._mark_dirty, router.name)

    def _mark_dirty(self, name: str) -> None:
        self._dirty.add(name)
        self._schedule()

    def _schedule(self) -> None:
        """(Re)arm the one debounce timer: saves and the fabric run once things are quiet."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(self.convergence_delay, self._settle)

    def _settle(self) -> None:
        self._timer = None
        dirty, self._dirty = self._dirty, set()
        for name in sorted(dirty):
            try:
                self.routers[name].save()
            except OSError:
                log.exception("%s: could not save configuration", name)
        if self._recompute is not None:
            try:
                self._recompute(list(self.routers.values()), self.clock.now())
            except Exception:
                log.exception("fabric recompute failed")
        if self._netns is not None:
            self._netns.settled(dirty)

    def settle(self) -> None:
        """Run pending saves and the fabric now (tests: no waiting for the debounce delay)."""

        async def now() -> None:
            if self._timer is not None:
                self._timer.cancel()
            self._settle()

        self._call(now())

    # -- control socket ---------------------------------------------------------------------------------

    async def _start_control(self) -> None:
        path = control.socket_path(self.directory)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        try:
            where = control.connectable(path)
            self._control = await asyncio.start_unix_server(self._serve_control, path=where)
        except OSError as exc:
            log.warning("no control socket at %s: %s", path, exc)

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if not line:
                return
            try:
                answer = await self._answer(json.loads(line))
            except (KeyError, ValueError, TypeError) as exc:
                answer = {"ok": False, "error": str(exc).strip("'\"")}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()

    async def _answer(self, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg.get("op")
        if op == "status":
            return {"ok": True, "directory": str(self.directory), "routers": self.status()}
        if op == "fault":
            await self._set_faults(
                msg["router"], lambda f: apply_fault(f, msg["fault"], msg.get("value"), msg.get("error"))
            )
            return {"ok": True}
        if op == "clear":
            await self._set_faults(msg["router"], lambda f: Faults())
            return {"ok": True}
        if op == "upgrade":
            return {"ok": True, "notes": await self._upgrade(msg["router"], msg["version"])}
        if op == "stop":
            self.loop.call_later(0.05, self.stopped.set)
            return {"ok": True}
        raise ValueError(f"unknown op {op!r}")


# --- service entry point ---------------------------------------------------------------------------------


def serve(
    directory: Path, branches: int | None, version: str, backend: str | None = None,
    time_scale: float | None = None,
) -> int:
    """Run a lab in the foreground until `lab down` (control socket) or SIGTERM/SIGINT."""
    lab = Lab.start(directory, branches, version=version, backend=backend, time_scale=time_scale)
    stop_requested = lab.stopped
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_requested.set())
    (lab.directory / "lab.pid").write_text(str(os.getpid()))
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        stop_requested.clear()
        lab.stop()
        with contextlib.suppress(OSError):
            (lab.directory / "lab.pid").unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ikefleet.lab.manager")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("serve")
    run.add_argument("directory", type=Path)
    run.add_argument("--branches", type=int, default=None)
    run.add_argument("--version", default=DEFAULT_VERSION)
    run.add_argument("--backend", choices=BACKENDS, default=None)
    run.add_argument("--time-scale", type=float, default=None)
    args = parser.parse_args(argv)
    # A large lab's first route reads build every branch's table (a route per branch, a thousand branches):
    # under CPython's default collector that made 21 full collections walking the growing tables, 6-9 s of
    # a 1,000-branch lab's 30-40 s warm-up (bench/lab_gc.py). Cycles are still collected.
    gc_policy.whole_process()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return serve(args.directory, args.branches, args.version, args.backend, args.time_scale)


if __name__ == "__main__":
    sys.exit(main())
