"""Sessions driven over a WebSocket (seed 004): opening one for a client kind, and what each action
frame does on it. The socket itself (frames in, frames out, errors) is `http/socket.py`.

A `browser` client drives a session like any other (its actions are the REST actions, recorded the
same way); a `standard` client fetches over HTTP and records each frame's action on its session.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import structlog

from .access import Principal
from .actions import Interaction, SessionActions, ms_since
from .domain.errors import DomainError
from .drivers.base import Document, DriverError, Reason
from .egress import Upstream
from .sessions import NewSession, SessionService
from .settings import Settings
from .standard_client import (
    REDIRECTS,
    Blocked,
    Fetched,
    FetchRequest,
    Hop,
    RequestRules,
    StandardClient,
    cookies_set,
)

log = structlog.get_logger()

# A stop waits this long for the sockets to send their fatal frame and close by themselves.
STOP_GRACE_S = 2.0


class NotSupported(Exception):
    """The client cannot do this (501): the `standard` client has no page; the `browser` one is a persona."""


class ExpectationFailed(Exception):
    """A response middleware's expectation failed (417)."""


class TooManySockets(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"{limit} sockets of this account are open on this node (DRIFTSTACK_WS_SOCKETS_PER_ACCOUNT); "
            "close one first"
        )


class SessionNotReady(Exception):
    """The browser session did not become ready (503, fatal): its end says why."""


@dataclass(frozen=True)
class SocketSpec:
    """What a socket's `open` asks for, in the service's terms."""

    client: str  # standard | browser
    archetype: str | None = None  # browser only, like engine and profile_id
    engine: str | None = None
    profile_id: str | None = None
    proxies: tuple[str, ...] = ()
    rules: RequestRules = field(default_factory=RequestRules)
    expect_status: tuple[tuple[int, int], ...] = ()  # each (low, high): a goto's final status must be within
    timeout_ms: int = 30_000
    max_redirects: int = 10
    max_retries: int = 3


class Drive(Protocol):
    """One socket's session: what each action does on it."""

    uuid: UUID
    client: str

    async def goto(self, request: FetchRequest) -> Fetched: ...

    async def click(self, selector: str) -> None: ...

    async def fill(self, selector: str, value: str) -> None: ...

    async def content(self) -> bytes:
        """The last response's body (standard), the live DOM (browser)."""

    async def evaluate(self, script: str) -> Any: ...

    async def screenshot(self) -> bytes:
        """A PNG."""

    def touch(self) -> None:
        """The client is there (a ping): the session is not idle."""

    async def close(self, reason: str) -> None:
        """Ends the session (`client_request`, `socket_closed`, …); nothing when it already ended."""


def _check_status(spec: SocketSpec, status: int | None) -> None:
    for low, high in spec.expect_status:
        if status is None or not low <= status <= high:
            raise ExpectationFailed(f"the response's status {status} is outside {low} to {high}")


