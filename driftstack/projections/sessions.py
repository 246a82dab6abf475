"""The sessions view: one row per session, serving `GET /v1/sessions` and `GET /v1/sessions/:id`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatch, singledispatchmethod
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Tracking
from psycopg import Cursor, sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from ..clock import iso, now
from ..domain.artifact import Artifact
from ..domain.session import Session
from . import artifacts
from .artifacts import DDL as ARTIFACTS_DDL
from .keyset import newest_first
from .session_actions import DDL as HISTORY_DDL
from .session_actions import duration_ms, write_history
from .view import View, ViewProjection


def new_session_document(
    *,
    session_id: UUID,
    account_id: str,
    api_key_id: str,
    archetype: str,
    purpose: str,
    label: str | None,
    metadata: dict[str, Any] | None,
    behavioral_profile: str | None,
    profile_id: str | None,
    created_at: datetime,
    socket_client: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """The session resource as it stands when created; events patch it from there."""
    created = iso(created_at)
    return {
        "id": f"ses_{session_id}",
        "account_id": account_id,
        "api_key_id": api_key_id,
        "status": "creating",
        "archetype": archetype,
        "purpose": purpose,
        "label": label,
        "metadata": metadata,
        "behavioral_profile": behavioral_profile,
        "profile_id": profile_id,
        "socket_client": socket_client,
        "reason": None,
        "engine": None,
        "engine_version": None,
        "tap_kind": None,
        "current_url": None,
        "title": None,
        "action_count": 0,
        "screenshot_count": 0,
        "duration_ms": 0,
        "created_at": created,
        "updated_at": created,
        "last_state_at": None,
        "destroyed_at": None,
    }


FIELDS = tuple(
    new_session_document(
        session_id=UUID(int=0),
        account_id="",
        api_key_id="",
        archetype="",
        purpose="",
        label=None,
        metadata=None,
        behavioral_profile=None,
        profile_id=None,
        created_at=datetime.now(),
    )
)


def ordered(doc: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The resource as of `at`: its fields in the documented order (jsonb keeps keys in its own)
    and `duration_ms`, which runs on while the session lives."""
    shown = {name: doc.get(name) for name in FIELDS}
    shown["duration_ms"] = duration_ms(doc, at)
    return shown


class SessionsView(View):
    ddl = (
        "CREATE TABLE IF NOT EXISTS sessions ("
        " id uuid PRIMARY KEY, account_id text NOT NULL, status text NOT NULL,"
        " created_at timestamptz NOT NULL, node text NOT NULL, doc jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account_id, created_at DESC, id DESC)",
        "CREATE INDEX IF NOT EXISTS sessions_by_account_status"
        " ON sessions (account_id, status, created_at DESC, id DESC)",
        "CREATE INDEX IF NOT EXISTS sessions_live_by_node ON sessions (node)"
        " WHERE status IN ('creating', 'ready')",
        *HISTORY_DDL,
        *ARTIFACTS_DDL,
    )


_PATCH = (
    "UPDATE {table} SET status = COALESCE(%(status)s, status),"
    " doc = doc || %(patch)s || jsonb_build_object("
    "  'action_count', (doc->>'action_count')::int + %(actions)s,"
    "  'screenshot_count', (doc->>'screenshot_count')::int + %(screenshots)s)"
    " WHERE id = %(id)s"
)


@dataclass(frozen=True)
class SessionPatch:
    """What one event changes in a session document."""

    status: str | None = None
    state: bool = False  # an acknowledged action: last_state_at moves
    actions: int = 0
    screenshots: int = 0
    fields: dict[str, Any] = field(default_factory=dict)


@singledispatch
def patch_for(event: Any) -> SessionPatch | None:
    """How a session event (other than Created) changes the document; None: it does not."""
    return None


@patch_for.register
def _(event: Session.Provisioned) -> SessionPatch:
    return SessionPatch(
        status="ready",
        fields={"engine": event.engine, "engine_version": event.engine_version, "tap_kind": event.tap_kind},
    )


@patch_for.register
def _(event: Session.Navigated) -> SessionPatch:
    return SessionPatch(state=True, actions=1, fields={"current_url": event.final_url, "title": event.title})


@patch_for.register(Session.Interacted)
@patch_for.register(Session.Waited)
def _(event: Session.Interacted | Session.Waited) -> SessionPatch:
    return SessionPatch(state=True, actions=1, fields={"current_url": event.url, "title": event.title})


@patch_for.register
def _(event: Session.StateRead) -> SessionPatch:
    return SessionPatch(state=True, actions=1, fields=_location(event.url, event.title))


@patch_for.register
def _(event: Session.Evaluated) -> SessionPatch:
    return SessionPatch(state=True, actions=1, fields=_location(event.url, event.title))


