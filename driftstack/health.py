"""What `/healthz` reports: whether the store answers and its head, and how far each view has got."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from eventsourcing.postgres import PostgresDatastore

from .clock import iso
from .projections.progress import Progress
from .store import unreachable

log = structlog.get_logger()

# The store is asked for its head this often, so a lost store is noticed (and the pools cleaned)
# within this long, even when no request comes.
PROBE_EVERY_S = 0.5
# A store that does not answer a probe within this long counts as unreachable.
PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class StoreState:
    reachable: bool
    head: int | None = None
    error: str | None = None


class StoreWatch:
    """Probes the store; on losing or regaining it, logs it once and drops dead connections.

    The connections idle in the eventsourcing pools die with the store, and psycopg_pool finds
    out only when a command uses one: without the clean-up, the first commands after the
    store's return would each fail on a dead connection.
    """

    def __init__(
        self, pool: asyncpg.Pool, events_table: str, datastores: Sequence[PostgresDatastore]
    ) -> None:
        self._pool = pool
        self._head_sql = f'SELECT max(notification_id) FROM "{events_table}"'
        self._datastores = list(datastores)
        self.state = StoreState(reachable=True)
        self._lost_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def probe(self) -> StoreState:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S), self._pool.acquire() as conn:
                head = await conn.fetchval(self._head_sql)
            state = StoreState(reachable=True, head=head or 0)
        except TimeoutError:
            state = StoreState(reachable=False, error=f"no answer within {PROBE_TIMEOUT_S:g} s")
        except Exception as e:
            if not unreachable(e):
                raise
            state = StoreState(reachable=False, error=str(e) or type(e).__name__)
        await self._changed(state)
        return state

    async def _changed(self, state: StoreState) -> None:
        was = self.state.reachable
        self.state = state
        if state.reachable == was:
            return
        if not state.reachable:
            self._lost_at = time.monotonic()
            log.warning("store.unreachable", error=state.error)
        else:
            down = time.monotonic() - (self._lost_at or time.monotonic())
            log.info("store.reachable", head=state.head, down_s=round(down, 1))
        for datastore in self._datastores:
            await asyncio.to_thread(datastore.pool.check)

    async def _watch(self) -> None:
        while True:
            try:
                await self.probe()
            except Exception:
                log.exception("store.probe_failed")
            await asyncio.sleep(PROBE_EVERY_S)


class ServiceHealth:
    """The store's state and every view's: healthy when the store answers and no view is stuck."""

    def __init__(self, watch: StoreWatch, views: Sequence[Progress]) -> None:
        self._watch = watch
        self._views = list(views)

    async def report(self) -> tuple[bool, dict[str, Any]]:
        store = await self._watch.probe()
        views = {progress.name: _view(progress, store.head) for progress in self._views}
        healthy = store.reachable and all(v["status"] == "following" for v in views.values())
        return healthy, {
            "store": {"reachable": store.reachable, "head": store.head, "error": store.error},
            "views": views,
        }


def _view(progress: Progress, head: int | None) -> dict[str, Any]:
    stall = progress.stall
    view: dict[str, Any] = {
        "status": "following",
        "position": progress.position,
        "behind": max(0, head - progress.position) if head is not None else None,
    }
    if stall is None:
        return view
    view["status"] = "waiting_for_store" if stall.cause == "store" else "failing"
    view["since"] = iso(stall.since)
    view["error"] = stall.error
    if stall.cause == "event":
        view["failing_event"] = {"position": stall.notification_id, "topic": stall.topic}
    return view