class SocketSessions:
    """Opens the sessions WebSocket clients drive, at most `ws_sockets_per_account` per account at once."""

    def __init__(self, sessions: SessionService, settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._open: dict[str, set[Drive]] = {}
        self._opening: Counter[str] = Counter()
        self._sockets: set[Any] = set()
        self._none_open = asyncio.Event()
        self._none_open.set()

    def track(self, socket: Any) -> None:
        self._sockets.add(socket)
        self._none_open.clear()

    def untrack(self, socket: Any) -> None:
        self._sockets.discard(socket)
        if not self._sockets:
            self._none_open.set()

    async def stop(self) -> None:
        """Ends every socket's session `service_stopped`: each socket sends its fatal frame and closes."""
        drives = [drive for held in self._open.values() for drive in held]
        await asyncio.gather(*(drive.close("service_stopped") for drive in drives), return_exceptions=True)
        with contextlib.suppress(TimeoutError):  # each socket says why it closes, then closes
            await asyncio.wait_for(self._none_open.wait(), STOP_GRACE_S)
        for socket in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.close(code=1001, message=b"service stopping"), 1.0)

    async def open(self, who: Principal, spec: SocketSpec) -> Drive:
        limit = self._settings.ws_sockets_per_account
        held = self._open.setdefault(who.account_id, set())
        if len(held) + self._opening[who.account_id] >= limit:
            raise TooManySockets(limit)
        self._opening[who.account_id] += 1  # counted while it opens, so opens at once cannot pass the bound
        try:
            drive = await self._opened(who, spec)
        finally:
            self._opening[who.account_id] -= 1
        held.add(drive)
        return drive

    def closed(self, who: Principal, drive: Drive) -> None:
        self._open.get(who.account_id, set()).discard(drive)

    async def _opened(self, who: Principal, spec: SocketSpec) -> Drive:
        # An unknown proxy name is refused before anything is recorded.
        upstreams = [u for u in (self._sessions.egress.upstream(name) for name in spec.proxies) if u]
        if spec.client == "standard":
            return await self._standard(who, spec, upstreams)
        return await self._browser(who, spec)

    async def _standard(self, who: Principal, spec: SocketSpec, upstreams: list[Upstream]) -> Drive:
        uuid = await self._sessions.open_standard(who)
        route = await self._sessions.egress.open_route()
        self._sessions.egress.bind(route, f"ses_{uuid}", None)
        client = StandardClient(
            route,
            f"ses_{uuid}",
            upstreams,
            spec.rules,
            timeout_ms=spec.timeout_ms,
            max_redirects=spec.max_redirects,
            max_retries=spec.max_retries,
        )
        return StandardDrive(self._sessions, who, uuid, client, spec)

    async def _browser(self, who: Principal, spec: SocketSpec) -> Drive:
        if spec.rules.set_headers or spec.rules.remove_headers:
            raise NotSupported("set_header and remove_header apply to the standard client only")
        new = NewSession(
            archetype=spec.archetype or "default",
            purpose="production_customer",
            label=None,
            metadata=None,
            behavioral_profile=None,
            profile_id=spec.profile_id,
            proxy=spec.proxies[0] if spec.proxies else None,
            engine=spec.engine,
            socket_client="browser",
        )
        doc = await self._sessions.create(who, new, wait=True)
        uuid = UUID(doc["id"][4:])
        if doc["status"] not in ("ready", "busy"):
            raise SessionNotReady(f"the session's browser did not start: {doc['status']} ({doc['reason']})")
        live = self._sessions.live.get(uuid)
        if spec.rules.blocked and live is not None and live.page is not None:
            try:
                await live.page.block(spec.rules.blocked)
            except DriverError:
                await self._sessions.end(who, uuid, "client_request")
                raise
        return BrowserDrive(self._sessions, who, uuid, spec)


class StandardDrive:
    """A `standard` client's session: HTTP fetches, each action recorded on the session."""

    client = "standard"

    def __init__(
        self, sessions: SessionService, who: Principal, uuid: UUID, http: StandardClient, spec: SocketSpec
    ) -> None:
        self._sessions = sessions
        self._who = who
        self.uuid = uuid
        self._http = http
        self._spec = spec

    def touch(self) -> None:
        pass  # no browser to keep: the socket's own idle clock is the session's

    async def goto(self, request: FetchRequest) -> Fetched:
        key = self._who.api_key_id
        started = time.monotonic()
        try:
            fetched = await self._http.goto(request)
        except (DriverError, Blocked) as e:
            ms = ms_since(started)
            reason = e.reason.value if isinstance(e, DriverError) else Reason.BLOCKED.value
            detail = e.detail if isinstance(e, DriverError) else str(e)
            await self._record(
                lambda s: s.record_failure(
                    key, "navigate", {"url": request.url}, reason, detail, ms, url=request.url, title=None
                )
            )
            raise
        ms = ms_since(started)
        await self._record(
            lambda s: s.record_navigation(key, request.url, "response", fetched.url, "", fetched.status, ms)
        )
        _check_status(self._spec, fetched.status)
        return fetched

    async def content(self) -> bytes:
        body, url = self._http.last_body, self._http.last_url or "about:blank"
        key = self._who.api_key_id
        await self._record(lambda s: s.record_state_read(key, url, len(body), 0, title=""))
        return body

    # Recorded under the action log's names, as the browser client's would be.
    async def click(self, selector: str) -> None:
        await self._no_page("click", "interact", {"type": "tap", "selector": selector})

    async def fill(self, selector: str, value: str) -> None:
        await self._no_page(
            "fill", "interact", {"type": "fill", "selector": selector, "text_length": len(value)}
        )

    async def evaluate(self, script: str) -> Any:
        await self._no_page("evaluate", "evaluate", {"script_length": len(script)})

    async def screenshot(self) -> bytes:
        await self._no_page("screenshot", "capture", {"kind": "screenshot", "full_page": False})
        raise AssertionError("unreachable")

    async def _no_page(self, frame: str, action: str, details: dict[str, Any]) -> None:
        why = f"the standard client has no page to {frame}: open the socket with client 'browser'"
        key = self._who.api_key_id
        await self._record(
            lambda s: s.record_failure(
                key, action, details, Reason.UNSUPPORTED.value, why, 0, url=None, title=None
            )
        )
        raise NotSupported(why)

    async def _record(self, change: Any) -> None:
        await self._sessions.record(self._who, self.uuid, change)

    async def close(self, reason: str) -> None:
        try:
            await self._sessions.end(self._who, self.uuid, reason)
        finally:
            await self._http.close()


