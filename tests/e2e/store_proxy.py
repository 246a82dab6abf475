"""A TCP proxy between a service and its PostgreSQL that a test cuts and restores, as a network would."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_CHUNK = 64 * 1024


class StoreProxy:
    """Forwards 127.0.0.1:`port` to the store; `cut()` drops every connection and refuses new ones."""

    def __init__(self, store_url: str) -> None:
        parts = urlsplit(store_url)
        query = dict(parse_qsl(parts.query))
        self._store_url = store_url
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        # An embedded store listens on a Unix socket, named in the query (`?host=/dir&port=N`).
        self._socket: str | None = None
        if query.get("host", "").startswith("/"):
            self._socket = f"{query['host']}/.s.PGSQL.{query.get('port', '5432')}"
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.is_cut = False
        self.port = 0

    @property
    def url(self) -> str:
        """The store's URL, through the proxy."""
        parts = urlsplit(self._store_url)
        user = f"{parts.username}{':' + parts.password if parts.password else ''}@" if parts.username else ""
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}", query=query))

    async def start(self) -> StoreProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def cut(self) -> None:
        self.is_cut = True
        for writer in list(self._open):
            writer.transport.abort()  # a reset, as when the link or the server goes
        self._open.clear()

    def restore(self) -> None:
        self.is_cut = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            client_writer.transport.abort()
            return
        try:
            if self._socket is not None:
                store_reader, store_writer = await asyncio.open_unix_connection(self._socket)
            else:
                store_reader, store_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._open.update((client_writer, store_writer))
        try:
            await asyncio.gather(_pipe(client_reader, store_writer), _pipe(store_reader, client_writer))
        finally:
            for writer in (client_writer, store_writer):
                self._open.discard(writer)
                writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    writer.transport.abort()
