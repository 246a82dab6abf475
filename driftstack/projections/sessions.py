"""The sessions view: one row per session, serving `GET /v1/sessions` and `GET /v1/sessions/:id`."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from ..clock import iso
from ..domain.session import Session
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
        "reason": None,
        "current_url": None,
        "title": None,
        "action_count": 0,
        "screenshot_count": 0,
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


def _ordered(doc: dict[str, Any]) -> dict[str, Any]:
    # jsonb keeps keys in its own order; clients read the resource in the documented one.
    return {name: doc.get(name) for name in FIELDS}


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
    )


_PATCH = (
    "UPDATE sessions SET status = COALESCE(%(status)s, status),"
    " doc = doc || %(patch)s || jsonb_build_object("
    "  'action_count', (doc->>'action_count')::int + %(actions)s,"
    "  'screenshot_count', (doc->>'screenshot_count')::int + %(screenshots)s)"
    " WHERE id = %(id)s"
)


class SessionsProjection(ViewProjection[SessionsView]):
    name = "sessions_view"

    def _patch(
        self,
        event: Any,
        tracking: Tracking,
        *,
        status: str | None = None,
        state: bool = False,
        screenshots: int = 0,
        actions: int = 0,
        **fields: Any,
    ) -> None:
        at = iso(event.timestamp)
        patch = dict(fields)
        if status is not None:
            patch.update(status=status, updated_at=at)
        if state:
            patch["last_state_at"] = at
        params = {
            "id": event.originator_id,
            "status": status,
            "patch": Jsonb(patch),
            "actions": actions,
            "screenshots": screenshots,
        }
        self.apply(tracking, lambda curs: curs.execute(_PATCH, params))

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.apply(tracking)

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

    @process_event.register
    def _provisioned(self, event: Session.Provisioned, tracking: Tracking) -> None:
        self._patch(event, tracking, status="ready")

    @process_event.register
    def _navigated(self, event: Session.Navigated, tracking: Tracking) -> None:
        self._patch(event, tracking, state=True, actions=1, current_url=event.final_url, title=event.title)

    @process_event.register
    def _interacted(self, event: Session.Interacted, tracking: Tracking) -> None:
        self._patch(event, tracking, state=True, actions=1, current_url=event.url, title=event.title)

    @process_event.register
    def _waited(self, event: Session.Waited, tracking: Tracking) -> None:
        self._patch(event, tracking, state=True, actions=1, current_url=event.url, title=event.title)

    @process_event.register
    def _state_read(self, event: Session.StateRead, tracking: Tracking) -> None:
        self._patch(event, tracking, state=True, actions=1, current_url=event.url)

    @process_event.register
    def _captured(self, event: Session.Captured, tracking: Tracking) -> None:
        shots = 1 if event.kind == "screenshot" else 0
        self._patch(event, tracking, state=True, actions=1, screenshots=shots)

    @process_event.register
    def _action_failed(self, event: Session.ActionFailed, tracking: Tracking) -> None:
        self._patch(event, tracking, actions=1)

    @process_event.register
    def _destroyed(self, event: Session.Destroyed, tracking: Tracking) -> None:
        at = iso(event.timestamp)
        self._patch(event, tracking, status="destroyed", reason=event.reason, destroyed_at=at)

    @process_event.register
    def _errored(self, event: Session.Errored, tracking: Tracking) -> None:
        at = iso(event.timestamp)
        self._patch(event, tracking, status="errored", reason=event.reason, destroyed_at=at)


class SessionsReader:
    """Queries of the sessions view, through asyncpg."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, account_id: str, session_id: UUID) -> dict[str, Any] | None:
        doc = await self._pool.fetchval(
            "SELECT doc FROM sessions WHERE id = $1 AND account_id = $2", session_id, account_id
        )
        return _ordered(doc) if doc is not None else None

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
        clauses = ["account_id = $1"]
        args: list[Any] = [account_id]
        if statuses:
            args.append(statuses)
            clauses.append(f"status = ANY(${len(args)})")
        if only_ids is not None:
            args.append(only_ids)
            clauses.append(f"id = ANY(${len(args)})")
        if after is not None:
            args.extend(after)
            clauses.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
        args.append(limit)
        rows = await self._pool.fetch(
            f"SELECT doc, created_at, id FROM sessions WHERE {' AND '.join(clauses)}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        return [{**_ordered(r["doc"]), "_key": (r["created_at"], r["id"])} for r in rows]