class BrowserDrive:
    """A `browser` client's session: the REST actions, on its live page."""

    client = "browser"

    def __init__(self, sessions: SessionService, who: Principal, uuid: UUID, spec: SocketSpec) -> None:
        self._sessions = sessions
        self._actions: SessionActions = sessions.actions
        self._who = who
        self.uuid = uuid
        self._id = f"ses_{uuid}"
        self._spec = spec

    def touch(self) -> None:
        live = self._sessions.live.get(self.uuid)
        if live is not None:
            live.touch()

    async def goto(self, request: FetchRequest) -> Fetched:
        _browser_navigates(request)
        document = await self._actions.goto(self._who, self._id, request.url, self._spec.timeout_ms)
        _check_status(self._spec, document.status)
        return _fetched(document)

    async def click(self, selector: str) -> None:
        tap = Interaction("tap", selector, timeout_ms=self._spec.timeout_ms)
        await self._actions.interact(self._who, self._id, tap)

    async def fill(self, selector: str, value: str) -> None:
        fill = Interaction("fill", selector, text=value, timeout_ms=self._spec.timeout_ms)
        await self._actions.interact(self._who, self._id, fill)

    async def content(self) -> bytes:
        state = await self._actions.state(self._who, self._id)
        return str(state["html"]).encode()

    async def evaluate(self, script: str) -> Any:
        return await self._actions.evaluate(self._who, self._id, script, self._spec.timeout_ms)

    async def screenshot(self) -> bytes:
        shot = await self._actions.capture(self._who, self._id, "screenshot", False, keep=False)
        return base64.b64decode(shot["data"])

    async def close(self, reason: str) -> None:
        try:
            await self._sessions.end(self._who, self.uuid, reason)
        except DomainError:
            log.info("socket.session_already_gone", session_id=self._id)


def _browser_navigates(request: FetchRequest) -> None:
    """The browser client navigates as its persona: a GET with its own agent, referrer and cookies."""
    if request.method != "GET" or request.body is not None:
        raise NotSupported("the browser client navigates with GET and no body: use the standard client")
    if request.headers or request.cookies or request.referrer is not None or request.user_agent != "inndx":
        raise NotSupported(
            "the browser client sends its persona's own agent, referrer, headers and cookies: "
            "headers, cookies, referrer and user_agent are the standard client's"
        )


def _fetched(document: Document) -> Fetched:
    """The browser's main document as the answer a fetch gives."""
    return Fetched(
        url=document.url,
        status=document.status,
        headers=list(document.headers),
        cookies=cookies_set(document.headers),
        body=document.body,
        redirects=[
            Hop(url=hop.url, location=hop.location, type=REDIRECTS.get(hop.status, "temporary"))
            for hop in document.redirects
        ],
        content_type=document.content_type,
        attempts=1,
    )
