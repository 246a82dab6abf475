"""The Playwright driver: one launched browser, one context and page per session (async API)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from driftstack.domain.archetypes import Archetype
from driftstack.drivers.base import (
    DIRECTIONS,
    WAIT_UNTIL,
    DriverError,
    DriverUnavailable,
    NavigationResult,
    PageState,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright, Response
    from playwright.async_api import Page as PWPage

log = logging.getLogger(__name__)

ENGINES = ("chromium", "webkit", "firefox")

# The network here is closed: without these Chromium keeps dialling Google services
# and floods the logs (and the sandbox needs privileges containers lack).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

# Playwright raises its generic Error once a target is gone; the text is the only tell.
_DEAD_MARKERS = (
    "target crashed",
    "target closed",
    "has been closed",
    "browser closed",
    "browser has disconnected",
    "connection closed",
)

_NAVIGATING_ACTIONS = frozenset({"navigate", "wait_for_navigation"})
_CLOSE_GRACE_S = 5.0
_ERROR_PAGE_SETTLE_MS = 2_000
_SCROLL_ELEMENT = "(el, [dx, dy]) => el.scrollBy({left: dx, top: dy, behavior: 'instant'})"
_SCROLL_WINDOW = "([dx, dy]) => window.scrollBy({left: dx, top: dy, behavior: 'instant'})"
_RESPONSIVE_S = 1.0


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0].strip()


def _translate(
    exc: BaseException,
    *,
    action: str,
    selector: str | None = None,
    timeout_ms: float | None = None,
    gone: str | None = None,
) -> DriverError:
    """The one place Playwright's (and asyncio's) exceptions become DriverErrors."""
    message = _first_line(str(exc))
    if gone == "closed":
        return DriverError("closed", f"{action}: the page was closed")
    if gone is not None or any(marker in message.lower() for marker in _DEAD_MARKERS):
        why = gone or message
        return DriverError("crashed", f"{action}: the page or browser is gone ({why})")
    if isinstance(exc, (PlaywrightTimeout, TimeoutError)):
        waited = f" waiting for selector {selector!r}" if selector else ""
        after = f" after {timeout_ms:g} ms" if timeout_ms is not None else ""
        return DriverError("timeout", f"{action}: timed out{after}{waited}")
    if action in _NAVIGATING_ACTIONS:
        return DriverError("navigation_failed", message)
    return DriverError("action_failed", message)


def context_options(
    devices: dict[str, dict[str, Any]],
    archetype: Archetype,
    engine: str,
    *,
    viewport: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Playwright `new_context` options for a persona on an engine.

    The device descriptor only fills gaps: the archetype pins every field the page can
    observe, so a Playwright upgrade that edits its device table changes nothing.
    """
    options = dict(devices.get(archetype.base_device, {}))
    options.pop("default_browser_type", None)
    width, height = viewport or archetype.viewport
    screen_w, screen_h = archetype.screen
    options.update(
        user_agent=archetype.user_agent,
        viewport={"width": width, "height": height},
        # A window larger than its screen is a tell; grow the screen to contain it.
        screen={"width": max(screen_w, width), "height": max(screen_h, height)},
        device_scale_factor=archetype.device_scale_factor,
        is_mobile=archetype.is_mobile,
        has_touch=archetype.has_touch,
    )
    if engine == "firefox":
        options.pop("is_mobile", None)  # Firefox rejects the option outright
    return options


