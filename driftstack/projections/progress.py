"""How far a view has got, and why it is stuck if it is: projection threads tell it, handlers await it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..clock import now


@dataclass(frozen=True)
class Stall:
    """Why a view is not moving: an event it cannot apply, a store it cannot reach, or another error."""

    cause: Literal["event", "store", "error"]
    error: str
    notification_id: int | None = None  # the event it cannot apply (cause "event")
    topic: str | None = None
    since: datetime = field(default_factory=now)


class Progress:
    """The highest notification id a view has committed, awaitable from asyncio.

    eventsourcing's own `wait()` sleeps 100 ms before re-checking; waking waiters the
    moment the view commits keeps read-your-writes to the projection's real lag.
    """

    def __init__(self, name: str = "view") -> None:
        self.name = name
        self._position = 0
        self._stall: Stall | None = None
        self._lock = threading.Lock()
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def position(self) -> int:
        return self._position

    @property
    def stall(self) -> Stall | None:
        return self._stall

    def advance(self, notification_id: int) -> None:
        with self._lock:
            if notification_id <= self._position:
                return
            self._position = notification_id
            stall = self._stall
            if stall is not None and (
                stall.cause == "store" or notification_id >= (stall.notification_id or 0)
            ):
                self._stall = None
            due = [w for w in self._waiters if w[0] <= notification_id]
            self._waiters = [w for w in self._waiters if w[0] > notification_id]
        _wake(due)

    def stalled(self, stall: Stall) -> None:
        """The view stopped: waiters for what it has not applied give up at once if it is an event."""
        with self._lock:
            self._stall = stall
            due = self._waiters if stall.cause == "event" else []
            if due:
                self._waiters = []
        _wake(due)

    def resumed(self) -> None:
        """The view reads from the store again (an event it cannot apply still holds it)."""
        with self._lock:
            if self._stall is not None and self._stall.cause != "event":
                self._stall = None

    async def reached(self, notification_id: int, timeout: float = 5.0) -> bool:
        """Waits until the view holds `notification_id`; False if it did not within `timeout`,
        or as soon as it is stuck on an event before it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if notification_id <= self._position:
                return True
            if self._stall is not None and self._stall.cause == "event":
                return False
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((notification_id, loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[2] is not future]
            return False
        return notification_id <= self._position


def _wake(waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    for _, loop, future in waiters:
        loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
