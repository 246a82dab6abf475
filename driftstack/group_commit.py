"""Group commit: the session events waiting to be stored at the same moment, across sessions, go into one
transaction. Nothing waits for company: a lone event is stored at once, and those that arrive while a
commit is under way make up the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID

from .domain.session import Session

Change = Callable[[Session], object]
# One transaction holds at most this many sessions' events.
MAX_BATCH = 200


class GroupCommit:
    def __init__(
        self,
        store_all: Callable[[list[tuple[UUID, Change]]], Awaitable[list[int | Exception]]],
    ) -> None:
        self._store_all = store_all
        self._waiting: list[tuple[UUID, Change, asyncio.Future[int]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def store(self, uuid: UUID, change: Change) -> int:
        """Stores `change` to the session; its notification id (the batch's), or the error it raised.

        Order within a session holds as long as its caller stores its next event only after this one
        (as every caller does: a session's events are chained)."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((uuid, change, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._commit())
        return await future

    async def _commit(self) -> None:
        while self._waiting:
            batch: list[tuple[UUID, Change, asyncio.Future[int]]] = []
            left: list[tuple[UUID, Change, asyncio.Future[int]]] = []
            seen: set[UUID] = set()
            for item in self._waiting:
                # One event per session a batch: a second one of the same session waits for the next.
                if item[0] in seen or len(batch) >= MAX_BATCH:
                    left.append(item)
                else:
                    seen.add(item[0])
                    batch.append(item)
            self._waiting = left
            try:
                answers = await self._store_all([(uuid, change) for uuid, change, _ in batch])
            except Exception as e:  # noqa: BLE001  (the store's own failure: every change of the batch hears it)
                answers = [e] * len(batch)
            for (_, _, future), answer in zip(batch, answers, strict=True):
                if future.done():
                    continue
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