class PlaywrightPage:
    """One Playwright context and page, with errors mapped and crashes reported once."""

    def __init__(
        self,
        driver: PlaywrightDriver,
        browser: Browser,
        context: BrowserContext,
        page: PWPage,
        *,
        has_touch: bool,
        on_crash: Callable[[str], None] | None,
    ) -> None:
        self._driver = driver
        self._browser = browser
        self._context = context
        self._page = page
        self._has_touch = has_touch
        self._on_crash = on_crash
        self._closing = False
        self._gone: str | None = None
        page.on("crash", lambda _: self.mark_gone("page_crashed"))
        page.on("close", lambda _: self._on_page_closed())

    @property
    def engine(self) -> str:
        return self._driver.engine

    def _on_page_closed(self) -> None:
        # When the browser process dies Playwright closes every page before it emits
        # `disconnected`, so decide the reason once the rest of that burst has landed.
        if self._closing or self._gone is not None:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, self._settle_page_closed)

    def _settle_page_closed(self) -> None:
        connected = self._browser.is_connected()
        self.mark_gone("page_closed" if connected else "browser_disconnected")

    def mark_gone(self, reason: str) -> None:
        """Record that the page died under us and tell the listener, once."""
        if self._closing or self._gone is not None or self._driver.stopping:
            return
        self._gone = reason
        if self._on_crash is None:
            return
        try:
            self._on_crash(reason)
        except Exception:  # a faulty listener must not break Playwright's dispatcher
            log.exception("on_crash callback failed")

    def _gone_reason(self) -> str | None:
        if self._closing:
            return "closed"
        return self._gone

    @contextlib.asynccontextmanager
    async def _call(
        self, action: str, *, selector: str | None = None, timeout_ms: float | None = None
    ) -> AsyncIterator[None]:
        gone = self._gone_reason()
        if gone is not None:
            raise _translate(RuntimeError(gone), action=action, gone=gone)
        try:
            yield
        except (PlaywrightError, TimeoutError) as exc:
            raise _translate(
                exc,
                action=action,
                selector=selector,
                timeout_ms=timeout_ms,
                gone=self._gone_reason(),
            ) from exc

    async def _result(self, response: Response | None) -> NavigationResult:
        return NavigationResult(
            url=self._page.url,
            title=await self._page.title(),
            http_status=response.status if response is not None else None,
        )

    async def navigate(self, url: str, *, wait_until: str, timeout_ms: int) -> NavigationResult:
        if wait_until not in WAIT_UNTIL:
            allowed = ", ".join(sorted(WAIT_UNTIL))
            raise DriverError("invalid_argument", f"wait_until must be one of: {allowed}")
        try:
            async with self._call("navigate", timeout_ms=timeout_ms):
                response = await self._page.goto(url, wait_until=wait_until, timeout=timeout_ms)  # type: ignore[arg-type]
                return await self._result(response)
        except DriverError as e:
            if e.reason == "navigation_failed" and self.engine == "chromium":
                await self._settle_error_page()
            raise

    async def _settle_error_page(self) -> None:
        # Chromium commits its error page only after goto has failed; a goto started before
        # that commit fails as "interrupted by another navigation to chrome-error://…"
        # (microsoft/playwright#35944). Letting it land keeps the session ready for a retry.
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await self._page.wait_for_url(
                "chrome-error://**", wait_until="load", timeout=_ERROR_PAGE_SETTLE_MS
            )

    async def tap(self, selector: str, *, timeout_ms: int) -> None:
        async with self._call("tap", selector=selector, timeout_ms=timeout_ms):
            if self._has_touch:
                await self._page.tap(selector, timeout=timeout_ms)
            else:
                await self._page.click(selector, timeout=timeout_ms)

    async def type(self, selector: str | None, text: str, *, delay_ms: float, timeout_ms: int) -> None:
        # The timeout bounds finding the element; the keystrokes get their own time on top.
        budget_s = (timeout_ms + len(text) * max(delay_ms, 0)) / 1000
        async with self._call("type", selector=selector, timeout_ms=timeout_ms):
            if selector is not None:
                await self._page.focus(selector, timeout=timeout_ms)
            await asyncio.wait_for(self._page.keyboard.type(text, delay=delay_ms), budget_s)

    async def scroll(self, direction: str, pixels: int, *, selector: str | None, timeout_ms: int) -> None:
        if direction not in DIRECTIONS:
            allowed = ", ".join(sorted(DIRECTIONS))
            raise DriverError("invalid_argument", f"direction must be one of: {allowed}")
        if pixels < 0:
            raise DriverError("invalid_argument", "pixels must not be negative")
        sign = -1 if direction in ("up", "left") else 1
        delta = [0, sign * pixels] if direction in ("up", "down") else [sign * pixels, 0]
        # scrollBy rather than the mouse wheel: the wheel is refused on mobile WebKit and
        # scrolls asynchronously elsewhere, so the position would lag behind the call.
        async with self._call("scroll", selector=selector, timeout_ms=timeout_ms):
            if selector is not None:
                element = self._page.locator(selector).first
                await element.evaluate(_SCROLL_ELEMENT, delta, timeout=timeout_ms)
            else:
                scrolled = self._page.evaluate(_SCROLL_WINDOW, delta)
                await asyncio.wait_for(scrolled, timeout_ms / 1000)

    async def press(self, key: str, *, selector: str | None, timeout_ms: int) -> None:
        async with self._call("press", selector=selector, timeout_ms=timeout_ms):
            if selector is not None:
                await self._page.press(selector, key, timeout=timeout_ms)
            else:
                await asyncio.wait_for(self._page.keyboard.press(key), timeout_ms / 1000)

    async def wait_for_selector(self, selector: str, *, timeout_ms: int) -> None:
        async with self._call("wait_for_selector", selector=selector, timeout_ms=timeout_ms):
            await self._page.wait_for_selector(selector, state="visible", timeout=timeout_ms)

    async def wait_for_navigation(self, *, timeout_ms: int) -> NavigationResult:
        async with self._call("wait_for_navigation", timeout_ms=timeout_ms):
            waiting = self._page.expect_navigation(wait_until="load", timeout=timeout_ms)
            async with waiting as info:
                pass
            return await self._result(await info.value)

    async def location(self) -> tuple[str, str]:
        # An action may have started a navigation: the title of a document still loading
        # is not worth failing the action for.
        try:
            title = await asyncio.wait_for(self._page.title(), 1)
        except (PlaywrightError, TimeoutError):
            title = ""
        return self._page.url, title

    async def state(self) -> PageState:
        async with self._call("state"):
            html = await self._page.content()
            title = await self._page.title()
            cookies = [dict(cookie) for cookie in await self._context.cookies()]
            return PageState(
                url=self._page.url,
                title=title,
                html=html,
                viewport=dict(self._page.viewport_size or {}),  # type: ignore[arg-type]
                cookies=cookies,
            )

    async def screenshot(self, *, full_page: bool) -> bytes:
        async with self._call("screenshot"):
            return await self._page.screenshot(full_page=full_page, type="png")

    async def pdf(self) -> bytes:
        if self.engine != "chromium":
            raise DriverError("unsupported", f"pdf needs chromium; this is {self.engine}")
        async with self._call("pdf"):
            return await self._page.pdf()

    async def dom_snapshot(self) -> str:
        async with self._call("dom_snapshot"):
            return await self._page.content()

    async def storage_state(self) -> dict:
        # IndexedDB too (Playwright 1.51+): sites keep logins there as often as in cookies.
        async with self._call("storage_state"):
            return dict(await self._context.storage_state(indexed_db=True))

    async def responsive(self) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _RESPONSIVE_S
        while self._gone_reason() is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._page.evaluate("1"), remaining)
                return True
            except TimeoutError:
                return False
            except PlaywrightError as exc:
                # A document being swapped (e.g. for an error page) is busy, not hung.
                if "context was destroyed" not in str(exc):
                    return False
                await asyncio.sleep(0.02)
        return False

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._driver.forget(self)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._context.close(), _CLOSE_GRACE_S)


