"""Around every request: a request id, one structured log line, and problem details for errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from .problems import from_exception, problem
from .shapes.base import UNSAFE_MESSAGE, is_safe
from .validation import invalid

# The headers the service reads; others it never stores, so it leaves them be.
READ_HEADERS = ("Authorization", "X-Driftstack-Account", "X-Request-Id")

log = structlog.get_logger()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id", "")
    if not request_id or not is_safe(request_id):
        request_id = f"req_{uuid.uuid4().hex}"
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


def refuse_unsafe_text(request: web.Request) -> None:
    """Text the store cannot hold (NUL, lone surrogates) is refused wherever a client puts it; bodies
    are checked as they are read (`validation.parse_json`)."""
    if not is_safe(request.path):
        raise invalid("path", UNSAFE_MESSAGE)
    for name, value in request.query.items():
        if not is_safe(name) or not is_safe(value):
            raise invalid(name if is_safe(name) else "query", UNSAFE_MESSAGE)
    for name in READ_HEADERS:
        if not is_safe(request.headers.get(name, "")):
            raise invalid(name, UNSAFE_MESSAGE)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        refuse_unsafe_text(request)
        return await handler(request)
    except web.HTTPException as e:
        if e.status == 404:
            return problem("not-found", f"no route {request.method} {request.path}", instance=request.path)
        if isinstance(e, web.HTTPMethodNotAllowed):
            allowed = ", ".join(sorted(e.allowed_methods))
            return problem(
                "method-not-allowed",
                f"{request.method} is not allowed on {request.path}; it allows {allowed}",
                instance=request.path,
                headers={"Allow": allowed},  # RFC 9110 §15.5.6: a 405 must say what is allowed
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
