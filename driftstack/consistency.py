"""Read-your-writes: a read waits until the views hold what this process wrote for the account."""

from __future__ import annotations

from .projections.progress import Progress


class ReadYourWrites:
    """Writes note their notification id per account; reads of that account wait for it.

    Writers never wait for a view, so a write costs only its append.
    """

    def __init__(self, timeout_s: float = 5.0) -> None:
        self._marks: dict[str, int] = {}
        self._timeout_s = timeout_s

    def wrote(self, account_id: str, notification_id: int) -> None:
        if notification_id > self._marks.get(account_id, 0):
            self._marks[account_id] = notification_id

    async def settle(self, account_id: str, progress: Progress) -> None:
        mark = self._marks.get(account_id, 0)
        if mark:
            await progress.reached(mark, self._timeout_s)
