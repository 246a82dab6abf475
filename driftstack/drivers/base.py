"""The browser driver protocol: what a session may ask of a page, and the errors it gets back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from driftstack.domain.archetypes import Archetype

WAIT_UNTIL = frozenset({"load", "domcontentloaded", "networkidle", "commit"})
DIRECTIONS = frozenset({"up", "down", "left", "right"})


class DriverError(Exception):
    """A driver-level failure on a live page.

    `reason` is a short code a caller can branch on:
    `timeout`, `navigation_failed`, `crashed` (the page or browser died),
    `closed` (we closed the page ourselves), `unsupported` (not on this engine),
    `invalid_argument`, `action_failed` (anything else the browser refused).
    """

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason


class DriverUnavailable(Exception):
    """No usable browser: `hint` says what to install or configure."""

    DEFAULT_HINT = (
        "pip install playwright && playwright install webkit, or apt-get install chromium "
        "and set DRIFTSTACK_BROWSER_EXECUTABLE=/usr/bin/chromium"
    )

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.DEFAULT_HINT

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})"


@dataclass(frozen=True)
class NavigationResult:
    """Where a navigation ended: final URL, title, HTTP status (None without a response)."""

    url: str
    title: str
    http_status: int | None


@dataclass(frozen=True)
class PageState:
    """A point-in-time reading of a page: location, markup, viewport and cookies."""

    url: str
    title: str
    html: str
    viewport: dict[str, int] = field(default_factory=dict)
    cookies: list[dict] = field(default_factory=list)


@runtime_checkable
class Page(Protocol):
    """One live browser context with one page: the browser side of one session."""

    async def navigate(self, url: str, *, wait_until: str, timeout_ms: int) -> NavigationResult: ...

    async def tap(self, selector: str, *, timeout_ms: int) -> None:
        """A touch tap when the context has touch, else a mouse click."""

    async def type(self, selector: str | None, text: str, *, delay_ms: float, timeout_ms: int) -> None:
        """Type keystroke by keystroke; selector None types into the focused element."""

    async def scroll(self, direction: str, pixels: int, *, selector: str | None, timeout_ms: int) -> None:
        """Scroll up|down|left|right; selector scrolls that element, else the window."""

    async def press(self, key: str, *, selector: str | None, timeout_ms: int) -> None:
        """Press one key by its Playwright name, e.g. "Enter"."""

    async def wait_for_selector(self, selector: str, *, timeout_ms: int) -> None: ...

    async def wait_for_navigation(self, *, timeout_ms: int) -> NavigationResult:
        """Wait for the next navigation to reach `load`."""

    async def location(self) -> tuple[str, str]:
        """The page's URL and title now (title empty while a document is loading)."""

    async def state(self) -> PageState: ...

    async def screenshot(self, *, full_page: bool) -> bytes:
        """A PNG."""

    async def pdf(self) -> bytes:
        """Chromium only; other engines raise DriverError(reason="unsupported")."""

    async def dom_snapshot(self) -> str:
        """The serialised DOM."""

    async def storage_state(self) -> dict:
        """Cookies and per-origin storage (localStorage, IndexedDB), in Playwright's storage_state
        shape: what `Driver.open(storage_state=…)` starts a later context with."""

    async def responsive(self) -> bool:
        """Whether the page answers a trivial script within about a second."""

    async def close(self) -> None:
        """Idempotent; never raises."""


@runtime_checkable
class Driver(Protocol):
    """A browser engine that hands out isolated pages dressed as a persona."""

    @property
    def engine(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def failure(self) -> DriverUnavailable | None:
        """Why the last start failed, with what to install."""

    @property
    def launched(self) -> bool:
        """A browser is running now: opening a page will not have to launch one first."""

    async def start(self) -> None:
        """Launch the browser once; raises DriverUnavailable with a hint when it cannot."""

    async def open(
        self,
        archetype: Archetype,
        *,
        viewport: tuple[int, int] | None = None,
        storage_state: dict | None = None,
        on_crash: Callable[[str], None] | None = None,
    ) -> Page:
        """A fresh context and page; `on_crash(reason)` fires once if it dies under us."""

    def take_opened(
        self, archetype: Archetype, *, on_crash: Callable[[str], None] | None = None
    ) -> Page | None:
        """A page of this archetype opened ahead of demand, at once; None when none waits."""

    async def stop(self) -> None: ...

    @property
    def available(self) -> bool: ...
