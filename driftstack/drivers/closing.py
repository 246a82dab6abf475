"""The pages of ended sessions: cut off from the network at once, closed once the browsers are quiet, so
closing one (tens of milliseconds of the browser's CPU) never delays another session's next action."""

from __future__ import annotations

import asyncio

import structlog

from driftstack.drivers.base import Page
from driftstack.drivers.quiet import Quiet

log = structlog.get_logger()


class Closing:
    """Pages being closed in the background; `now()` closes what is left, for a stop."""

    def __init__(self, quiet: Quiet) -> None:
        self._quiet = quiet
        self._pending: set[asyncio.Task[None]] = set()
        self._hurry = asyncio.Event()

    async def close(self, page: Page) -> None:
        """Ends `page`'s traffic before returning, then closes it when no action is under way.

        WebKitGTK's pages close before returning: each is a whole browser on the display the sessions'
        browsers share, and browser work there beside another session's navigation was seen to hold
        that navigation past its timeout (see the warm pool)."""
        if page.engine == "webkit" or self._hurry.is_set():
            await page.close()
            return
        if page.route is not None:
            await page.route.close()  # idempotent: the page's own close closes it again
        task = asyncio.ensure_future(self._close_when_quiet(page))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _close_when_quiet(self, page: Page) -> None:
        waits = {asyncio.ensure_future(self._quiet.wait()), asyncio.ensure_future(self._hurry.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        try:
            await page.close()
        except Exception:  # the browser died meanwhile: nothing is left to close
            log.warning("page.close_failed", exc_info=True)

    async def now(self) -> None:
        """Closes every page still waiting, without waiting for quiet (a stop)."""
        self._hurry.set()
        if self._pending:
            await asyncio.wait(list(self._pending))
