"""A session's action log and navigation history: rows of the sessions view, one per action event.

Written by the sessions projection in the same transaction as the session's row, so the log, the
counts on the session and the history never disagree. Kept after the session ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatch
from typing import Any
from uuid import UUID, uuid5

import asyncpg
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from ..clock import iso, parse_iso
from ..domain.session import Session

DDL = (
    "CREATE TABLE IF NOT EXISTS session_actions ("
    " session_id uuid NOT NULL, seq integer NOT NULL, account_id text NOT NULL,"
    " doc jsonb NOT NULL, PRIMARY KEY (session_id, seq))",
    "CREATE TABLE IF NOT EXISTS session_navigations ("
    " session_id uuid NOT NULL, seq integer NOT NULL, account_id text NOT NULL,"
    " doc jsonb NOT NULL, PRIMARY KEY (session_id, seq))",
)


def action_id(session_id: UUID, version: int) -> str:
    """Stable across rebuilds of the view: derived from the event, like an audit entry's id."""
    return f"act_{uuid5(session_id, str(version))}"


@dataclass(frozen=True)
class Action:
    """One entry of the action log."""

    type: str
    success: bool
    details: dict[str, Any]
    duration_ms: int
    error: dict[str, str] | None = None


@singledispatch
def action_of(event: Any) -> Action | None:
    """The action log entry an event is; None: the event is not an action."""
    return None


@action_of.register
def _(event: Session.Navigated) -> Action:
    details = {
        "url": event.url,
        "wait_until": event.wait_until,
        "final_url": event.final_url,
        "http_status": event.http_status,
    }
    return Action("navigate", True, details, event.duration_ms)


@action_of.register
def _(event: Session.Interacted) -> Action:
    return Action("interact", True, dict(event.details), event.duration_ms)


@action_of.register
def _(event: Session.Waited) -> Action:
    return Action("wait", True, dict(event.details), event.duration_ms)


@action_of.register
def _(event: Session.StateRead) -> Action:
    return Action("state", True, {"url": event.url, "byte_size": event.byte_size}, event.duration_ms)


@action_of.register
def _(event: Session.Captured) -> Action:
    details = {"kind": event.kind, "full_page": event.full_page, "byte_size": event.byte_size}
    return Action("capture", True, details, event.duration_ms)


@action_of.register
def _(event: Session.Evaluated) -> Action:
    details = {"script_length": event.script_length, "result_size": event.result_size}
    return Action("evaluate", True, details, event.duration_ms)


@action_of.register
def _(event: Session.ActionFailed) -> Action:
    error = {"reason": event.reason, "message": event.error}
    return Action(event.action, False, dict(event.details), event.duration_ms, error)


def _insert(table: str, condition: str = "") -> str:
    """A row of `table` for the event, owned by its session's account (and only if `condition` holds)."""
    return (
        f"INSERT INTO {table} (session_id, seq, account_id, doc)"
        " SELECT %(session_id)s, %(seq)s, account_id, %(doc)s FROM sessions"
        f" WHERE id = %(session_id)s{condition} ON CONFLICT (session_id, seq) DO NOTHING"
    )


# A page an interaction or a wait left on another URL (a link tapped, a form submitted) is a
# navigation too; compared with where the session stood before the event's patch.
_MOVED = _insert("session_navigations", " AND doc->>'current_url' IS DISTINCT FROM %(url)s")


def write_history(curs: Cursor[DictRow], event: Any) -> None:
    """The event's action log entry and navigation, if it is either. Runs before the session's patch."""
    session_id, seq, at = event.originator_id, event.originator_version, iso(event.timestamp)
    action = action_of(event)
    by = action_id(session_id, seq) if action is not None else None
    if action is not None:
        doc = {
            "id": by,
            "type": action.type,
            "at": at,
            "success": action.success,
            "details": action.details,
            "duration_ms": action.duration_ms,
            "error": action.error,
        }
        curs.execute(_insert("session_actions"), {"session_id": session_id, "seq": seq, "doc": Jsonb(doc)})
    navigation = _navigation_of(event)
    if navigation is None:
        return
    doc = {**navigation, "at": at, "action_id": by}
    params = {"session_id": session_id, "seq": seq, "doc": Jsonb(doc), "url": navigation["url"]}
    curs.execute(_insert("session_navigations") if isinstance(event, Session.Navigated) else _MOVED, params)


def _navigation_of(event: Any) -> dict[str, Any] | None:
    if isinstance(event, Session.Navigated):
        return {"url": event.final_url, "title": event.title, "http_status": event.http_status}
    if isinstance(event, Session.Interacted | Session.Waited | Session.PageMoved):
        return {"url": event.url, "title": event.title, "http_status": None}
    return None


class SessionHistoryReader:
    """Reads of a session's action log and navigation history, oldest first, through asyncpg."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def actions(self, account_id: str, session_id: UUID, *, after: int, limit: int) -> dict[str, Any]:
        return await self._page("session_actions", account_id, session_id, after=after, limit=limit)

    async def navigations(
        self, account_id: str, session_id: UUID, *, after: int, limit: int
    ) -> dict[str, Any]:
        return await self._page("session_navigations", account_id, session_id, after=after, limit=limit)

    async def _page(
        self, table: str, account_id: str, session_id: UUID, *, after: int, limit: int
    ) -> dict[str, Any]:
        """`limit` rows after the position `after` (rows carry their `_key`), and the total."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            rows = await conn.fetch(
                # `after` may be any cursor of the documented form, past an int4 too.
                f"SELECT seq, doc FROM {table} WHERE session_id = $1 AND account_id = $2 AND seq > $3::bigint"
                " ORDER BY seq LIMIT $4",
                session_id,
                account_id,
                after,
                limit,
            )
            total = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE session_id = $1 AND account_id = $2",
                session_id,
                account_id,
            )
        return {"rows": [{**r["doc"], "_key": r["seq"]} for r in rows], "total": total}


def duration_ms(doc: dict[str, Any], at: datetime) -> int:
    """Creation to its end, or to `at` while it lives."""
    start = parse_iso(doc["created_at"])
    end = parse_iso(doc["destroyed_at"]) if doc.get("destroyed_at") else at
    return max(0, int((end - start).total_seconds() * 1000))
