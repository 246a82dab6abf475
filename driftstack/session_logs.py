"""What a session's page said and fetched (its console and network logs), kept in PostgreSQL beside the
events and read after the session ends.

A page may log or fetch thousands of times a second: an entry is no fact of the session's history, so
it is not an event. Entries wait in memory and are written in batches by one background task per log,
never on an action's path; each session keeps its last `kept` entries (older ones are dropped first).
Request headers, bodies and cookies are never taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from eventsourcing.postgres import PostgresDatastore

from .clock import iso, now
from .drivers.base import ConsoleEntry, NetworkEntry
from .projections.storable import storable

log = structlog.get_logger()

FLUSH_EVERY_S = 0.25
# Past this many waiting entries (the store away), the newest are dropped and counted.
PENDING_CAP = 50_000


@dataclass(frozen=True)
class LogTable:
    """One log's table: its own columns after (session_id, seq, account_id, at)."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type)
    kept: int  # entries per session

    def ddl(self) -> str:
        own = "".join(f", {name} {kind}" for name, kind in self.columns)
        return (
            f"CREATE TABLE IF NOT EXISTS {self.name} ("
            " session_id uuid NOT NULL, seq integer NOT NULL, account_id text NOT NULL,"
            f" at timestamptz NOT NULL{own}, PRIMARY KEY (session_id, seq))"
        )


CONSOLE = LogTable(
    "session_console",
    (("level", "text NOT NULL"), ("message", "text NOT NULL"), ("url", "text"), ("line", "integer")),
    kept=5_000,
)
NETWORK = LogTable(
    "session_network",
    (
        ("url", "text NOT NULL"),
        ("method", "text NOT NULL"),
        ("status", "integer"),
        ("resource_type", "text NOT NULL"),
        ("duration_ms", "integer"),
        ("byte_size", "bigint"),
        ("failure", "text"),
        ("refused", "boolean NOT NULL"),
    ),
    kept=5_000,
)


def create_tables(datastore: PostgresDatastore) -> None:
    with datastore.transaction(commit=True) as curs:
        for table in (CONSOLE, NETWORK):
            curs.execute(table.ddl())


@dataclass(frozen=True)
class _Pending:
    session_id: UUID
    seq: int
    account_id: str
    at: datetime
    values: tuple[Any, ...]


class SessionLog:
    """Takes entries as pages report them (`record`, never waits) and writes them in batches."""

    def __init__(self, pool: asyncpg.Pool, table: LogTable) -> None:
        self._pool = pool
        self._table = table
        self._pending: list[_Pending] = []
        self._seq: dict[UUID, int] = {}
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None
        names = ", ".join(name for name, _ in table.columns)
        marks = ", ".join(f"${n}" for n in range(5, 5 + len(table.columns)))
        self._insert = (
            f"INSERT INTO {table.name} (session_id, seq, account_id, at, {names})"
            f" VALUES ($1, $2, $3, $4, {marks}) ON CONFLICT DO NOTHING"
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def record(self, session_id: UUID, account_id: str, values: Sequence[Any]) -> None:
        """One entry: `values` in the table's column order."""
        if len(self._pending) >= PENDING_CAP:
            self._dropped += 1
            return
        seq = self._seq[session_id] = self._seq.get(session_id, 0) + 1
        # What a page logs or fetches may hold NUL or a lone surrogate: stored as the views store them.
        self._pending.append(_Pending(session_id, seq, account_id, now(), storable(tuple(values))))

    def forget(self, session_id: UUID) -> None:
        """The session ended: its entries still waiting are written at the next flush."""
        self._seq.pop(session_id, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self.flush()
            except (OSError, asyncpg.PostgresError) as e:
                log.warning(
                    "session_log.not_written", log=self._table.name, waiting=len(self._pending), error=str(e)
                )

    async def flush(self) -> None:
        """Writes every entry waiting; on failure they wait for the next try."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(
                    self._insert, [(p.session_id, p.seq, p.account_id, p.at, *p.values) for p in batch]
                )
                newest: dict[UUID, int] = {}
                for p in batch:
                    newest[p.session_id] = max(p.seq, newest.get(p.session_id, 0))
                kept = self._table.kept
                over = [(session_id, seq - kept) for session_id, seq in newest.items() if seq > kept]
                if over:
                    await conn.executemany(
                        f"DELETE FROM {self._table.name} WHERE session_id = $1 AND seq <= $2", over
                    )
        except BaseException:
            self._pending = batch + self._pending
            raise
        if self._dropped:
            log.warning(
                "session_log.dropped", log=self._table.name, entries=self._dropped, why="the store was away"
            )
            self._dropped = 0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self.flush()

    async def page(
        self,
        account_id: str,
        session_id: UUID,
        *,
        after: int,
        limit: int,
        where: Sequence[tuple[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """`limit` entries after position `after`, oldest first (each with its `_key`), filtered by
        `where` ((clause, value) pairs, `{}` standing for the value's placeholder). What this node still
        holds is written first, so a read after an action sees what the action logged."""
        await self.flush()
        args: list[Any] = [session_id, account_id, after]  # `after`: any cursor of the documented form
        clauses = []
        for clause, value in where:
            args.append(value)
            clauses.append(" AND " + clause.format(f"${len(args)}"))
        args.append(limit)
        names = [name for name, _ in self._table.columns]
        rows = await self._pool.fetch(
            f"SELECT seq, at, {', '.join(names)} FROM {self._table.name}"
            f" WHERE session_id = $1 AND account_id = $2 AND seq > $3::bigint{''.join(clauses)}"
            f" ORDER BY seq LIMIT ${len(args)}",
            *args,
        )
        return [{**{name: r[name] for name in names}, "at": iso(r["at"]), "_key": r["seq"]} for r in rows]


class SessionLogs:
    """The console and network logs of every session this node runs."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.console = SessionLog(pool, CONSOLE)
        self.network = SessionLog(pool, NETWORK)

    def start(self) -> None:
        self.console.start()
        self.network.start()

    async def stop(self) -> None:
        await self.console.stop()
        await self.network.stop()

    def said(self, session_id: UUID, account_id: str, entry: ConsoleEntry) -> None:
        values = (entry.level, entry.message, entry.url, entry.line)
        self.console.record(session_id, account_id, values)

    def fetched(self, session_id: UUID, account_id: str, entry: NetworkEntry, *, refused: bool) -> None:
        values = (
            entry.url,
            entry.method,
            entry.status,
            entry.resource_type,
            entry.duration_ms,
            entry.byte_size,
            entry.failure,
            refused,
        )
        self.network.record(session_id, account_id, values)

    def forget(self, session_id: UUID) -> None:
        self.console.forget(session_id)
        self.network.forget(session_id)
