"""`GET /v1/sessions/ws`: one session driven over a WebSocket (seed 004).

The upgrade is refused (problem+json) without a valid key with the `write` scope. Then: an `open`
frame, its answer, and action frames answered in order. A bad frame answers an `error` frame and the
socket stays usable; the session's end, the key's loss, the idle timeout or a stop answers a `fatal`
one and closes. A socket that drops ends its session (`socket_closed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog
from aiohttp import WSMsgType, web
from pydantic import BaseModel

from ..access import Forbidden, Principal, Unauthorized
from ..domain.session import IDLE_TIMEOUT
from ..domain.tiers import TIERS
from ..socket_sessions import Drive
from .context import caller, credentials, services
from .frame_actions import answer, socket_spec
from .frame_errors import FrameError, frame_error
from .problems import UpgradeRequired
from .shapes import frames
from .validation import RequestInvalid, parse_json, read

log = structlog.get_logger()
routes = web.RouteTableDef()

# How often a socket's key is checked again (revoked, expired): at the first frame after this long.
AUTH_RECHECK_S = 5.0
# A client that stops reading: past this, a frame that cannot be sent closes the socket.
SEND_TIMEOUT_S = 30.0
HEARTBEAT_S = 30.0
# After a failure that leaves nothing to drive (a crashed browser), how long its end may take to be recorded.
END_RECORDED_S = 10.0
_END_CODES = {IDLE_TIMEOUT: 408, "service_stopped": 503}


# Every method, so no other is taken for `/v1/sessions/{session_id}` with the id "ws".
@routes.route("*", "/v1/sessions/ws")
async def session_socket(request: web.Request) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    who = await caller(request, "write", socket=True)  # refused before the upgrade: problem+json
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT_S, autoping=False, max_msg_size=frames.FRAME_HARD_LIMIT, compress=False
    )
    if not ws.can_prepare(request).ok:
        raise UpgradeRequired
    await ws.prepare(request)
    await SessionSocket(request, ws, who).run()
    return ws


class _Closing(Exception):
    """The socket is done: a fatal frame was sent, or the client is gone."""


class SessionSocket:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse, who: Principal) -> None:
        self._request = request
        self._ws = ws
        self._who = who
        self._services = services(request)
        self._drive: Drive | None = None
        self._checked_at = time.monotonic()
        self._idle_s = self._services.settings.idle_timeout_s or TIERS[who.tier].idle_timeout_s
        self._active_at = time.monotonic()  # the client's last frame or ping (its pongs do not count)

    async def run(self) -> None:
        sockets = self._services.sockets
        sockets.track(self._ws)
        try:
            await self._serve()
        except _Closing:
            pass
        finally:
            sockets.untrack(self._ws)
            if self._drive is not None:
                sockets.closed(self._who, self._drive)
                with contextlib.suppress(Exception):
                    await self._drive.close("socket_closed")  # nothing when it ended already
            await self._ws.close()

    async def _serve(self) -> None:
        drive = await self._opened()
        self._drive = drive
        await self._send(
            frames.Opened(
                action="open",
                session_id=str(drive.uuid),
                id=f"ses_{drive.uuid}",
                client="standard" if drive.client == "standard" else "browser",
            )
        )
        log.info("socket.opened", session_id=f"ses_{drive.uuid}", client=drive.client)
        ended = self._services.sessions.watch_end(drive.uuid)
        while True:
            data = await self._frame(ended)
            if data is None:
                continue
            await self._still_allowed(drive)
            if data.get("action") in (None, "open"):
                await self._error(FrameError(400, "the session is already open: send action frames"))
                continue
            try:
                frame: Any = read(frames.ClientFrame, data, origin="frame")
            except RequestInvalid as e:
                await self._error(frame_error(e))
                continue
            if isinstance(frame, frames.Close):
                await drive.close("client_request")
                await self._send(frames.Closed(action="closed"))
                log.info("socket.closed", session_id=f"ses_{drive.uuid}", by="client")
                raise _Closing
            try:
                answered = await answer(drive, frame)
            except Exception as e:  # noqa: BLE001  (each said as its error frame; a bug is logged, code 500)
                error = frame_error(e)
                if ended.is_set() or error.fatal:
                    await self._ended(drive, ended, error)
                await self._error(error)
                continue
            self._active_at = time.monotonic()  # idle counts from the answer, not from a long action's start
            await self._send_text(answered)

    async def _opened(self) -> Drive:
        """The session the `open` frame asks for; frames before it answer errors, a failed open is fatal."""
        while True:
            data = await self._frame()
            if data is None:
                continue
            if data.get("action") not in (None, "open"):
                await self._error(FrameError(400, "send an open frame first"))
                continue
            try:
                opening: frames.Open = read(frames.Open, data, origin="open")
                return await self._services.sockets.open(self._who, socket_spec(opening))
            except Exception as e:  # noqa: BLE001  (an open that fails is the socket's last word)
                await self._fatal(frame_error(e, opening=True))

    async def _frame(self, ended: asyncio.Event | None = None) -> dict[str, Any] | None:
        """The next text frame as a JSON object; None after answering an `error` for a bad one."""
        receiving = asyncio.ensure_future(self._ws.receive())
        waits: set[asyncio.Future[Any]] = {receiving}
        watching = asyncio.ensure_future(ended.wait()) if ended is not None else None
        if watching is not None:
            waits.add(watching)
        try:
            left = self._active_at + self._idle_s - time.monotonic()
            done, _ = await asyncio.wait(waits, timeout=max(0.0, left), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if watching is not None:
                watching.cancel()
        if receiving not in done:
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiving
            if ended is not None and ended.is_set():
                await self._ended(self._drive, ended)
            if self._drive is not None:
                await self._drive.close(IDLE_TIMEOUT)
            await self._fatal(FrameError(408, f"no frame for {self._idle_s:g} s: the session timed out idle"))
        message = receiving.result()
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            raise _Closing
        if message.type is WSMsgType.PING:
            self._active_at = time.monotonic()
            await self._ws.pong(message.data)
            if self._drive is not None:
                self._drive.touch()
            return None
        if message.type is WSMsgType.PONG:
            return None  # an answer to the heartbeat: the client is there, but not active
        self._active_at = time.monotonic()
        if message.type is WSMsgType.BINARY:
            await self._error(FrameError(400, "frames are JSON text; a binary frame is not read"))
            return None
        raw = message.data.encode("utf-8", "surrogatepass")
        if len(raw) > frames.FRAME_LIMIT:
            await self._error(
                FrameError(413, f"the frame is {len(raw)} bytes; the bound is {frames.FRAME_LIMIT}")
            )
            return None
        try:
            data = parse_json(raw)
        except RequestInvalid as e:
            await self._error(frame_error(e))
            return None
        if not isinstance(data, dict):
            await self._error(FrameError(400, "a frame is a JSON object"))
            return None
        return data

    async def _still_allowed(self, drive: Drive) -> None:
        """The key still works (not revoked, not expired): checked again every AUTH_RECHECK_S."""
        if time.monotonic() - self._checked_at < AUTH_RECHECK_S:
            return
        bearer, acting_for = credentials(self._request, socket=True)
        try:
            who = await self._services.authenticator.principal(bearer, acting_for)
            who.require("write")
        except (Unauthorized, Forbidden) as e:
            await drive.close("key_refused")
            await self._fatal(frame_error(e))
        self._checked_at = time.monotonic()  # a store away for a moment is not a lost key: the check waits

    async def _ended(
        self, drive: Drive | None, ended: asyncio.Event, error: FrameError | None = None
    ) -> None:
        """The session ended elsewhere (REST, a crash, the idle timeout, a stop), or an action's failure
        left nothing to drive: the fatal frame, saying how it ended once its end is on record."""
        if drive is None:
            raise _Closing
        try:
            await asyncio.wait_for(ended.wait(), END_RECORDED_S)
        except TimeoutError:
            await drive.close("socket_closed")
            await self._fatal(error or FrameError(410, "the session can no longer act"))
        status, reason = await self._services.sessions.ending(self._who, drive.uuid)
        code = _END_CODES.get(reason or "", 410)
        await self._fatal(FrameError(code, f"the session ended: {status} ({reason})"))

    async def _error(self, error: FrameError) -> None:
        await self._send(frames.ErrorFrame(type="error", message=error.message, code=error.code))

    async def _fatal(self, error: FrameError) -> None:
        with contextlib.suppress(_Closing):
            await self._send(frames.ErrorFrame(type="fatal", message=error.message, code=error.code))
        raise _Closing

    async def _send(self, frame: BaseModel) -> None:
        await self._send_text(frame.model_dump_json())

    async def _send_text(self, text: str) -> None:
        """One frame out; a client that does not read it within SEND_TIMEOUT_S loses its socket."""
        if self._ws.closed:
            raise _Closing
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self._ws.send_str(text)
        except (TimeoutError, ConnectionError, RuntimeError):
            raise _Closing from None