@patch_for.register
def _(event: Session.PageMoved) -> SessionPatch:
    return SessionPatch(fields=_location(event.url, event.title))


@patch_for.register
def _(event: Session.Captured) -> SessionPatch:
    return SessionPatch(state=True, actions=1, screenshots=1 if event.kind == "screenshot" else 0)


@patch_for.register
def _(event: Session.ActionFailed) -> SessionPatch:
    # A failed navigation moves the page too: onto the engine's error page for the URL that failed.
    return SessionPatch(actions=1, fields=_location(event.url, event.title))


def _location(url: str | None, title: str | None) -> dict[str, Any]:
    """The document fields an event's reading of the page sets (events before v2 lack some)."""
    fields: dict[str, Any] = {}
    if url is not None:
        fields["current_url"] = url
    if title is not None:
        fields["title"] = title
    return fields


@patch_for.register
def _(event: Session.Destroyed) -> SessionPatch:
    return SessionPatch(
        status="destroyed", fields={"reason": event.reason, "destroyed_at": iso(event.timestamp)}
    )


@patch_for.register
def _(event: Session.Errored) -> SessionPatch:
    return SessionPatch(
        status="errored", fields={"reason": event.reason, "destroyed_at": iso(event.timestamp)}
    )


def write_patch(
    curs: Cursor[DictRow], table: str, event: Any, patch: SessionPatch, *, returning: bool = True
) -> dict[str, Any] | None:
    """Applies the patch to the row of `table` (a sessions table with `status` and `doc`); the new document.

    `returning=False` does not read the document back: in a pipelined run, reading waits for the
    server, while a write alone travels on with the run's other statements.
    """
    at = iso(event.timestamp)
    changes = dict(patch.fields)
    if patch.status is not None:
        changes.update(status=patch.status, updated_at=at)
    if patch.state:
        changes["last_state_at"] = at
    params = {
        "id": event.originator_id,
        "status": patch.status,
        "patch": Jsonb(changes),
        "actions": patch.actions,
        "screenshots": patch.screenshots,
    }
    if not returning:
        curs.execute(sql.SQL(_PATCH).format(table=sql.Identifier(table)), params)
        return None
    curs.execute(sql.SQL(_PATCH + " RETURNING doc").format(table=sql.Identifier(table)), params)
    row = curs.fetchone()
    return ordered(row["doc"], event.timestamp) if row is not None else None


class SessionsProjection(ViewProjection[SessionsView]):
    name = "sessions_view"
    handled_by_default = tuple(t for t in patch_for.registry if t is not object)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        patch = patch_for(domain_event)
        if patch is None:
            self.apply(tracking)
            return

        def write(curs: Cursor[DictRow]) -> None:
            write_history(curs, domain_event)  # first: it compares with where the session stood
            write_patch(curs, "sessions", domain_event, patch, returning=False)

        self.apply(tracking, write)

    @process_event.register
    def _artifact_kept(self, event: Artifact.Created, tracking: Tracking) -> None:
        self.apply(tracking, lambda curs: artifacts.write_created(curs, event))

    @process_event.register
    def _artifact_deleted(self, event: Artifact.Deleted, tracking: Tracking) -> None:
        self.apply(tracking, lambda curs: artifacts.write_deleted(curs, event))

    @process_event.register
    def _created(self, event: Session.Created, tracking: Tracking) -> None:
        doc = new_session_document(
            session_id=event.originator_id, created_at=event.timestamp, **event.__dict__
        )
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "INSERT INTO sessions (id, account_id, status, created_at, node, doc)"
                " VALUES (%s, %s, 'creating', %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (event.originator_id, event.account_id, event.timestamp, event.node, Jsonb(doc)),
            ),
        )


class SessionsReader:
    """Queries of the sessions view, through asyncpg."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, account_id: str, session_id: UUID) -> dict[str, Any] | None:
        doc = await self._pool.fetchval(
            "SELECT doc FROM sessions WHERE id = $1 AND account_id = $2", session_id, account_id
        )
        return ordered(doc, now()) if doc is not None else None

    async def page(
        self,
        account_id: str,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None,
        statuses: list[str] | None,
        only_ids: list[UUID] | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last row."""
        where: list[tuple[str, Any]] = [("account_id = {}", account_id)]
        if statuses:
            where.append(("status = ANY({})", statuses))
        if only_ids is not None:
            where.append(("id = ANY({})", only_ids))
        query, args = newest_first(
            "doc, created_at, id", "sessions", sort="created_at", where=where, after=after, limit=limit
        )
        rows = await self._pool.fetch(query, *args)
        at = now()
        return [{**ordered(r["doc"], at), "_key": (r["created_at"], r["id"])} for r in rows]
