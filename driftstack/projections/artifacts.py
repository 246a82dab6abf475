"""Kept captures as rows of the sessions view: one per artifact, gone once it is deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from ..clock import iso
from ..domain import ids
from ..domain.artifact import Artifact
from .keyset import newest_first

DDL = (
    "CREATE TABLE IF NOT EXISTS artifacts ("
    " id uuid PRIMARY KEY, session_id text NOT NULL, account_id text NOT NULL,"
    " created_at timestamptz NOT NULL, doc jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS artifacts_by_session ON artifacts (account_id, session_id, created_at DESC, id DESC)",
)


def write_created(curs: Cursor[DictRow], event: Artifact.Created) -> None:
    doc = {
        "id": ids.public_id(ids.ARTIFACT, event.originator_id),
        "session_id": event.session_id,
        "kind": event.kind,
        "content_type": event.content_type,
        "byte_size": event.byte_size,
        "sha256": event.sha256,
        "created_at": iso(event.timestamp),
    }
    curs.execute(
        "INSERT INTO artifacts (id, session_id, account_id, created_at, doc) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING",
        (event.originator_id, event.session_id, event.account_id, event.timestamp, Jsonb(doc)),
    )


def write_deleted(curs: Cursor[DictRow], event: Artifact.Deleted) -> None:
    curs.execute("DELETE FROM artifacts WHERE id = %s", (event.originator_id,))


class ArtifactsReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, account_id: str, artifact_id: UUID) -> dict[str, Any] | None:
        doc = await self._pool.fetchval(
            "SELECT doc FROM artifacts WHERE id = $1 AND account_id = $2", artifact_id, account_id
        )
        return dict(doc) if doc is not None else None

    async def page(
        self, account_id: str, session_id: str, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last row."""
        query, args = newest_first(
            "doc, created_at, id",
            "artifacts",
            sort="created_at",
            where=[("account_id = {}", account_id), ("session_id = {}", session_id)],
            after=after,
            limit=limit,
        )
        rows = await self._pool.fetch(query, *args)
        return [{**r["doc"], "_key": (r["created_at"], r["id"])} for r in rows]
