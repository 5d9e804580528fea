"""A WAN in front of every lab router: a TCP relay per router on loopback that holds each chunk N ms each way.

`bench/run.py --wan-ms N` starts this as its own process (so its CPU is neither ikefleet's nor the lab's)
and points the lab inventory's hosts at the relays, so ikefleet and the asyncssh floor cross the same
delay. A connection's first byte also waits one round trip (2 N), the TCP handshake a real WAN charges.

The relay counts, per router, the connections and the request->reply turns it saw: a turn starts each time
the client sends after the router last spoke (and once per connection for the TCP handshake). On a link
with N ms each way every turn costs at least 2 N ms, one after the other within a connection: the turns
are the sequential round trips a run pays per router. Control, one line on the control port: `take` ->
one JSON line {router: [connections, turns]} of the counts since the last `take`, and the counts reset.

    python bench/wan.py --ms 25 --targets targets.json   # {router: [host, port]}; prints {router: port}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path

CHUNK = 65536


class Counts:
    """Connections and turns per router since the last `take`."""

    def __init__(self) -> None:
        self.by_router: dict[str, list[int]] = {}

    def connection(self, router: str) -> None:
        self.by_router.setdefault(router, [0, 0])[0] += 1
        self.turn(router)  # the TCP handshake

    def turn(self, router: str) -> None:
        self.by_router.setdefault(router, [0, 0])[1] += 1

    def take(self) -> dict[str, list[int]]:
        taken, self.by_router = self.by_router, {}
        return taken


class Link:
    """One relayed connection: two directions, each chunk delivered `delay` seconds after it arrived."""

    def __init__(self, router: str, delay: float, counts: Counts) -> None:
        self.router, self.delay, self.counts = router, delay, counts
        self.router_spoke = True  # the client's first bytes open a turn (after the handshake's)

    async def carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    from_client: bool) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                if from_client and data and self.router_spoke:
                    self.counts.turn(self.router)
                self.router_spoke = not from_client
                queue.put_nowait((loop.time() + self.delay, data))
                if not data:
                    break
            await sender
        except (OSError, asyncio.IncompleteReadError):
            sender.cancel()
        finally:
            with contextlib.suppress(OSError):
                writer.close()


async def serve(targets: dict[str, tuple[str, int]], delay: float) -> None:
    counts = Counts()
    ports: dict[str, int] = {}
    servers = []
    for router, (host, port) in targets.items():
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         router: str = router, host: str = host, port: int = port) -> None:
            counts.connection(router)
            await asyncio.sleep(2 * delay)  # the TCP handshake's round trip
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            link = Link(router, delay, counts)
            await asyncio.gather(link.carry(reader, up_writer, True), link.carry(up_reader, writer, False))

        server = await asyncio.start_server(accept, "127.0.0.1", 0, backlog=1024)
        servers.append(server)
        ports[router] = server.sockets[0].getsockname()[1]

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            if line.strip() == b"take":
                writer.write(json.dumps(counts.take()).encode() + b"\n")
                await writer.drain()
        writer.close()

    control_server = await asyncio.start_server(control, "127.0.0.1", 0)
    print(json.dumps({"ports": ports, "control": control_server.sockets[0].getsockname()[1]}), flush=True)
    await asyncio.Event().wait()  # until killed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ms", type=float, required=True, help="delay each way, milliseconds")
    parser.add_argument("--targets", type=Path, required=True, help="JSON {router: [host, port]}")
    args = parser.parse_args(argv)
    targets = {name: (str(hp[0]), int(hp[1])) for name, hp in json.loads(args.targets.read_text()).items()}
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(targets, args.ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
