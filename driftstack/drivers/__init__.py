"""Browser drivers: the engine-neutral protocol, and `build_driver` to pick an installed engine."""

from __future__ import annotations

import functools
import os
import threading

from driftstack.drivers.base import (
    Driver,
    DriverError,
    DriverUnavailable,
    NavigationResult,
    Page,
    PageState,
)
from driftstack.settings import Settings

__all__ = [
    "SYSTEM_CHROMIUMS",
    "Driver",
    "DriverError",
    "DriverUnavailable",
    "NavigationResult",
    "Page",
    "PageState",
    "build_driver",
    "playwright_executables",
]

SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


@functools.cache
def playwright_executables() -> dict[str, str]:
    """Where Playwright's own browsers live, per engine; the paths may not exist.

    Asking Playwright itself keeps PLAYWRIGHT_BROWSERS_PATH and its revision table honest;
    it starts the Playwright server but launches no browser. The sync API refuses to run
    inside an event loop, so it runs on a thread of its own. Empty without Playwright.
    """
    found: dict[str, str] = {}

    def ask() -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                for engine in ("chromium", "webkit", "firefox"):
                    found[engine] = getattr(pw, engine).executable_path
        except Exception:  # noqa: BLE001  (a broken Playwright install: nothing bundled to offer)
            found.clear()

    thread = threading.Thread(target=ask, name="driftstack-playwright-probe", daemon=True)
    thread.start()
    thread.join(timeout=30)
    return dict(found)


def _bundled(engine: str) -> bool:
    path = playwright_executables().get(engine)
    return path is not None and os.path.exists(path)


def build_driver(settings: Settings) -> Driver:
    """The driver for the configured engine (or the best installed one), behind the warm pool
    when it is configured.

    Never launches anything: a missing browser surfaces as DriverUnavailable from start().
    """
    driver = _engine_driver(settings)
    if settings.warm_pool_size <= 0 or not settings.warm_pool_archetypes:
        return driver
    from driftstack.domain.archetypes import resolve
    from driftstack.drivers.warm_pool import WarmPool

    archetypes = [resolve(name) for name in settings.warm_pool_archetypes]
    return WarmPool(driver, archetypes, settings.warm_pool_size)


def _engine_driver(settings: Settings) -> Driver:
    from driftstack.drivers.playwright import PlaywrightDriver

    timeouts = {
        "launch_timeout_ms": settings.provision_timeout_s * 1000,
        "default_timeout_ms": settings.action_timeout_ms,
    }
    engine = settings.browser.strip().lower() if settings.browser else None
    executable = settings.browser_executable

    if engine is None:
        if executable is not None:
            # An explicit executable is a choice of Chromium; it outranks auto-detection.
            return PlaywrightDriver("chromium", executable, **timeouts)
        if _bundled("webkit"):
            return PlaywrightDriver("webkit", None, **timeouts)
        engine = "chromium"

    if engine == "chromium" and executable is None:
        executable = next((path for path in SYSTEM_CHROMIUMS if os.path.exists(path)), None)
    return PlaywrightDriver(engine, executable, **timeouts)
