"""Read-your-writes: a read waits until the views hold what this process wrote for the account."""

from __future__ import annotations

import asyncio
from typing import Any

from .projections.progress import Progress, Stall


class ViewLagging(Exception):
    """A view does not hold the account's last write within the read's bound: answering from it
    would show the account as it was before (a resource just created would be "not found")."""

    def __init__(self, view: str, position: int, wanted: int, stall: Stall | None) -> None:
        why = (
            f"it cannot apply event {stall.notification_id}"
            if stall is not None and stall.cause == "event"
            else "it has not caught up yet"
        )
        super().__init__(
            f"the write is stored, but view {view} holds events up to {position} and the write is"
            f" event {wanted}: {why}; retry the read shortly"
        )
        self.view = view
        self.position = position
        self.wanted = wanted


class ReadYourWrites:
    """Writes note their notification id per account; reads of that account wait for it.

    Writers never wait for a view, so a write costs only its append. A write still being
    appended (an action's event, recorded after its answer) is noted as pending: reads of
    its account wait for the append first, then for the view; a view that does not hold the
    write within `timeout_s` (or is stuck on an event before it) fails the read with ViewLagging.
    """

    def __init__(self, timeout_s: float = 5.0) -> None:
        self._marks: dict[str, int] = {}
        self._pending: dict[str, set[asyncio.Future[Any]]] = {}
        self._timeout_s = timeout_s

    def wrote(self, account_id: str, notification_id: int) -> None:
        if notification_id > self._marks.get(account_id, 0):
            self._marks[account_id] = notification_id

    def writing(self, account_id: str, append: asyncio.Future[Any]) -> None:
        """`append` stores an event of the account and calls `wrote` when it has."""
        pending = self._pending.setdefault(account_id, set())
        pending.add(append)

        def done(_: asyncio.Future[Any]) -> None:
            pending.discard(append)
            if not pending and self._pending.get(account_id) is pending:
                del self._pending[account_id]

        append.add_done_callback(done)

    async def settle(self, account_id: str, progress: Progress) -> None:
        pending = self._pending.get(account_id)
        if pending:
            # A failed append is logged where it failed; the read goes on with what is stored.
            await asyncio.wait(list(pending), timeout=self._timeout_s)
        mark = self._marks.get(account_id, 0)
        if mark and not await progress.reached(mark, self._timeout_s):
            raise ViewLagging(progress.name, progress.position, mark, progress.stall)
