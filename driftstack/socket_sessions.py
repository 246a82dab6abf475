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
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import structlog

from .access import Principal
from .actions import Interaction, SessionActions, ms_since
from .domain.errors import DomainError
from .drivers.base import Document, DriverError, Reason
from .egress import Upstream
from .http.shapes import frames
from .sessions import NewSession, SessionService
from .settings import Settings
from .standard_client import REDIRECTS, Blocked, FetchRequest, RequestRules, StandardClient, cookies_set

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


class Drive(Protocol):
    """One socket's session: what each action frame does on it."""

    uuid: UUID
    client: str

    async def act(self, frame: Any) -> dict[str, Any]:
        """The answer frame to an action frame (not `close`)."""

    def touch(self) -> None:
        """The client is there (a ping): the session is not idle."""

    async def close(self, reason: str) -> None:
        """Ends the session (`client_request`, `socket_closed`, …); nothing when it already ended."""


@dataclass(frozen=True)
class _Expect:
    low: int
    high: int

    def check(self, status: int | None) -> None:
        if status is None or not self.low <= status <= self.high:
            raise ExpectationFailed(f"the response's status {status} is outside {self.low} to {self.high}")


class SocketSessions:
    """Opens the sessions WebSocket clients drive, at most `ws_sockets_per_account` per account at once."""

    def __init__(self, sessions: SessionService, settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._open: dict[str, set[Drive]] = {}
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

    async def open(self, who: Principal, frame: frames.Open) -> Drive:
        limit = self._settings.ws_sockets_per_account
        held = self._open.setdefault(who.account_id, set())
        if len(held) >= limit:
            raise TooManySockets(limit)
        upstreams = [u for u in (self._sessions.egress.upstream(name) for name in frame.proxies) if u]
        rules = RequestRules(
            set_headers=[(m.name, m.value) for m in frame.middleware if isinstance(m, frames.SetHeader)],
            remove_headers=[m.name for m in frame.middleware if isinstance(m, frames.RemoveHeader)],
            blocked=[m.pattern for m in frame.middleware if isinstance(m, frames.BlockUrls)],
        )
        expects = [_Expect(m.min, m.max) for m in frame.middleware if isinstance(m, frames.RequireStatus)]
        drive: Drive
        if frame.client_kind == "standard":
            drive = await self._standard(who, frame, upstreams, rules, expects)
        else:
            drive = await self._browser(who, frame, rules, expects)
        held.add(drive)
        return drive

    def closed(self, who: Principal, drive: Drive) -> None:
        self._open.get(who.account_id, set()).discard(drive)

    async def _standard(
        self,
        who: Principal,
        frame: frames.Open,
        upstreams: list[Upstream],
        rules: RequestRules,
        expects: list[_Expect],
    ) -> Drive:
        uuid = await self._sessions.open_standard(who)
        route = await self._sessions.egress.open_route()
        self._sessions.egress.bind(route, f"ses_{uuid}", None)
        client = StandardClient(
            route,
            f"ses_{uuid}",
            upstreams,
            rules,
            timeout_ms=frame.timeout_ms,
            max_redirects=frame.max_redirects,
            max_retries=frame.max_retries,
        )
        return StandardDrive(self._sessions, who, uuid, client, expects)

    async def _browser(
        self, who: Principal, frame: frames.Open, rules: RequestRules, expects: list[_Expect]
    ) -> Drive:
        if rules.set_headers or rules.remove_headers:
            raise NotSupported("set_header and remove_header apply to the standard client only")
        spec = frame.client if isinstance(frame.client, frames.ClientSpec) else None
        new = NewSession(
            archetype=(spec.archetype if spec else None) or "default",
            purpose="production_customer",
            label=None,
            metadata=None,
            behavioral_profile=None,
            profile_id=spec.profile_id if spec else None,
            proxy=frame.proxies[0] if frame.proxies else None,
            engine=spec.engine if spec else None,
            socket_client="browser",
        )
        doc = await self._sessions.create(who, new, wait=True)
        uuid = UUID(doc["id"][4:])
        if doc["status"] not in ("ready", "busy"):
            raise SessionNotReady(f"the session's browser did not start: {doc['status']} ({doc['reason']})")
        live = self._sessions.live.get(uuid)
        if rules.blocked and live is not None and live.page is not None:
            try:
                await live.page.block(rules.blocked)
            except DriverError:
                await self._sessions.end(uuid, "client_request", who.api_key_id)
                raise
        return BrowserDrive(self._sessions, who, uuid, frame.timeout_ms, expects)


class StandardDrive:
    """A `standard` client's session: HTTP fetches, each frame's action recorded on the session."""

    client = "standard"

    def __init__(
        self,
        sessions: SessionService,
        who: Principal,
        uuid: UUID,
        http: StandardClient,
        expects: list[_Expect],
    ) -> None:
        self._sessions = sessions
        self._who = who
        self.uuid = uuid
        self._http = http
        self._expects = expects

    def touch(self) -> None:
        pass  # no browser to keep: the socket's own idle clock is the session's

    async def act(self, frame: Any) -> dict[str, Any]:
        key = self._who.api_key_id
        match frame:
            case frames.Goto():
                return await self._goto(frame)
            case frames.Content():
                body, url = self._http.last_body, self._http.last_url or "about:blank"
                await self._record(lambda s: s.record_state_read(key, url, len(body), 0, title=""))
                return {"action": "content", "content": base64.b64encode(body).decode()}
            case _:
                action = frame.action
                why = f"the standard client has no page to {action}: open the socket with client 'browser'"
                details = {"selector": getattr(frame, "selector", None)}
                await self._record(
                    lambda s: s.record_failure(
                        key, action, details, Reason.UNSUPPORTED.value, why, 0, url=None, title=None
                    )
                )
                raise NotSupported(why)

    async def _goto(self, frame: frames.Goto) -> dict[str, Any]:
        key = self._who.api_key_id
        request = FetchRequest(
            url=frame.url,
            method=frame.method,
            referrer=frame.referrer,
            user_agent=frame.user_agent,
            headers=[(name, value) for name, value in frame.headers],
            cookies=[c.model_dump() for c in frame.cookies],
            body=base64.b64decode(frame.body) if frame.body is not None else None,
        )
        started = time.monotonic()
        try:
            fetched = await self._http.goto(request)
        except (DriverError, Blocked) as e:
            ms = ms_since(started)
            reason = e.reason.value if isinstance(e, DriverError) else Reason.BLOCKED.value
            detail = e.detail if isinstance(e, DriverError) else str(e)
            await self._record(
                lambda s: s.record_failure(
                    key, "navigate", {"url": frame.url}, reason, detail, ms, url=frame.url, title=None
                )
            )
            raise
        ms = ms_since(started)
        await self._record(
            lambda s: s.record_navigation(key, frame.url, "response", fetched.url, "", fetched.status, ms)
        )
        for expect in self._expects:
            expect.check(fetched.status)
        return {
            "action": "goto",
            "url": fetched.url,
            "status_code": fetched.status,
            "headers": fetched.headers,
            "cookies": fetched.cookies,
            "body": base64.b64encode(fetched.body).decode() if frame.method != "HEAD" else None,
            "redirects": [
                {"url": h.url, "location": h.location, "side": "server", "type": h.type}
                for h in fetched.redirects
            ],
            "content_type": fetched.content_type,
        }

    async def _record(self, change: Any) -> None:
        await self._sessions.record(self._who, self.uuid, change)

    async def close(self, reason: str) -> None:
        try:
            await self._sessions.end(self.uuid, reason, self._who.api_key_id)
        finally:
            await self._http.close()


class BrowserDrive:
    """A `browser` client's session: the REST actions, on its live page."""

    client = "browser"

    def __init__(
        self, sessions: SessionService, who: Principal, uuid: UUID, timeout_ms: int, expects: list[_Expect]
    ) -> None:
        self._sessions = sessions
        self._actions: SessionActions = sessions.actions
        self._who = who
        self.uuid = uuid
        self._id = f"ses_{uuid}"
        self._timeout_ms = timeout_ms
        self._expects = expects

    def touch(self) -> None:
        live = self._sessions.live.get(self.uuid)
        if live is not None:
            live.touch()

    async def act(self, frame: Any) -> dict[str, Any]:
        who, timeout = self._who, self._timeout_ms
        match frame:
            case frames.Goto():
                _browser_navigates(frame)
                document = await self._actions.goto(who, self._id, frame.url, timeout)
                for expect in self._expects:
                    expect.check(document.status)
                return _goto_answer(document)
            case frames.Click():
                await self._actions.interact(
                    who, self._id, Interaction("tap", frame.selector, timeout_ms=timeout)
                )
                return {"action": "clicked"}
            case frames.Fill():
                fill = Interaction("fill", frame.selector, text=frame.value, timeout_ms=timeout)
                await self._actions.interact(who, self._id, fill)
                return {"action": "filled"}
            case frames.Content():
                state = await self._actions.state(who, self._id)
                return {"action": "content", "content": base64.b64encode(state["html"].encode()).decode()}
            case frames.Evaluate():
                value = await self._actions.evaluate(who, self._id, frame.script, timeout)
                return {"action": "evaluated", "result": value}
            case frames.Screenshot():
                shot = await self._actions.capture(who, self._id, "screenshot", False, keep=False)
                return {"action": "screenshot", "screenshot": shot["data"]}
        raise AssertionError(f"an action frame without a case: {frame!r}")

    async def close(self, reason: str) -> None:
        try:
            await self._sessions.end(self.uuid, reason, self._who.api_key_id)
        except DomainError:
            log.info("socket.session_already_gone", session_id=self._id)


def _browser_navigates(frame: frames.Goto) -> None:
    """The browser client navigates as its persona: a GET with its own agent, referrer and cookies."""
    if frame.method != "GET" or frame.body is not None:
        raise NotSupported("the browser client navigates with GET and no body: use the standard client")
    if frame.headers or frame.cookies or frame.referrer is not None or frame.user_agent != "inndx":
        raise NotSupported(
            "the browser client sends its persona's own agent, referrer, headers and cookies: "
            "headers, cookies, referrer and user_agent are the standard client's"
        )


def _goto_answer(document: Document) -> dict[str, Any]:
    return {
        "action": "goto",
        "url": document.url,
        "status_code": document.status,
        "headers": [list(h) for h in document.headers],
        "cookies": cookies_set(document.headers),
        "body": base64.b64encode(document.body).decode() if document.body is not None else None,
        "redirects": [
            {
                "url": hop.url,
                "location": hop.location,
                "side": "server",
                "type": REDIRECTS.get(hop.status, "temporary"),
            }
            for hop in document.redirects
        ],
        "content_type": document.content_type,
    }
