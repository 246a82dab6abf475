"""The one way a handler answers with JSON: through the answer's declaration, so the two cannot drift apart."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import structlog
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

log = structlog.get_logger()


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def answer(shape: Any, value: Any, *, status: int = 200) -> web.Response:
    """`value` read as `shape` and written as JSON. Measured: about what `json.dumps` alone costs (a
    session ~10 µs more, a capture less).

    A value that does not fit its declaration is a bug or a stored fact the API would refuse today (an
    event written before a rule, or by another writer): it is logged and sent as it is, since a read
    must never fail on what the store holds. The conformance tests keep the two in step."""
    adapter = _adapter(shape)
    try:
        # A member that may be absent stays absent (a viewport the browser did not report).
        body = adapter.dump_json(adapter.validate_python(value), exclude_unset=True)
    except ValidationError as e:
        # Where and what kind only: the values may be anything a client once sent.
        log.warning(
            "http.answer_undeclared",
            shape=getattr(shape, "__name__", str(shape)),
            errors=[{"at": ".".join(map(str, err["loc"])), "type": err["type"]} for err in e.errors()],
        )
        body = json.dumps(value, default=str).encode()
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")
