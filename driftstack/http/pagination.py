"""Cursor pagination: one page shape `{data, has_more, next_cursor}` everywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .shapes.common import position_cursor, time_cursor


def time_key(key: tuple[datetime, Any]) -> str:
    return time_cursor(key)


def position_key(key: int) -> str:
    return position_cursor(key)


def page_body(rows: list[dict[str, Any]], limit: int, cursor_of: Callable[[Any], str]) -> dict[str, Any]:
    """Rows were fetched with limit + 1: the extra one only says there is more."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursor_of(rows[-1].pop("_key")) if has_more and rows else None
    for row in rows:
        row.pop("_key", None)
    return {"data": rows, "has_more": has_more, "next_cursor": next_cursor}
