"""The views' progress through PostgreSQL: the process that runs a view announces each position it commits
(NOTIFY, delivered when the transaction commits), and any process, on this machine or another, follows it
and waits for its own writes the same way it would for a view of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import asyncpg
import structlog
from psycopg import Connection, Cursor
from psycopg.sql import SQL

from .progress import Progress, Stall

log = structlog.get_logger()

CHANNEL = "driftstack_views"
_NOTIFY = SQL("SELECT pg_notify(%s, %s)")
# After a lost connection, the follower tries again this often.
RECONNECT_S = 0.5
# How often the follower checks its connection still answers.
CHECK_EVERY_S = 2.0
CONNECT_TIMEOUT_S = 5.0


def announce(
    where: Cursor[Any] | Connection[Any], view: str, position: int, stall: Stall | None = None
) -> None:
    """Tells the followers where `view` stands (inside a transaction: once it commits)."""
    said: dict[str, Any] = {"view": view, "position": position}
    if stall is not None:
        said["stall"] = {
            "cause": stall.cause,
            "error": stall.error[:2000],
            "notification_id": stall.notification_id,
            "topic": stall.topic,
        }
    where.execute(_NOTIFY, (CHANNEL, json.dumps(said)))


class PublishedProgress:
    """One Progress per view, advanced by what the views' process announces.

    On (re)connecting it reads each view's stored position, so a follower that missed announcements
    starts where the views stand; the views' process also repeats its position while idle.
    """

    def __init__(self, dsn: str, names: list[str], connect: Any = asyncpg.connect) -> None:
        self._dsn = dsn
        self._connect = connect
        self.progress = {name: Progress(name) for name in names}
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    async def start(self) -> None:
        await self._follow_once()  # the first connection's failure is the caller's to see
        self._task = asyncio.create_task(self._keep_following())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    async def _keep_following(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), CHECK_EVERY_S)
            if not self._lost.is_set() and await self._alive():
                continue
            await self._close()
            while True:
                try:
                    await self._follow_once()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
                    log.warning("views.not_followed", error=str(e), retry_in_s=RECONNECT_S)
                    await asyncio.sleep(RECONNECT_S)
                else:
                    log.info("views.followed_again")
                    break

    async def _alive(self) -> bool:
        """Whether the listening connection still answers (a store cut may close it without a word)."""
        try:
            await asyncio.wait_for(self._conn.fetchval("SELECT 1"), RECONNECT_S * 2)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        return True

    async def _follow_once(self) -> None:
        self._lost.clear()
        conn = self._conn = await asyncio.wait_for(self._connect(self._dsn), CONNECT_TIMEOUT_S)
        conn.add_termination_listener(lambda _: self._lost.set())
        await conn.add_listener(CHANNEL, self._heard)
        for name, progress in self.progress.items():
            table = f"{name}_tracking"
            if await conn.fetchval("SELECT to_regclass($1)", table) is None:
                continue  # the views' process has not created it yet: it announces once it has
            stored = await conn.fetchval(f'SELECT max(notification_id) FROM "{table}"')
            progress.advance(stored or 0)

    async def _close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            said = json.loads(payload)
            progress = self.progress.get(said["view"])
            position = int(said["position"])
        except (ValueError, KeyError, TypeError):
            return  # not an announcement of ours
        if progress is None:
            return
        progress.advance(position)
        stall = said.get("stall")
        if stall is not None:
            progress.stalled(
                Stall(
                    stall["cause"],
                    stall["error"],
                    notification_id=stall["notification_id"],
                    topic=stall["topic"],
                )
            )
        else:
            progress.resumed()
