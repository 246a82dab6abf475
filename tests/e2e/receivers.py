"""A webhook receiver on 127.0.0.1: records every request and answers as a test scripts it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook

Answer = int | Callable[[], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    path: str = "/"

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def type(self) -> str:
        return str(self.payload["type"])

    def verified_with(self, secret: str) -> dict[str, Any]:
        """The payload, verified by the `standardwebhooks` package as any subscriber would."""
        data: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return data


class Receiver:
    """Answers 200 unless `answers` holds something else for the next request (a status or a handler)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[Answer] = []
        self.retry_after: str | None = None
        self.url = ""
        self._arrived = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(dict(request.headers), await request.read(), request.path))
        self._arrived.set()
        answer = self.answers.pop(0) if self.answers else 200
        if callable(answer):
            return await answer()
        headers = {"Retry-After": self.retry_after} if self.retry_after and answer >= 400 else None
        return web.Response(status=answer, text=f"answered {answer}", headers=headers)

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.type == event_type]

    async def until(
        self, check: Callable[[], Any], *, deadline_s: float = 30.0, what: str = "requests"
    ) -> Any:
        """Waits until `check()` is truthy as requests arrive; fails after `deadline_s`."""
        deadline = time.monotonic() + deadline_s
        while True:
            self._arrived.clear()
            result = check()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{what} not received within {deadline_s} s: {self.received!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))


async def an_endpoint(api: Any, url: str, event_types: list[str], **fields: Any) -> dict[str, Any]:
    """A registered endpoint, with the secret its creation shows once."""
    status, endpoint, _ = await api.post("/v1/webhooks", {"url": url, "event_types": event_types, **fields})
    assert status == 201, endpoint
    return dict(endpoint)


async def deliveries(api: Any, endpoint_id: str, query: str = "") -> list[dict[str, Any]]:
    status, page, _ = await api.get(f"/v1/webhooks/{endpoint_id}/deliveries{query}")
    assert status == 200, page
    return list(page["data"])
