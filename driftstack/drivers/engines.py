"""The browser engines a service offers: the configured one by default, any other installed one on request.

`Engines` is itself the default engine's Driver (what the rest of the service starts, stops and asks
about), and hands out the driver of an engine a session names (`"engine": "chromium"`), starting it on
first use.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from typing import Any

from driftstack.domain.archetypes import Archetype
from driftstack.domain.errors import ValidationFailed
from driftstack.drivers.base import Driver, DriverUnavailable, Page
from driftstack.drivers.closing import Closing
from driftstack.drivers.quiet import Quiet

ENGINES = ("webkit", "chromium", "firefox")


class Engines:
    """The default engine's driver, and the others built on demand by `build(engine)`."""

    def __init__(
        self,
        default: Driver,
        build: Callable[[str], Driver],
        installed: Callable[[str], bool],
        quiet: Quiet | None = None,
    ) -> None:
        self._default = default
        # Actions mark their browser work here; the warm pool refills only when none is under way.
        self.quiet = quiet or Quiet()
        # Ended sessions' pages close when no action is under way.
        self.closing = Closing(self.quiet)
        self._build = build
        self._installed = installed
        self._others: dict[str, Driver] = {}
        self._lock = asyncio.Lock()

    @property
    def default(self) -> Driver:
        """The default engine's driver (behind the warm pool, when there is one)."""
        return self._default

    # Choosing

    async def choose(self, engine: str | None) -> Driver:
        """The started driver for `engine` (None: the default): ValidationFailed for one not installed here,
        DriverUnavailable saying what to install when it cannot start."""
        if engine is None or engine == self._default.engine:
            if not self._default.available:
                raise self._default.failure or DriverUnavailable("no browser is available")
            return self._default
        if engine not in self.installed():
            offered = ", ".join(self.installed())
            raise ValidationFailed(
                "engine", f"this service has no {engine}; the engines it offers: {offered} (see /healthz)"
            )
        async with self._lock:
            driver = self._others.get(engine)
            if driver is None:
                driver = self._others[engine] = self._build(engine)
            if not driver.available:
                await driver.start()
            return driver

    def installed(self) -> tuple[str, ...]:
        """The engines a session may ask for: the default, and the others installed here."""
        return tuple(e for e in ENGINES if e == self._default.engine or self._installed(e))

    def offered(self) -> list[dict[str, Any]]:
        """Every engine: whether a session can ask for it, and which is the default."""
        offered = []
        for engine in ENGINES:
            driver = self._default if engine == self._default.engine else self._others.get(engine)
            started = driver is not None and driver.available
            offered.append(
                {
                    "engine": engine,
                    "default": engine == self._default.engine,
                    "available": started or (driver is None and self._installed(engine)),
                    "description": driver.description if driver is not None else None,
                }
            )
        return offered

    # The default engine's Driver

    @property
    def engine(self) -> str:
        return self._default.engine

    @property
    def description(self) -> str:
        return self._default.description

    @property
    def failure(self) -> DriverUnavailable | None:
        return self._default.failure

    @property
    def launched(self) -> bool:
        return self._default.launched

    @property
    def available(self) -> bool:
        return self._default.available

    async def start(self) -> None:
        await self._default.start()

    async def open(self, archetype: Archetype, **options: Any) -> Page:
        return await self._default.open(archetype, **options)

    def take_opened(
        self, archetype: Archetype, *, on_crash: Callable[[str], None] | None = None
    ) -> Page | None:
        return self._default.take_opened(archetype, on_crash=on_crash)

    async def stop(self) -> None:
        await self.closing.now()
        drivers = [self._default, *self._others.values()]
        await asyncio.gather(*(driver.stop() for driver in drivers), return_exceptions=True)


def webkitgtk_installed() -> bool:
    return shutil.which("WebKitWebDriver") is not None and shutil.which("Xvfb") is not None
