"""The forward proxy every browser context talks through: HTTP and CONNECT, judged at connection time.

Each browser context gets a route: a listening port of its own on loopback, so the port a connection
arrives on says whose it is, with no proxy authentication (which would make Playwright intercept every
request). The proxy resolves names itself, judges each address by the one address policy, and connects
to the address it judged; an upstream proxy, where the session chose one, is judged the same way.

A refused CONNECT answers 403 (the browser reports a tunnel failure); a refused plain-HTTP request is
closed unanswered, so it too fails as a network error rather than showing a page of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import OrderedDict
from collections.abc import Callable

import structlog

from ..addresses import AddressPolicy, NonPublicAddress, Refusal, parse
from ..domain.errors import ValidationFailed
from .ledger import Ledger, Record
from .requests import ProxyRequest
from .upstreams import Upstream, UpstreamFailed

log = structlog.get_logger()

HEAD_LIMIT = 64 * 1024  # a request head longer than this is refused, as any server would
HEAD_TIMEOUT_S = 30.0
CHUNK = 64 * 1024
ALLOW_HINT = "DRIFTSTACK_EGRESS_ALLOW"
# The ledgers of ended sessions this process keeps for reading, the newest.
ENDED_LEDGERS_KEPT = 1_000


class EgressRefused(NonPublicAddress):
    """The destination is an address the policy refuses; the message names the setting that opens it."""

    def __init__(self, host: str, port: int, refusal: Refusal) -> None:
        shown = f"[{host}]" if ":" in host else host
        opens = (
            f"the operator opens it with {ALLOW_HINT}={shown}:{port} (or DRIFTSTACK_EGRESS_ALLOW_PRIVATE=1)"
        )
        super().__init__(host, refusal, hint=opens)
        self.port = port


class Route:
    """One browser context's way out: a loopback port, the session it serves once bound, its ledger."""

    def __init__(self, egress: Egress) -> None:
        self._egress = egress
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0
        self.session_id: str | None = None
        self.upstream: Upstream | None = None
        self.ledger = Ledger()

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bind(self, session_id: str, upstream: Upstream | None = None) -> None:
        """From now on this route's traffic is `session_id`'s, through `upstream` where one is named."""
        self.session_id = session_id
        self.upstream = upstream

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=HEAD_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._egress.carry(self, reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def close(self) -> None:
        """Stops listening and cuts every connection still open; idempotent."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=1.0)
        self._egress.forget(self)


class Egress:
    """The proxy: routes for browser contexts, and how each connection is judged and carried."""

    def __init__(
        self,
        policy: AddressPolicy,
        upstreams: dict[str, Upstream] | None = None,
        *,
        connect_timeout_s: float = 15.0,
    ) -> None:
        self.policy = policy
        self.upstreams = upstreams or {}
        self._connect_timeout_s = connect_timeout_s
        self._routes: set[Route] = set()
        self._ledgers: OrderedDict[str, Ledger] = OrderedDict()  # by session id, bound ones only

    async def open_route(self) -> Route:
        route = Route(self)
        await route.open()
        self._routes.add(route)
        return route

    def forget(self, route: Route) -> None:
        self._routes.discard(route)

    # A session's traffic

    def upstream(self, name: str | None) -> Upstream | None:
        """The upstream proxy named `name` (None for none); 400 for a name the operator did not define."""
        if name is None:
            return None
        upstream = self.upstreams.get(name)
        if upstream is None:
            offered = ", ".join(sorted(self.upstreams)) or "none are configured (DRIFTSTACK_PROXIES)"
            raise ValidationFailed("proxy", f"no proxy named '{name}'; the proxies offered: {offered}")
        return upstream

    def bind(self, route: object, session_id: str, proxy: str | None) -> None:
        """Makes `route`'s traffic `session_id`'s, through the upstream named `proxy` where one is."""
        if not isinstance(route, Route):
            return  # a page opened without an egress (a driver used alone)
        route.bind(session_id, self.upstream(proxy))
        self._ledgers[session_id] = route.ledger
        while len(self._ledgers) > ENDED_LEDGERS_KEPT + len(self._routes):
            self._ledgers.popitem(last=False)

    def ledger(self, session_id: str) -> Ledger | None:
        """What the egress carried for a session of this process (live, or among the last ended)."""
        return self._ledgers.get(session_id)

    async def stop(self) -> None:
        for route in list(self._routes):
            await route.close()

    # Judging

    async def addresses(self, host: str, port: int) -> list[str]:
        """Where `host` may be reached: its addresses the policy permits. EgressRefused when none."""
        if parse(host) is not None:
            candidates = [str(parse(host))]
        else:
            loop = asyncio.get_running_loop()
            try:
                found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as e:
                raise ConnectFailed(f"{host} does not resolve ({e.strerror or e})", "dns_failed") from None
            candidates = list(dict.fromkeys(str(info[4][0]) for info in found))
        allowed = [a for a in candidates if self.policy.permits(a, host=host, port=port)]
        if not allowed:
            refusal = self.policy.refusal(candidates[0], host=host, port=port)
            assert refusal is not None
            raise EgressRefused(host, port, refusal)
        return allowed

    async def _open(
        self, route: Route, host: str, port: int, record: Record
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        upstream = route.upstream
        if upstream is not None:
            # The destination is judged here (a name that resolves to a refused address is refused);
            # the upstream connects to it by name, from its own network.
            await self.addresses(host, port)
            proxy_address = (await self.addresses(upstream.host, upstream.port))[0]
            record.upstream = upstream.name
            record.address = proxy_address
            try:
                reader, writer = await upstream.open(host, port, timeout_s=self._connect_timeout_s)
            except UpstreamFailed as e:
                raise ConnectFailed(f"through {upstream.name}: {e}") from None
            self._check_peer(writer, upstream.host, upstream.port)
            return reader, writer
        failure, reason = "no address answered", "host_unreachable"
        for address in await self.addresses(host, port):
            record.address = address
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(address, port, limit=CHUNK), self._connect_timeout_s
                )
            except (OSError, TimeoutError) as e:
                failure = f"{address}: {e.strerror if isinstance(e, OSError) and e.strerror else 'timed out'}"
                reason = _reason_of(e)
                continue
            self._check_peer(writer, host, port)
            return reader, writer
        raise ConnectFailed(f"could not connect to {host}:{port} ({failure})", reason)

    def _check_peer(self, writer: asyncio.StreamWriter, host: str, port: int) -> None:
        """The address actually connected to is judged once more: what a connection reaches is what counts."""
        peer = writer.get_extra_info("peername")
        refusal = self.policy.refusal(str(peer[0]) if peer else "", host=host, port=port)
        if refusal is not None:
            writer.close()
            raise EgressRefused(host, port, refusal)

    # Carrying

    async def carry(self, route: Route, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serves one connection from the browser: one CONNECT tunnel or one plain-HTTP request."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        request = ProxyRequest.parse(head)
        if request is None:
            with contextlib.suppress(ConnectionError):
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        record = route.ledger.open(
            request.kind,
            request.host,
            request.port,
            method=request.method if request.kind == "http" else None,
            url=request.target if request.kind == "http" else None,
        )
        try:
            await self._carry(route, request, record, reader, writer)
        except EgressRefused as e:
            route.ledger.refuse(record, str(e))
            log.info(
                "egress.refused",
                session_id=route.session_id,
                host=request.host,
                port=request.port,
                why=str(e),
            )
            if request.kind == "tunnel":
                with contextlib.suppress(ConnectionError):
                    writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except ConnectFailed as e:
            record.error = e.reason
            record.finish(error=str(e))
            if request.kind == "tunnel":
                with contextlib.suppress(ConnectionError):
                    writer.write(
                        b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
        except (ConnectionError, asyncio.IncompleteReadError):
            record.finish(error="the connection was cut")
        finally:
            if record.duration_ms is None:
                record.finish()
            with contextlib.suppress(Exception):
                writer.close()

    async def _carry(
        self,
        route: Route,
        request: ProxyRequest,
        record: Record,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        site_reader, site_writer = await self._open(route, request.host, request.port, record)
        try:
            if request.kind == "tunnel":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
                on_first = None
            else:
                forwarded = request.forwarded_head()
                site_writer.write(forwarded)
                record.bytes_sent += len(forwarded)
                on_first = record  # its status is read from the first bytes back
            upward = asyncio.ensure_future(_pipe(reader, site_writer, lambda n: _sent(record, n)))
            downward = asyncio.ensure_future(
                _pipe(site_reader, writer, lambda n: _received(record, n), status_of=on_first)
            )
            try:
                # Done when the site's side ends: a browser that keeps its side open waits for nothing.
                await asyncio.wait([upward, downward], return_when=asyncio.FIRST_COMPLETED)
                if upward.done() and not downward.done():
                    await downward  # the browser finished sending; the answer is still coming
            finally:
                upward.cancel()
                downward.cancel()
        finally:
            with contextlib.suppress(Exception):
                site_writer.close()


class ConnectFailed(Exception):
    """The destination (or its upstream proxy) could not be reached: not a refusal, a failure.
    `reason` is the driver's reason for it (`dns_failed`, `connection_refused`, …)."""

    def __init__(self, message: str, reason: str = "host_unreachable") -> None:
        super().__init__(message)
        self.reason = reason


def _reason_of(error: OSError | TimeoutError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, TimeoutError):
        return "timeout"
    return "host_unreachable"


def _sent(record: Record, n: int) -> None:
    record.bytes_sent += n


def _received(record: Record, n: int) -> None:
    record.bytes_received += n


async def _pipe(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    count: Callable[[int], None],
    *,
    status_of: Record | None = None,
) -> None:
    """Copies until the source ends, then half-closes the sink so the other side sees the end."""
    try:
        while chunk := await source.read(CHUNK):
            if status_of is not None:
                status_of.status = _status(chunk)
                status_of = None
            count(len(chunk))
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()


def _status(chunk: bytes) -> int | None:
    parts = chunk.split(b"\r\n", 1)[0].split(b" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
