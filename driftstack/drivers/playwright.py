"""The Playwright driver: one launched browser, one context and page per session (async API)."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from playwright.async_api import ConsoleMessage
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PWRequest
from playwright.async_api import Response as PWResponse

from driftstack.domain.archetypes import Archetype
from driftstack.drivers.base import (
    DIRECTIONS,
    NETWORK_REASONS,
    WAIT_UNTIL,
    ConsoleEntry,
    Document,
    DriverError,
    DriverUnavailable,
    NavigationResult,
    NetworkEntry,
    OpenRoute,
    PageState,
    Reason,
    RedirectHop,
    Route,
    tell,
)
from driftstack.drivers.own_session import start_playwright
from driftstack.drivers.playwright_errors import NAVIGATION, OTHER, SCRIPT, SELECTOR, engine_line, translate
from driftstack.drivers.playwright_navigations import Navigations

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright
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
    # Nothing leaves but through the egress: no UDP outside the proxy (WebRTC), no name looked up
    # ahead by the browser itself.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
)

_CLOSE_GRACE_S = 5.0
_ERROR_PAGE_SETTLE_MS = 2_000
_SCROLL_ELEMENT = "(el, [dx, dy]) => el.scrollBy({left: dx, top: dy, behavior: 'instant'})"
_SCROLL_WINDOW = "([dx, dy]) => window.scrollBy({left: dx, top: dy, behavior: 'instant'})"
_RESPONSIVE_S = 1.0
_TITLE_S = 5.0


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
        route: Route | None = None,
    ) -> None:
        self.route = route
        self._driver = driver
        self._browser = browser
        self._context = context
        self._page = page
        self._has_touch = has_touch
        self._on_crash = on_crash
        self._closing = False
        self._gone: str | None = None
        self._navigations = Navigations(page)
        self._navigations.on_commit = self._committed
        self._move_listener: Callable[[], None] | None = None
        self._console_listener: Callable[[ConsoleEntry], None] | None = None
        self._network_listener: Callable[[NetworkEntry], None] | None = None
        self._answered: dict[PWRequest, tuple[int, int | None]] = {}  # status and size, until finished
        self._document: PWResponse | None = None  # the last main-frame document's response
        # Event name → handler (the names are Playwright's; its typing knows each one only as a literal).
        self._console_events: dict[str, Any] = {"console": self._console, "pageerror": self._page_error}
        self._network_events: dict[str, Any] = {
            "response": self._response,
            "requestfinished": self._request_finished,
            "requestfailed": self._request_failed,
        }
        # Navigations listens for responses already: following the main document's costs no more traffic.
        page.on("response", self._document_arrived)
        page.on("crash", lambda _: self.mark_gone("page_crashed"))
        page.on("close", lambda _: self._on_page_closed())

    @property
    def engine(self) -> str:
        return self._driver.engine

    @property
    def engine_version(self) -> str | None:
        return self._browser.version

    @property
    def tap_kind(self) -> str:
        return "touch" if self._has_touch else "click"

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

    def follow_moves(self, listener: Callable[[], None] | None) -> None:
        self._move_listener = listener

    def follow_console(self, listener: Callable[[ConsoleEntry], None] | None) -> None:
        # Subscribed only while followed: Playwright's driver sends these events only to a listener.
        self._follow(self._console_listener is not None, listener is not None, self._console_events)
        self._console_listener = listener

    def follow_network(self, listener: Callable[[NetworkEntry], None] | None) -> None:
        self._follow(self._network_listener is not None, listener is not None, self._network_events)
        self._network_listener = listener
        if listener is None:
            self._answered.clear()

    def _follow(self, was: bool, now: bool, events: dict[str, Any]) -> None:
        for name, handler in events.items():
            if now and not was:
                # Names from our own tables above; Playwright types each event only as a literal.
                self._page.on(name, handler)  # type: ignore[call-overload]
            elif was and not now:
                self._page.remove_listener(name, handler)

    def _console(self, message: ConsoleMessage) -> None:
        where = message.location
        entry = ConsoleEntry.of(message.type, message.text, where.get("url"), where.get("lineNumber"))
        tell(self._console_listener, entry, "console")

    def _page_error(self, error: PlaywrightError) -> None:
        entry = ConsoleEntry.of("error", f"Uncaught {error.name or 'Error'}: {error.message}")
        tell(self._console_listener, entry, "console")

    def _response(self, response: PWResponse) -> None:
        length = response.headers.get("content-length", "")
        self._answered[response.request] = (response.status, int(length) if length.isdigit() else None)

    def _document_arrived(self, response: PWResponse) -> None:
        # The main frame's new document, whatever moved it: not a redirect on its way, nor an answer that
        # leaves the page where it was (no content, a download).
        request = response.request
        try:
            if not request.is_navigation_request() or request.frame != self._page.main_frame:
                return
        except PlaywrightError:  # a request of a frame already detached
            return
        headers = response.headers
        if 300 <= response.status < 400 and "location" in headers:
            return
        if response.status in (204, 205) or headers.get("content-disposition", "").startswith("attachment"):
            return
        self._document = response

    def _request_finished(self, request: PWRequest) -> None:
        self._request_ended(request, None)

    def _request_failed(self, request: PWRequest) -> None:
        self._request_ended(request, request.failure or "failed")

    def _request_ended(self, request: PWRequest, failure: str | None) -> None:
        status, size = self._answered.pop(request, (None, None))
        took = request.timing.get("responseEnd", -1)
        entry = NetworkEntry.of(
            request.url,
            request.method,
            status if failure is None else None,
            request.resource_type,
            took if took >= 0 else None,
            size,
            failure,
        )
        tell(self._network_listener, entry, "network")

    def _committed(self) -> None:
        if self._move_listener is None or self._gone_reason() is not None:
            return
        try:
            self._move_listener()
        except Exception:  # a faulty listener must not break Playwright's dispatcher
            log.exception("move listener failed")

    def _gone_reason(self) -> str | None:
        if self._closing:
            return "closed"
        return self._gone

    @contextlib.asynccontextmanager
    async def _call(
        self, doing: str, *, kind: str = OTHER, timeout_ms: float | None = None
    ) -> AsyncIterator[None]:
        """Runs one Playwright call; its failure comes out as a DriverError that `doing` names."""
        gone = self._gone_reason()
        if gone is not None:
            raise translate(RuntimeError(gone), doing=doing, gone=gone)
        try:
            yield
        except (PlaywrightError, TimeoutError) as exc:
            failure = translate(exc, doing=doing, kind=kind, timeout_ms=timeout_ms, gone=self._gone_reason())
            raise failure from exc

    async def _title(self) -> str:
        # An engine's error page has the engine's title, not the site's: the page has none.
        if self._navigations.failed_url is not None:
            return ""
        try:
            return await asyncio.wait_for(self._page.title(), _TITLE_S)
        except (PlaywrightError, TimeoutError):
            return ""  # a document being swapped has no title worth failing for

    async def navigate(self, url: str, *, wait_until: str, timeout_ms: int) -> NavigationResult:
        if wait_until not in WAIT_UNTIL:
            allowed = ", ".join(sorted(WAIT_UNTIL))
            raise DriverError.of(
                Reason.INVALID_ARGUMENT, f"navigate to {url}", more=f" (wait_until: {allowed})"
            )
        error_pages = self._navigations.error_pages
        self._document = None
        try:
            async with self._call(f"navigate to {url}", kind=NAVIGATION, timeout_ms=timeout_ms):
                response = await self._page.goto(url, wait_until=wait_until, timeout=timeout_ms)  # type: ignore[arg-type]
                return NavigationResult(
                    url=self._navigations.address(),
                    title=await self._title(),
                    http_status=response.status if response is not None else None,
                )
        except DriverError as e:
            if e.reason in NETWORK_REASONS and self.engine == "chromium":
                # Chromium commits its error page only after goto has failed; a goto started
                # before that commit fails as "interrupted by another navigation to
                # chrome-error://…" (microsoft/playwright#35944). Letting this failure's own
                # error page land keeps the session ready for a retry.
                await self._navigations.error_page_after(error_pages, _ERROR_PAGE_SETTLE_MS / 1000)
            raise

    async def tap(self, selector: str, *, timeout_ms: int) -> None:
        async with self._call(f"tap {selector!r}", kind=SELECTOR, timeout_ms=timeout_ms):
            if self._has_touch:
                await self._page.tap(selector, timeout=timeout_ms)
            else:
                await self._page.click(selector, timeout=timeout_ms)

    async def type(self, selector: str | None, text: str, *, delay_ms: float, timeout_ms: int) -> None:
        # The timeout bounds finding the element; the keystrokes get their own time on top.
        budget_s = (timeout_ms + len(text) * max(delay_ms, 0)) / 1000
        into = repr(selector) if selector is not None else "the focused element"
        async with self._call(f"type into {into}", kind=SELECTOR, timeout_ms=timeout_ms):
            if selector is not None:
                await self._page.focus(selector, timeout=timeout_ms)
            await asyncio.wait_for(self._page.keyboard.type(text, delay=delay_ms), budget_s)

    async def scroll(self, direction: str, pixels: int, *, selector: str | None, timeout_ms: int) -> None:
        doing = f"scroll {direction}" + (f" in {selector!r}" if selector is not None else "")
        if direction not in DIRECTIONS:
            allowed = ", ".join(sorted(DIRECTIONS))
            raise DriverError.of(Reason.INVALID_ARGUMENT, doing, more=f" (direction: {allowed})")
        if pixels < 0:
            raise DriverError.of(Reason.INVALID_ARGUMENT, doing, more=" (pixels must not be negative)")
        sign = -1 if direction in ("up", "left") else 1
        delta = [0, sign * pixels] if direction in ("up", "down") else [sign * pixels, 0]
        # scrollBy rather than the mouse wheel: the wheel is refused on mobile WebKit and
        # scrolls asynchronously elsewhere, so the position would lag behind the call.
        async with self._call(doing, kind=SELECTOR, timeout_ms=timeout_ms):
            if selector is not None:
                element = self._page.locator(selector).first
                await element.evaluate(_SCROLL_ELEMENT, delta, timeout=timeout_ms)
            else:
                scrolled = self._page.evaluate(_SCROLL_WINDOW, delta)
                await asyncio.wait_for(scrolled, timeout_ms / 1000)

    async def press(self, key: str, *, selector: str | None, timeout_ms: int) -> None:
        doing = f"press {key!r}" + (f" in {selector!r}" if selector is not None else "")
        async with self._call(doing, kind=SELECTOR, timeout_ms=timeout_ms):
            if selector is not None:
                await self._page.press(selector, key, timeout=timeout_ms)
            else:
                await asyncio.wait_for(self._page.keyboard.press(key), timeout_ms / 1000)

    async def fill(self, selector: str, value: str, *, timeout_ms: int) -> None:
        async with self._call(f"fill {selector!r}", kind=SELECTOR, timeout_ms=timeout_ms):
            await self._page.fill(selector, value, timeout=timeout_ms)

    async def wait_for_selector(self, selector: str, *, timeout_ms: int) -> None:
        async with self._call(f"wait for {selector!r}", kind=SELECTOR, timeout_ms=timeout_ms):
            await self._page.wait_for_selector(selector, state="visible", timeout=timeout_ms)

    async def wait_for_navigation(self, *, timeout_ms: int) -> NavigationResult:
        async with self._call("wait for a navigation", kind=NAVIGATION, timeout_ms=timeout_ms):
            waiting = self._page.expect_navigation(wait_until="load", timeout=timeout_ms)
            async with waiting as info:
                pass
            response = await info.value
        return NavigationResult(
            url=self._navigations.address(),
            title=await self._title(),
            http_status=response.status if response is not None else None,
        )

    async def evaluate(self, script: str, *, timeout_ms: int) -> Any:
        async with self._call("run the script", kind=SCRIPT, timeout_ms=timeout_ms):
            return await asyncio.wait_for(self._page.evaluate(script), timeout_ms / 1000)

    async def location(self, *, timeout_ms: int) -> tuple[str, str]:
        if self._gone_reason() is None:
            title = await self._navigations.landed(timeout_ms / 1000, after_action=True)
            if title is not None:  # the page stayed put: its title came with the round trip
                return self._navigations.address(), title
        return self._navigations.address(), await self._title()

    async def state(self) -> PageState:
        async with self._call("read the page"):
            await self._navigations.landed(self._driver.default_timeout_ms / 1000, after_action=False)
            html = await self._page.content()
            cookies = [dict(cookie) for cookie in await self._context.cookies()]
            return PageState(
                url=self._navigations.address(),
                title=await self._title(),
                html=html,
                viewport=dict(self._page.viewport_size or {}),  # type: ignore[arg-type]
                cookies=cookies,
            )

    async def block(self, patterns: list[str]) -> None:
        def matches(url: str) -> bool:
            return any(fnmatch.fnmatchcase(url, pattern) for pattern in patterns)

        async def refuse(route: Any) -> None:
            await route.abort("blockedbyclient")

        async with self._call("block URLs"):
            await self._context.route(matches, refuse)

    async def document(self) -> Document:
        async with self._call("read the document"):
            await self._navigations.landed(self._driver.default_timeout_ms / 1000, after_action=False)
            response = self._document
            if response is None or self._navigations.failed_url is not None:
                url = self._navigations.address()
                return Document(url=url, status=None, headers=[], redirects=[], content_type=None, body=None)
            # Raw headers as the engine received them: Set-Cookie lines apart, names as sent.
            headers = [(h["name"], h["value"]) for h in await response.headers_array()]
            declared = next((value for name, value in headers if name.lower() == "content-type"), "")
            return Document(
                url=response.url,
                status=response.status,
                headers=headers,
                redirects=await _redirects(response),
                content_type=declared.split(";", 1)[0].strip().lower() or None,
                body=await _body(response),
            )

    async def screenshot(self, *, full_page: bool) -> bytes:
        async with self._call("take a screenshot"):
            return await self._page.screenshot(full_page=full_page, type="png")

    async def pdf(self) -> bytes:
        if self.engine != "chromium":
            raise DriverError.of(
                Reason.UNSUPPORTED, "print a PDF", more=f" (PDF needs chromium; this is {self.engine})"
            )
        async with self._call("print a PDF"):
            return await self._page.pdf()

    async def dom_snapshot(self) -> str:
        async with self._call("take a DOM snapshot"):
            return await self._page.content()

    async def storage_state(self) -> dict:
        # IndexedDB too (Playwright 1.51+): sites keep logins there as often as in cookies.
        async with self._call("read the browser state"):
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
        if self.route is not None:
            await self.route.close()


class PlaywrightDriver:
    """A Playwright browser launched once and shared by every page it opens."""

    def __init__(
        self,
        engine: str = "chromium",
        executable_path: str | None = None,
        *,
        launch_timeout_ms: float = 30_000,
        default_timeout_ms: float = 30_000,
        open_route: OpenRoute | None = None,
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
        self._open_route = open_route
        self._browser_route: Route | None = None  # what the browser sends outside any context
        self.default_timeout_ms = default_timeout_ms
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
            self._pw = await start_playwright()
        options: dict[str, Any] = {"headless": True, "timeout": self._launch_timeout_ms}
        if self.executable_path is not None:
            options["executable_path"] = self.executable_path
        if self.engine == "chromium":
            options["args"] = list(CHROMIUM_ARGS)
        if self._open_route is not None:
            if self._browser_route is None:
                self._browser_route = await self._open_route()
            options["proxy"] = _proxy(self._browser_route)
        try:
            browser = await getattr(self._pw, self.engine).launch(**options)
        except PlaywrightError as exc:
            # No browser means nothing for the Playwright server process to serve.
            with contextlib.suppress(Exception):
                await self._pw.stop()
            self._pw = None
            raise DriverUnavailable(
                f"could not launch {self.engine}: {engine_line(str(exc))}", hint=self._hint()
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
        route = await self._open_route() if self._open_route is not None else None
        if route is not None:
            options["proxy"] = _proxy(route)
        context: BrowserContext | None = None
        try:
            context = await browser.new_context(**options)
            context.set_default_timeout(self.default_timeout_ms)
            context.set_default_navigation_timeout(self.default_timeout_ms)
            pw_page = await context.new_page()
        except BaseException as exc:
            if context is not None:
                with contextlib.suppress(Exception):
                    await context.close()
            if route is not None:
                await route.close()
            if isinstance(exc, PlaywrightError):
                raise translate(exc, doing="open a page") from exc
            raise
        page = PlaywrightPage(
            self, browser, context, pw_page, has_touch=archetype.has_touch, on_crash=on_crash, route=route
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
            if self._browser_route is not None:
                await self._browser_route.close()
        finally:
            self._browser_route = None
            self._browser = None
            self._pw = None
            self._pages.clear()
            self._started = False
            self.stopping = False


async def _redirects(response: PWResponse) -> list[RedirectHop]:
    """The redirects that led to `response`, oldest first."""
    hops: list[RedirectHop] = []
    request = response.request.redirected_from
    while request is not None:
        answered = await request.response()
        if answered is not None:
            location = await answered.header_value("location") or ""
            hops.append(
                RedirectHop(url=request.url, location=urljoin(request.url, location), status=answered.status)
            )
        request = request.redirected_from
    hops.reverse()
    return hops


async def _body(response: PWResponse) -> bytes | None:
    try:
        return await response.body()
    except PlaywrightError:
        return None  # the engine kept none: a 204, a HEAD, a body dropped since the page moved on


def _proxy(route: Route) -> dict[str, str]:
    # Loopback too: Chromium sends it around any proxy unless told (`<-loopback>`).
    return {"server": route.proxy_url, "bypass": "<-loopback>"}
