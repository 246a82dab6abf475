"""Byte relays between TCP and Unix sockets, and the entry that holds a loopback-only network namespace.

The fuzzer sends any URL the document allows: a session navigates to it, a webhook is registered at it and
delivered to. So the fuzzed server runs in a network namespace of its own whose only interface is loopback,
and nothing it does can leave the machine. Unix sockets (the file system is shared) carry the two
connections that must cross: the server's to PostgreSQL, and the fuzzer's to the server.

Run as `unshare --net -- python -m tests.fuzz.relay LISTEN=CONNECT …` it brings the namespace's loopback up
first; each argument is one relay, an address being `tcp:HOST:PORT` or `unix:PATH`. It prints `ready` once
every relay listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import sys

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """A new network namespace has `lo` down: nothing, not even 127.0.0.1, answers until it is up."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _open(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    kind, _, rest = address.partition(":")
    if kind == "unix":
        return await asyncio.open_unix_connection(rest)
    host, _, port = rest.rpartition(":")
    return await asyncio.open_connection(host, int(port))


async def relay(listen: str, connect: str) -> asyncio.Server:
    """Listens on `listen`; each connection made there is joined to a new one made to `connect`."""

    async def join(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await _open(connect)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    kind, _, rest = listen.partition(":")
    if kind == "unix":
        return await asyncio.start_unix_server(join, rest)
    host, _, port = rest.rpartition(":")
    return await asyncio.start_server(join, host, int(port))


async def _serve(pairs: list[str]) -> None:
    servers = [await relay(*pair.split("=", 1)) for pair in pairs]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    loopback_up()
    asyncio.run(_serve(sys.argv[1:]))
