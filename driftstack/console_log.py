"""Sessions' console entries, kept in PostgreSQL beside the events and read after the session ends.

A page may log thousands of lines a second: an entry is no fact of the session's history, so it is
not an event. Entries wait in memory and are written in batches by one background task, never on an
action's path; each session keeps its last KEPT entries (older ones are dropped first).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from eventsourcing.postgres import PostgresDatastore

from .clock import iso, now
from .drivers.base import ConsoleEntry

log = structlog.get_logger()

KEPT = 5_000  # entries per session
FLUSH_EVERY_S = 0.25
# Past this many waiting entries (the store away), the newest are dropped and counted.
PENDING_CAP = 50_000

_DDL = (
    "CREATE TABLE IF NOT EXISTS session_console ("
    " session_id uuid NOT NULL, seq integer NOT NULL, account_id text NOT NULL,"
    " at timestamptz NOT NULL, level text NOT NULL, message text NOT NULL, url text, line integer,"
    " PRIMARY KEY (session_id, seq))"
)


def create_table(datastore: PostgresDatastore) -> None:
    with datastore.transaction(commit=True) as curs:
        curs.execute(_DDL)


@dataclass(frozen=True)
class _Pending:
    session_id: UUID
    seq: int
    account_id: str
    at: datetime
    entry: ConsoleEntry


class ConsoleLog:
    """Takes entries as pages report them (`record`, never waits) and writes them in batches."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending: list[_Pending] = []
        self._seq: dict[UUID, int] = {}
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def record(self, session_id: UUID, account_id: str, entry: ConsoleEntry) -> None:
        if len(self._pending) >= PENDING_CAP:
            self._dropped += 1
            return
        seq = self._seq[session_id] = self._seq.get(session_id, 0) + 1
        self._pending.append(_Pending(session_id, seq, account_id, now(), _storable(entry)))

    def forget(self, session_id: UUID) -> None:
        """The session ended: its entries still waiting are written at the next flush."""
        self._seq.pop(session_id, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self.flush()
            except (OSError, asyncpg.PostgresError) as e:
                log.warning("console.not_written", waiting=len(self._pending), error=str(e))

    async def flush(self) -> None:
        """Writes every entry waiting; on failure they wait for the next try."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(
                    "INSERT INTO session_console (session_id, seq, account_id, at, level, message, url, line)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                    [
                        (
                            p.session_id,
                            p.seq,
                            p.account_id,
                            p.at,
                            p.entry.level,
                            p.entry.message,
                            p.entry.url,
                            p.entry.line,
                        )
                        for p in batch
                    ],
                )
                newest: dict[UUID, int] = {}
                for p in batch:
                    newest[p.session_id] = max(p.seq, newest.get(p.session_id, 0))
                over = [(session_id, seq - KEPT) for session_id, seq in newest.items() if seq > KEPT]
                if over:
                    await conn.executemany(
                        "DELETE FROM session_console WHERE session_id = $1 AND seq <= $2", over
                    )
        except BaseException:
            self._pending = batch + self._pending
            raise
        if self._dropped:
            log.warning("console.dropped", entries=self._dropped, why="the store was away too long")
            self._dropped = 0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self.flush()

    async def page(
        self, account_id: str, session_id: UUID, *, after: int, limit: int, level: str | None
    ) -> list[dict[str, Any]]:
        """`limit` entries after position `after`, oldest first (each with its `_key`); what this node
        still holds is written first, so a read after an action sees what the action logged."""
        await self.flush()
        rows = await self._pool.fetch(
            "SELECT seq, at, level, message, url, line FROM session_console"
            " WHERE session_id = $1 AND account_id = $2 AND seq > $3 AND ($4::text IS NULL OR level = $4)"
            " ORDER BY seq LIMIT $5",
            session_id,
            account_id,
            after,
            level,
            limit,
        )
        return [
            {
                "level": r["level"],
                "message": r["message"],
                "at": iso(r["at"]),
                "url": r["url"],
                "line": r["line"],
                "_key": r["seq"],
            }
            for r in rows
        ]


def _storable(entry: ConsoleEntry) -> ConsoleEntry:
    """PostgreSQL text holds no NUL and no lone surrogate: a page may log either."""

    def clean(text: str | None) -> str | None:
        if text is None:
            return None
        return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")

    return ConsoleEntry(entry.level, clean(entry.message) or "", clean(entry.url), entry.line)
