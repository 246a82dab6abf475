"""Browser drivers: the engine-neutral protocol, and `build_driver` to pick an installed engine."""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

from driftstack.drivers.base import (
    Driver,
    DriverError,
    DriverUnavailable,
    NavigationResult,
    OpenRoute,
    Page,
    PageState,
)
from driftstack.drivers.engines import Engines, webkitgtk_installed
from driftstack.drivers.quiet import Quiet
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


def build_driver(settings: Settings, open_route: OpenRoute | None = None) -> Engines:
    """The engines this service offers: the configured one (or the best installed one) as the default,
    behind the warm pool when it is configured; the others built when a session asks for them.

    Never launches anything: a missing browser surfaces as DriverUnavailable from start().
    `open_route` gives each browser context its way out (the egress); without it they go straight out.
    """

    def build(engine: str) -> Driver:
        return _engine_driver(engine, settings, open_route)

    default = build(default_engine(settings))
    quiet = Quiet()
    if settings.warm_pool_size > 0 and settings.warm_pool_archetypes:
        from driftstack.domain.archetypes import resolve
        from driftstack.drivers.warm_pool import WarmPool

        archetypes = [resolve(name) for name in settings.warm_pool_archetypes]
        # WebKitGTK opens a whole browser per page, on the display the sessions' browsers share: one opened
        # while another session navigates was seen to hold that navigation past its timeout (why is not
        # known yet), so its pool refills at once after a take, before the session acts, as it always did.
        yields = default.engine != "webkit"
        default = WarmPool(default, archetypes, settings.warm_pool_size, quiet if yields else None)
    return Engines(default, build, lambda engine: _installed(engine, settings), quiet)


def default_engine(settings: Settings) -> str:
    """DRIFTSTACK_BROWSER; unset: WebKit when Playwright's or WebKitGTK is installed (or a WebDriver
    endpoint is set), else Chromium. An explicit executable is a choice of Chromium."""
    if settings.browser:
        return settings.browser.strip().lower()
    if settings.browser_executable is not None and settings.webdriver_url is None:
        return "chromium"
    return "webkit" if _installed("webkit", settings) else "chromium"


def _installed(engine: str, settings: Settings) -> bool:
    if engine == "webkit":
        return settings.webdriver_url is not None or _bundled("webkit") or webkitgtk_installed()
    if engine == "chromium":
        return (
            settings.browser_executable is not None
            or _bundled("chromium")
            or any(os.path.exists(path) for path in SYSTEM_CHROMIUMS)
        )
    return _bundled(engine)


def _engine_driver(engine: str, settings: Settings, open_route: OpenRoute | None) -> Driver:
    from driftstack.drivers.playwright import PlaywrightDriver

    if engine == "webkit" and (settings.webdriver_url is not None or not _bundled("webkit")):
        # Real WebKit where Playwright's own build is not installed: WebKitGTK over W3C WebDriver.
        from driftstack.drivers.webdriver import WebDriverDriver

        return WebDriverDriver(
            endpoint=settings.webdriver_url,
            default_timeout_ms=settings.action_timeout_ms,
            open_route=open_route,
        )
    options: dict[str, Any] = {
        "launch_timeout_ms": settings.provision_timeout_s * 1000,
        "default_timeout_ms": settings.action_timeout_ms,
        "open_route": open_route,
    }
    executable = settings.browser_executable if engine == "chromium" else None
    if engine == "chromium" and executable is None:
        executable = next((path for path in SYSTEM_CHROMIUMS if os.path.exists(path)), None)
    return PlaywrightDriver(engine, executable, **options)
