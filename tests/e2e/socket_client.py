"""A test's side of `GET /v1/sessions/ws`: a socket opened with a key, frames sent and read as JSON, and
a small site whose answers say what the standard client sent (redirects, cookies, retries)."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from ..conftest import Harness


class Socket:
    """One WebSocket to Driftstack, through aiohttp's client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, frame: Any) -> None:
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    async def read(self) -> dict[str, Any]:
        message = await self.ws.receive(timeout=60)
        assert message.type == aiohttp.WSMsgType.TEXT, (message.type, message.data)
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def ask(self, frame: Any) -> dict[str, Any]:
        await self.send(frame)
        return await self.read()

    async def closed(self) -> int | None:
        """Reads until the server closes; the close code."""
        message = await self.ws.receive(timeout=60)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), (
            message.type,
            message.data,
        )
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


def headers(key: str | None, tenant: str | None = None) -> dict[str, str]:
    sent = {}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    if tenant is not None:
        sent["X-Tenant-Id"] = tenant
    return sent


def ws_url(driftstack: Harness) -> str:
    return driftstack.base.replace("http://", "ws://") + "/v1/sessions/ws"


async def connect(driftstack: Harness, key: str, tenant: str | None = None) -> Socket:
    ws = await driftstack.http.ws_connect(ws_url(driftstack), headers=headers(key, tenant))
    return Socket(ws)


async def opened(driftstack: Harness, key: str, **open_frame: Any) -> tuple[Socket, dict[str, Any]]:
    socket = await connect(driftstack, key)
    answer = await socket.ask({"action": "open", **open_frame})
    assert answer.get("action") == "open", answer
    return socket, answer


# A 1x1 transparent PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


class Site:
    """Pages that answer what the standard client needs proven: hops, cookies, failures, an echo."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_get("/moved", self._moved)
        app.router.add_get("/moved-again", self._moved_again)
        app.router.add_get("/landing", self._landing)
        app.router.add_get("/flaky", self._flaky)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/gallery", self._gallery)
        app.router.add_get("/{name}.png", self._image)
        return app

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "headers": {k: v for k, v in request.headers.items() if k.lower() != "host"},
                "cookies": dict(request.cookies),
                "body": body.decode(errors="replace"),
            }
        )

    async def _moved(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/moved-again")

    async def _moved_again(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/landing")

    async def _landing(self, request: web.Request) -> web.Response:
        response = web.Response(
            text="<html><head><title>Landed</title></head><body><p id=here>landed</p></body></html>",
            content_type="text/html",
            headers={"X-Landed": "yes"},
        )
        response.set_cookie("visit", "1", path="/", httponly=True, samesite="Lax")
        return response

    async def _flaky(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        self.hits[key] += 1
        if self.hits[key] <= int(request.query.get("fail", "2")):
            return web.Response(status=503, text="try again")
        return web.Response(text=f"served after {self.hits[key]}")

    async def _gallery(self, request: web.Request) -> web.Response:
        return web.Response(
            text='<html><head><title>Gallery</title></head><body><img src="/a.png"><img src="/b.png"></body></html>',
            content_type="text/html",
        )

    async def _image(self, request: web.Request) -> web.Response:
        self.hits[f"{request.match_info['name']}.png"] += 1
        return web.Response(body=PIXEL, content_type="image/png")

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="as asked")
