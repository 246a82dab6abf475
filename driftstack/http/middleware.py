"""Around every request: a request id, one structured log line, and problem details for errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from .problems import from_exception, problem

log = structlog.get_logger()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id") or f"req_{uuid.uuid4().hex}"
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    session_id = request.match_info.get("session_id")
    if session_id:
        structlog.contextvars.bind_contextvars(session_id=session_id)
    started = time.monotonic()
    response = await _answer(request, handler)
    response.headers["X-Request-Id"] = request_id
    log.info(
        "http.request",
        method=request.method,
        path=request.path,
        status=response.status,
        ms=round((time.monotonic() - started) * 1000, 1),
    )
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status == 404:
            return problem("not-found", f"no route {request.method} {request.path}", instance=request.path)
        if e.status == 405:
            return problem(
                "method-not-allowed",
                f"{request.method} is not allowed on {request.path}",
                instance=request.path,
            )
        if e.status == 413:
            return problem("payload-too-large", "the request body is too large", instance=request.path)
        raise
    except Exception as e:
        answer = from_exception(e, request.path)
        if answer is not None:
            return answer
        log.exception("http.unhandled", method=request.method, path=request.path)
        return problem("internal-error", "an unexpected error; it has been logged", instance=request.path)