class PlaywrightDriver:
    """A Playwright browser launched once and shared by every page it opens."""

    def __init__(
        self,
        engine: str = "chromium",
        executable_path: str | None = None,
        *,
        launch_timeout_ms: float = 30_000,
        default_timeout_ms: float = 30_000,
    ) -> None:
        if engine not in ENGINES:
            raise DriverUnavailable(
                f"unknown browser engine {engine!r}",
                hint="set DRIFTSTACK_BROWSER to one of: " + ", ".join(ENGINES),
            )
        self.engine = engine
        self.executable_path = executable_path
        self.description = f"Playwright {engine} ({executable_path or 'bundled'})"
        self._launch_timeout_ms = launch_timeout_ms
        self._default_timeout_ms = default_timeout_ms
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._pages: set[PlaywrightPage] = set()
        self._lock = asyncio.Lock()
        self._started = False
        self.stopping = False
        self.failure: DriverUnavailable | None = None  # why the last start() failed, for clients

    @property
    def available(self) -> bool:
        # True from a successful start until stop: a browser that died since is
        # relaunched by the next open(), so the driver itself is still usable. A relaunch
        # that fails costs only the session that asked for it; the next open() tries again.
        return self._started and not self.stopping

    @property
    def launched(self) -> bool:
        return self._browser is not None and self._browser.is_connected() and not self.stopping

    def _hint(self) -> str:
        if self.engine == "chromium":
            return (
                "apt-get install chromium and set "
                "DRIFTSTACK_BROWSER_EXECUTABLE=/usr/bin/chromium, "
                "or pip install playwright && playwright install chromium"
            )
        return f"pip install playwright && playwright install --with-deps {self.engine}"

    async def start(self) -> None:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return
            try:
                await self._launch()
            except DriverUnavailable as e:
                self.failure = e
                raise
            self.failure = None
            self._started = True

    async def _launch(self) -> None:
        if self.executable_path is not None and not os.path.exists(self.executable_path):
            raise DriverUnavailable(
                f"browser executable not found: {self.executable_path}", hint=self._hint()
            )
        self._browser = None
        if self._pw is None:
            self._pw = await async_playwright().start()
        options: dict[str, Any] = {"headless": True, "timeout": self._launch_timeout_ms}
        if self.executable_path is not None:
            options["executable_path"] = self.executable_path
        if self.engine == "chromium":
            options["args"] = list(CHROMIUM_ARGS)
        try:
            browser = await getattr(self._pw, self.engine).launch(**options)
        except PlaywrightError as exc:
            # No browser means nothing for the Playwright server process to serve.
            with contextlib.suppress(Exception):
                await self._pw.stop()
            self._pw = None
            raise DriverUnavailable(
                f"could not launch {self.engine}: {_first_line(str(exc))}", hint=self._hint()
            ) from exc
        browser.on("disconnected", self._on_disconnected)
        self._browser = browser

    def _on_disconnected(self, browser: Browser) -> None:
        if browser is not self._browser or self.stopping:
            return
        for page in list(self._pages):
            page.mark_gone("browser_disconnected")

    async def _live_browser(self) -> Browser:
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                # Relaunch once: a browser that dies under load should cost its own
                # sessions, not every session opened after it.
                await self._launch()
            assert self._browser is not None
            return self._browser

    async def open(
        self,
        archetype: Archetype,
        *,
        viewport: tuple[int, int] | None = None,
        storage_state: dict | None = None,
        on_crash: Callable[[str], None] | None = None,
    ) -> PlaywrightPage:
        browser = await self._live_browser()
        assert self._pw is not None
        options = context_options(self._pw.devices, archetype, self.engine, viewport=viewport)
        if storage_state is not None:
            options["storage_state"] = storage_state
        context: BrowserContext | None = None
        try:
            context = await browser.new_context(**options)
            context.set_default_timeout(self._default_timeout_ms)
            context.set_default_navigation_timeout(self._default_timeout_ms)
            pw_page = await context.new_page()
        except PlaywrightError as exc:
            if context is not None:
                with contextlib.suppress(Exception):
                    await context.close()
            raise _translate(exc, action="open") from exc
        page = PlaywrightPage(
            self, browser, context, pw_page, has_touch=archetype.has_touch, on_crash=on_crash
        )
        self._pages.add(page)
        return page

    def take_opened(
        self, archetype: Archetype, *, on_crash: Callable[[str], None] | None = None
    ) -> PlaywrightPage | None:
        return None  # nothing is opened ahead here; the warm pool does that

    def forget(self, page: PlaywrightPage) -> None:
        self._pages.discard(page)

    async def stop(self) -> None:
        self.stopping = True
        try:
            for page in list(self._pages):
                await page.close()
            if self._browser is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._browser.close(), _CLOSE_GRACE_S)
            if self._pw is not None:
                with contextlib.suppress(Exception):
                    await self._pw.stop()
        finally:
            self._browser = None
            self._pw = None
            self._pages.clear()
            self._started = False
            self.stopping = False
