"""Cursor pagination: one opaque cursor format (the sort key of the last row) everywhere."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import web

from ..clock import parse_iso
from ..domain.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def limit_of(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ValidationFailed("limit", f"an integer from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed("limit", f"an integer from 1 to {MAX_LIMIT}")
    return limit


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def cursor_of(request: web.Request) -> Any | None:
    raw = request.query.get("cursor")
    if not raw:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise ValidationFailed("cursor", "pass back a next_cursor exactly as received") from None


def time_cursor_of(request: web.Request) -> tuple[datetime, UUID] | None:
    """The (timestamp, id) a newest-first list continues after, from the cursor `time_key` made."""
    cursor = cursor_of(request)
    if cursor is None:
        return None
    try:
        at, last_id = cursor
        return parse_iso(at), UUID(last_id)
    except (TypeError, ValueError, AttributeError):  # not the [timestamp, id] pair we encode
        raise ValidationFailed("cursor", "pass back a next_cursor exactly as received") from None


def time_key(key: tuple[datetime, UUID]) -> list[str]:
    return [key[0].isoformat(), str(key[1])]


def page_body(rows: list[dict[str, Any]], limit: int, key_of: Callable[[Any], Any]) -> dict[str, Any]:
    """Rows were fetched with limit + 1: the extra one only says there is more."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(key_of(rows[-1].pop("_key"))) if has_more and rows else None
    for row in rows:
        row.pop("_key", None)
    return {"data": rows, "has_more": has_more, "next_cursor": next_cursor}
