"""Main-frame navigations in flight on one Playwright page, and where the page really is.

A tap that submits a form, a key that follows a link or a page's own script starts a
navigation the action itself does not wait for. Reading the page's URL and title at that
moment gives the old URL, or the new one with no title yet. `Navigations` follows the page's
navigation requests so a reading can wait until they have landed (committed, failed, or
answered without a document), and it remembers a navigation that failed: the engine then
shows its own error page, which the page reports as the URL that failed, with no title.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

if TYPE_CHECKING:
    from playwright.async_api import Download, Frame, Request, Response
    from playwright.async_api import Page as PWPage

# Engines' own error documents: Chromium's, Firefox's. WebKit keeps the failed URL.
_ERROR_DOCUMENTS = ("chrome-error:", "about:neterror", "about:certerror")
# Answers that end a navigation without a new document.
_NO_DOCUMENT = frozenset({204, 205})
# One task on the page's own loop: by its end, a navigation an action queued has been requested.
# After what the action queued has run: the document's title and whether it is still parsing, so a page
# that stayed put answers where it is in this one call.
_ROUND_TRIP = (
    "() => new Promise((resolve) => setTimeout(() => resolve([document.title, document.readyState]), 0))"
)


class Navigations:
    """Follows one page's main-frame navigations (attach once, right after the page opens)."""

    def __init__(self, page: PWPage) -> None:
        self._page = page
        self._pending: set[Request] = set()
        self._landed = asyncio.Event()
        self._landed.set()
        self.failed_url: str | None = None  # the URL whose load failed, while its error page shows
        self.error_pages = 0  # error documents committed so far
        self.on_commit: Callable[[], None] | None = None  # told of each new main-frame document
        self._error_page = asyncio.Event()
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)
        page.on("framenavigated", self._on_navigated)
        page.on("download", self._on_download)

    def _main(self, request: Request) -> bool:
        try:
            return request.is_navigation_request() and request.frame == self._page.main_frame
        except PlaywrightError:  # a request of a frame already detached
            return False

    def _on_request(self, request: Request) -> None:
        if not self._main(request):
            return
        if request.redirected_from is not None:
            self._pending.discard(request.redirected_from)
        self._pending.add(request)
        self._landed.clear()

    def _on_response(self, response: Response) -> None:
        if response.status in _NO_DOCUMENT:
            self._settle(response.request)

    def _on_failed(self, request: Request) -> None:
        if request not in self._pending:
            return
        # ERR_ABORTED: stopped (by a newer navigation, a download); no error page follows.
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure and "NS_BINDING_ABORTED" not in failure:
            self.failed_url = request.url
        self._settle(request)

    def _on_download(self, download: Download) -> None:
        self._pending.clear()
        self._landed.set()

    def _on_navigated(self, frame: Frame) -> None:
        if frame != self._page.main_frame:
            return
        if self.showing_error(frame.url):
            self.error_pages += 1
            self._error_page.set()
        else:
            self.failed_url = None
        committed = frame.url.split("#", 1)[0]
        matching = {r for r in self._pending if r.url == committed}
        for request in matching or set(self._pending):
            self._pending.discard(request)
        if not self._pending:
            self._landed.set()
        if self.on_commit is not None:
            self.on_commit()

    def _settle(self, request: Request) -> None:
        self._pending.discard(request)
        if not self._pending:
            self._landed.set()

    @staticmethod
    def showing_error(url: str) -> bool:
        return url.startswith(_ERROR_DOCUMENTS)

    async def landed(self, timeout_s: float, *, after_action: bool) -> str | None:
        """Waits, at most `timeout_s`, until navigations in flight have landed and the document
        they landed on has parsed (its title is known). Never raises: a page still loading past
        the bound is read as it is.

        `after_action`: first let the page run what the action queued, so a navigation it
        started (a form submitted on a tap) is already in flight when the wait begins; when none
        is and the document has parsed, answers its title (read in the same call), else None.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if after_action:
            # A page that navigates away destroys the context mid-call: that, too, is an answer.
            with contextlib.suppress(PlaywrightError, TimeoutError):
                title, ready = await asyncio.wait_for(self._page.evaluate(_ROUND_TRIP), timeout_s)
                if self._landed.is_set() and self.failed_url is None and ready != "loading":
                    return str(title)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._landed.wait(), max(deadline - loop.time(), 0))
        remaining_ms = max(deadline - loop.time(), 0) * 1000
        if remaining_ms > 0 and self.failed_url is None:
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await self._page.wait_for_load_state("domcontentloaded", timeout=remaining_ms)
        return None

    async def error_page_after(self, seen: int, timeout_s: float) -> None:
        """Waits, at most `timeout_s`, for an error page newer than the `seen`-th to load."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        with contextlib.suppress(TimeoutError):
            while self.error_pages <= seen:
                self._error_page.clear()
                await asyncio.wait_for(self._error_page.wait(), max(deadline - loop.time(), 0))
        remaining_ms = max(deadline - loop.time(), 0) * 1000
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await self._page.wait_for_load_state("load", timeout=remaining_ms or 1)

    def address(self) -> str:
        """The page's URL as a browser's address bar shows it: on an error page, the URL that failed."""
        if self.failed_url is not None:
            return self.failed_url
        return self._page.url
