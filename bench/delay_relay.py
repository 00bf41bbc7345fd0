"""A TCP relay on loopback that delays every byte by a fixed time in each direction (no netem here).

Usage: delay_relay.py --delay-ms 25 --lifetime 900 LISTEN_PORT:TARGET_HOST:TARGET_PORT ...

Listens on 127.0.0.1:LISTEN_PORT for each mapping and forwards to TARGET_HOST:TARGET_PORT (a
container the bench created). Data read from one side is written to the other ``delay`` later,
in order, so a round trip through the relay costs twice the delay. Bounded: at most
``--max-connections`` connections at once per listener (more wait in the kernel's backlog), and
the relay exits by itself after ``--lifetime`` seconds or when its stdin closes (the bench's pipe).
Prints "ready" once every port listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
import time


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader to writer, each chunk ``delay`` after it was read (order kept by one queue)."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=256)

    async def read() -> None:
        while True:
            chunk = await reader.read(65536)
            await queue.put((time.monotonic() + delay, chunk))
            if not chunk:
                return

    async def write() -> None:
        while True:
            due, chunk = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    with contextlib.suppress(ConnectionError, OSError):
        await asyncio.gather(read(), write())


async def _serve(port: int, host: str, target_port: int, delay: float, limit: asyncio.Semaphore) -> asyncio.Server:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        async with limit:
            try:
                await asyncio.sleep(delay)  # the SYN's way there...
                target_reader, target_writer = await asyncio.open_connection(host, target_port)
                await asyncio.sleep(delay)  # ...and the SYN-ACK's way back
            except OSError:
                client_writer.close()
                return
            with contextlib.suppress(asyncio.CancelledError):  # the relay stopping mid-connection
                await asyncio.gather(
                    _pump(client_reader, target_writer, delay), _pump(target_reader, client_writer, delay)
                )
            for writer in (client_writer, target_writer):
                writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port, backlog=128)


async def _main(args: argparse.Namespace) -> None:
    delay = args.delay_ms / 1000
    servers = []
    for mapping in args.mappings:
        port, host, target_port = mapping.split(":")
        limit = asyncio.Semaphore(args.max_connections)
        servers.append(await _serve(int(port), host, int(target_port), delay, limit))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def wait_for_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=wait_for_stdin, daemon=True).start()  # a daemon: never holds the exit
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdin_closed.wait(), timeout=args.lifetime)
    for server in servers:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay (half the round trip)")
    parser.add_argument("--lifetime", type=float, default=900, help="exit after this many seconds")
    parser.add_argument("--max-connections", type=int, default=16, help="per listener")
    parser.add_argument("mappings", nargs="+", metavar="LISTEN_PORT:TARGET_HOST:TARGET_PORT")
    asyncio.run(_main(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
