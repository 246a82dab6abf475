"""When each API key was last used: coarse (a row written at most once a window), beside the events.

A use is no fact a reader of the audit log needs, and writing one on every request would turn each
read into a write: the key check records a use only when the key's row is older than the window,
and a node asks at most once a window per key.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

import asyncpg
import structlog
from eventsourcing.postgres import PostgresDatastore

log = structlog.get_logger()

WINDOW = timedelta(minutes=10)
_DDL = (
    "CREATE TABLE IF NOT EXISTS api_key_usage ( key_id text PRIMARY KEY, last_used_at timestamptz NOT NULL)"
)
# Across nodes too, the row changes at most once a window: a newer use within it is not written.
_RECORD = (
    "INSERT INTO api_key_usage (key_id, last_used_at) VALUES ($1, $2) ON CONFLICT (key_id) DO UPDATE"
    " SET last_used_at = EXCLUDED.last_used_at"
    " WHERE api_key_usage.last_used_at <= EXCLUDED.last_used_at - $3::interval"
)


def create_table(datastore: PostgresDatastore) -> None:
    with datastore.transaction(commit=True) as curs:
        curs.execute(_DDL)


def last_used(datastore: PostgresDatastore, key_ids: Iterable[str]) -> dict[str, datetime]:
    """For the command line: when each of the keys was last used (absent: never)."""
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            "SELECT key_id, last_used_at FROM api_key_usage WHERE key_id = ANY(%s)", (list(key_ids),)
        )
        return {row["key_id"]: row["last_used_at"] for row in curs.fetchall()}


class KeyUsage:
    """Records uses for the key check, through the service's asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, window: timedelta = WINDOW) -> None:
        self._pool = pool
        self._window = window
        self._asked: dict[str, float] = {}  # key id → when this node last wrote (monotonic)

    async def used(self, key_id: str, at: datetime) -> None:
        asked = self._asked.get(key_id)
        if asked is not None and time.monotonic() - asked < self._window.total_seconds():
            return
        self._asked[key_id] = time.monotonic()
        try:
            await self._pool.execute(_RECORD, key_id, at, self._window)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as e:
            # A lost use is a stale `last_used_at`, never a refused request.
            log.warning("api_key.last_used_not_written", api_key_id=key_id, error=str(e))
