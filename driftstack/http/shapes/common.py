"""Shapes several resources share: free-form JSON, timestamps, page sizes, cursors and the page itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import AfterValidator, Field, WithJsonSchema

from .base import SAFE_TEXT, Query, Response, documented, integer, public_id, refused, text

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_METADATA_BYTES = 16_384
JSON_VALUE = "#/components/schemas/JsonValue"

# Any JSON whose every string (object keys too) the store can hold: a component of its own because
# it nests. The depth bound (MAX_DEPTH) is checked on the raw body, before any of this.
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value whose strings (object keys included) hold no NUL or lone surrogate.",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "number"},
        {"type": "string", "pattern": documented(SAFE_TEXT)},
        {"type": "array", "items": {"$ref": JSON_VALUE}},
        {
            "type": "object",
            "propertyNames": {"pattern": documented(SAFE_TEXT)},
            "additionalProperties": {"$ref": JSON_VALUE},
        },
    ],
}


def _small(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise refused(f"at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(_small),
    WithJsonSchema(
        {
            "type": "object",
            "description": f"Any JSON object for your own bookkeeping, at most {MAX_METADATA_BYTES} bytes "
            "once serialised.",
            "propertyNames": {"pattern": documented(SAFE_TEXT)},
            # pydantic resolves every `$ref` it writes; this one the OpenAPI document resolves.
            "additionalProperties": {"x-component": "JsonValue"},
        }
    ),
]

Limit = integer(1, MAX_LIMIT, from_text=True, description=f"Page size, 1 to {MAX_LIMIT}.")

# Cursors are opaque to clients, but every string of their documented form continues a list (a
# fuzzer, or a client, that makes one up gets a page, not a 400): a time cursor is the microseconds
# since the epoch (16 hex digits) and the uuid (32 hex digits) of the last row; a position cursor
# is the last row's position in its log.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)
_CURSOR_MESSAGE = "pass back a next_cursor exactly as received"
TimeCursor = text(
    pattern="^[0-9a-f]{48}$",
    message=_CURSOR_MESSAGE,
    description="The previous page's `next_cursor`, exactly as received.",
)
PositionCursor = text(
    pattern="^[0-9]{1,18}$",
    message=_CURSOR_MESSAGE,
    description="The previous page's `next_cursor`, exactly as received.",
)


def time_cursor(key: tuple[datetime, Any]) -> str:
    micros = (key[0] - _EPOCH) // timedelta(microseconds=1)
    return f"{micros:016x}{UUID(str(key[1])).hex}"


def time_after(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    micros = int(cursor[:16], 16)
    try:
        at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        at = _LAST  # past any row: the list continues from its newest
    return min(at, _LAST), UUID(hex=cursor[16:])


def position_cursor(position: int) -> str:
    return str(position)


class TimePage(Query):
    """A newest-first list by creation time."""

    limit: Limit = DEFAULT_LIMIT
    cursor: TimeCursor | None = None

    @property
    def after(self) -> tuple[datetime, UUID] | None:
        return time_after(self.cursor)


class PositionPage(Query):
    """A newest-first list by position in a log."""

    limit: Limit = DEFAULT_LIMIT
    cursor: PositionCursor | None = None

    @property
    def before(self) -> int | None:
        return None if self.cursor is None else int(self.cursor)


class NoQuery(Query):
    """An operation that takes no query parameters (any answers 400)."""


AccountId = public_id("acc", "The owner's account id.")


# Every time the API answers is UTC with milliseconds (`clock.iso`): a component of its own.
TIMESTAMP_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
    "examples": ["2026-05-12T12:00:00.000Z"],
}
Timestamp = Annotated[
    str, Field(pattern=TIMESTAMP_SCHEMA["pattern"]), WithJsonSchema({"x-component": "Timestamp"})
]

Item = TypeVar("Item")


class Page(Response, Generic[Item]):
    """One page of a list, newest first. Pass `next_cursor` back as `?cursor=` for the next."""

    data: list[Item] = Field(max_length=MAX_LIMIT)
    has_more: bool
    next_cursor: str | None = Field(description="Opaque; null on the last page.")
