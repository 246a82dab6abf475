"""How far a view has got: projection threads advance it, request handlers await it."""

from __future__ import annotations

import asyncio
import threading


class Progress:
    """The highest notification id a view has committed, awaitable from asyncio.

    eventsourcing's own `wait()` sleeps 100 ms before re-checking; waking waiters the
    moment the view commits keeps read-your-writes to the projection's real lag.
    """

    def __init__(self) -> None:
        self._position = 0
        self._lock = threading.Lock()
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def position(self) -> int:
        return self._position

    def advance(self, notification_id: int) -> None:
        with self._lock:
            if notification_id <= self._position:
                return
            self._position = notification_id
            due = [w for w in self._waiters if w[0] <= notification_id]
            self._waiters = [w for w in self._waiters if w[0] > notification_id]
        for _, loop, future in due:
            loop.call_soon_threadsafe(_resolve, future)

    async def reached(self, notification_id: int, timeout: float = 5.0) -> bool:
        """Waits until the view holds `notification_id`; False if it did not within `timeout`."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if notification_id <= self._position:
                return True
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((notification_id, loop, future))
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
