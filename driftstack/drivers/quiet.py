"""When the browsers are not working for a client: background browser work (refilling the warm pool)
waits for it, so it never takes the CPU from a session's next action."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

# Quiet: no action under way for this long (the next action of a client looping on a session comes
# within a few ms of the last answer).
SETTLE_S = 0.05
# Background work waits at most this long for quiet: under constant load it still gets done.
PATIENCE_S = 2.0


class Quiet:
    """Counts the actions under way; `wait()` returns once none has been for SETTLE_S (or PATIENCE_S passed)."""

    def __init__(self, settle_s: float = SETTLE_S, patience_s: float = PATIENCE_S) -> None:
        self._settle_s = settle_s
        self._patience_s = patience_s
        self._working = 0
        self._changed = asyncio.Event()

    @contextmanager
    def working(self) -> Iterator[None]:
        """Around an action's browser work."""
        self._working += 1
        self._changed.set()
        try:
            yield
        finally:
            self._working -= 1
            self._changed.set()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._patience_s
        while loop.time() < deadline:
            self._changed.clear()
            left = deadline - loop.time()
            if self._working:
                await _until(self._changed, left)  # an action ended (or began): look again
                continue
            if not await _until(self._changed, min(self._settle_s, left)):
                return  # nothing began for SETTLE_S: quiet


async def _until(event: asyncio.Event, timeout: float) -> bool:
    """Whether `event` was set within `timeout`."""
    try:
        await asyncio.wait_for(event.wait(), max(timeout, 0))
    except TimeoutError:
        return False
    return True
