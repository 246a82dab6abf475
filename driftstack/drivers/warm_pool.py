"""The warm pool: pages opened ahead of demand, so a session without a profile is ready at once.

Opening a context and its page is most of what creating a session costs (a quarter of a
second on Chromium). The pool keeps a few opened per archetype and opens the next one in the
background after each is taken. A session with a profile starts from that profile's browser
state, which a context only takes when it is created, so it always opens its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

import structlog

from driftstack.domain.archetypes import Archetype
from driftstack.drivers.base import Driver, DriverError, DriverUnavailable, Page
from driftstack.drivers.quiet import Quiet

log = structlog.get_logger()

# Without a quiet gate: how long after a page is taken the next one is opened.
REFILL_AFTER_S = 0.1


class _Pooled:
    """A page waiting in the pool, and where its crash goes once a session has it."""

    def __init__(self, on_dead: Callable[[], None]) -> None:
        self.page: Page | None = None
        self.dead = False
        self.listener: Callable[[str], None] | None = None
        self._on_dead = on_dead

    def crashed(self, reason: str) -> None:
        if self.listener is not None:
            self.listener(reason)
        else:  # still in the pool: replace it
            self.dead = True
            self._on_dead()


class WarmPool:
    """A Driver that hands out pre-opened pages, `size` of them kept per archetype in `archetypes`."""

    def __init__(
        self, driver: Driver, archetypes: Iterable[Archetype], size: int, quiet: Quiet | None = None
    ) -> None:
        """`quiet`: refill only when no session's action is under way (None: 100 ms after a take)."""
        self._driver = driver
        self._quiet = quiet
        self._size = size
        self._archetypes = {a.slug: a for a in archetypes}
        self._stock: dict[str, list[_Pooled]] = {slug: [] for slug in self._archetypes}
        self._refilling: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    # The Driver protocol, delegated

    @property
    def engine(self) -> str:
        return self._driver.engine

    @property
    def description(self) -> str:
        return self._driver.description

    @property
    def failure(self) -> DriverUnavailable | None:
        return self._driver.failure

    @property
    def available(self) -> bool:
        return self._driver.available

    @property
    def launched(self) -> bool:
        return self._driver.launched

    async def start(self) -> None:
        await self._driver.start()
        self._stopping = False
        for slug in self._archetypes:
            self._refill(slug)

    async def open(
        self,
        archetype: Archetype,
        *,
        viewport: tuple[int, int] | None = None,
        storage_state: dict | None = None,
        on_crash: Callable[[str], None] | None = None,
    ) -> Page:
        if viewport is None and storage_state is None:
            opened = self.take_opened(archetype, on_crash=on_crash)
            if opened is not None:
                return opened
        page = await self._driver.open(
            archetype, viewport=viewport, storage_state=storage_state, on_crash=on_crash
        )
        for slug in self._archetypes:  # the browser may have been relaunched for this page
            self._refill(slug)
        return page

    def take_opened(
        self, archetype: Archetype, *, on_crash: Callable[[str], None] | None = None
    ) -> Page | None:
        pooled = self._take(archetype.slug)
        if pooled is None:
            return None
        pooled.listener = on_crash
        return pooled.page

    async def stop(self) -> None:
        self._stopping = True
        for task in self._refilling.values():
            task.cancel()
        for stock in self._stock.values():
            for pooled in stock:
                if pooled.page is not None:
                    await pooled.page.close()
            stock.clear()
        await self._driver.stop()

    # The pool

    def stocked(self, archetype: str) -> int:
        """How many pages wait for sessions of this archetype (its slug)."""
        return sum(1 for pooled in self._stock.get(archetype, []) if not pooled.dead)

    def _take(self, slug: str) -> _Pooled | None:
        stock = self._stock.get(slug)
        if stock is None:
            return None
        taken = None
        while stock and taken is None:
            pooled = stock.pop(0)
            if pooled.dead:
                self._discard(pooled)
            else:
                taken = pooled
        self._refill(slug)
        return taken

    def _discard(self, pooled: _Pooled) -> None:
        if pooled.page is not None:
            task = asyncio.ensure_future(pooled.page.close())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def _refill(self, slug: str) -> None:
        running = self._refilling.get(slug)
        if self._stopping or (running is not None and not running.done()):
            return
        self._refilling[slug] = asyncio.ensure_future(self._fill(slug))

    async def _fill(self, slug: str) -> None:
        """Opens pages one at a time until the archetype has `size` live ones waiting.

        One at a time: a burst of opens would compete for the CPU with the sessions being served.
        """
        stock = self._stock[slug]
        if self._quiet is None:
            # The session that took a page is still being answered: opening the next one at once (a
            # whole browser, on WebKitGTK) competes with it for the CPU.
            await asyncio.sleep(REFILL_AFTER_S)
        while not self._stopping:
            if self._quiet is not None:
                # Opening a page takes the browser's CPU for 150 to 250 ms: it waits until no session's
                # action is under way, so it never slows the next one.
                await self._quiet.wait()
            for pooled in [p for p in stock if p.dead]:
                stock.remove(pooled)
                self._discard(pooled)
            if len(stock) >= self._size:
                return
            if not self._driver.launched:
                # The browser died: the next session relaunches it, not the pool. A relaunch of
                # the pool's would hold the browser lock against that session, and keep retrying
                # a browser that cannot start. The pool fills again after that session's open.
                return
            pooled = _Pooled(on_dead=lambda: self._refill(slug))
            try:
                pooled.page = await self._driver.open(self._archetypes[slug], on_crash=pooled.crashed)
            except (DriverError, DriverUnavailable) as e:
                log.warning("warm_pool.open_failed", archetype=slug, error=str(e))
                return
            if self._stopping:
                with contextlib.suppress(Exception):
                    await pooled.page.close()
                return
            stock.append(pooled)
