"""The browser driver protocol: what a session may ask of a page, and the errors it gets back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from driftstack.domain.archetypes import Archetype

WAIT_UNTIL = frozenset({"load", "domcontentloaded", "networkidle", "commit"})
DIRECTIONS = frozenset({"up", "down", "left", "right"})


class Reason(StrEnum):
    """Why a driver call failed: the one table of `reason`s a client can branch on.

    Every driver maps its engine's failures onto these, so a client sees the same reason
    whichever engine runs its session. Each member carries the sentence that explains it.
    """

    summary: str

    def __new__(cls, code: str, summary: str) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.summary = summary
        return member

    DNS_FAILED = "dns_failed", "the host name does not resolve"
    CONNECTION_REFUSED = "connection_refused", "the host refused the connection"
    CONNECTION_RESET = "connection_reset", "the connection was reset or closed before a response arrived"
    HOST_UNREACHABLE = "host_unreachable", "the host could not be reached"
    TLS_FAILED = "tls_failed", "the TLS handshake failed or the server's certificate is not trusted"
    TOO_MANY_REDIRECTS = "too_many_redirects", "the page redirects too many times"
    BLOCKED = "blocked", "the browser refuses to load that address (an unsafe port, or blocked by policy)"
    NAVIGATION_FAILED = "navigation_failed", "the browser could not load the page"
    TIMEOUT = "timeout", "it did not finish within the time allowed"
    SELECTOR_NOT_FOUND = "selector_not_found", "no element matches the selector"
    ELEMENT_NOT_ACTIONABLE = (
        "element_not_actionable",
        "an element matches the selector but stayed hidden, disabled or covered",
    )
    INVALID_SELECTOR = "invalid_selector", "the selector is not valid selector syntax"
    UNKNOWN_KEY = "unknown_key", "the browser knows no key of that name"
    SCRIPT_ERROR = "script_error", "the script does not parse or threw an error"
    PAGE_CLOSED = "page_closed", "the page was closed (the session is ending)"
    BROWSER_CRASHED = "browser_crashed", "the page or the browser died"
    UNSUPPORTED = "unsupported", "this browser engine cannot do that"
    INVALID_ARGUMENT = "invalid_argument", "an argument is outside what the driver accepts"
    UNAVAILABLE = "unavailable", "the session's browser is not held by this node"
    ACTION_FAILED = "action_failed", "the browser refused the action"
    EGRESS_REFUSED = "egress_refused", "the address is not public, and the operator has not opened it"


# A navigation that ended in one of these left the page on the engine's error page.
NETWORK_REASONS = frozenset(
    {
        Reason.DNS_FAILED,
        Reason.CONNECTION_REFUSED,
        Reason.CONNECTION_RESET,
        Reason.HOST_UNREACHABLE,
        Reason.TLS_FAILED,
        Reason.TOO_MANY_REDIRECTS,
        Reason.BLOCKED,
        Reason.NAVIGATION_FAILED,
    }
)

# The engine's own text is kept only as a hint, one line and this long at most.
ENGINE_MESSAGE_MAX = 300


class DriverError(Exception):
    """A driver-level failure on a live page, in Driftstack's words.

    `detail` is a sentence a client can read ("could not navigate to …: the host name does
    not resolve"); `reason` is the `Reason` to branch on; `engine_message` is the engine's own
    line, trimmed, for a human chasing the cause (None when the failure is Driftstack's).
    """

    def __init__(self, reason: Reason, detail: str, engine_message: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.engine_message = engine_message

    @classmethod
    def of(
        cls, reason: Reason, doing: str, *, more: str = "", engine_message: str | None = None
    ) -> DriverError:
        """The failure of `doing` ("navigate to https://…", "tap '#buy'") for `reason`."""
        return cls(reason, f"could not {doing}: {reason.summary}{more}", engine_message)


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


@runtime_checkable
class Route(Protocol):
    """Where a browser context's traffic leaves: the egress proxy's address for that context alone."""

    @property
    def proxy_url(self) -> str: ...

    async def close(self) -> None: ...


# Opens a route for a new context; a driver built without one sends its browsers straight out (tests of
# the driver alone).
OpenRoute = Callable[[], Awaitable[Route]]


@dataclass(frozen=True)
class NavigationResult:
    """Where a navigation ended: final URL, title, HTTP status (None without a response)."""

    url: str
    title: str
    http_status: int | None


@dataclass(frozen=True)
class RedirectHop:
    """One redirect the main document followed: the URL that answered it, where it pointed, its status."""

    url: str
    location: str
    status: int


@dataclass(frozen=True)
class Document:
    """The main document's response of the page's last navigation, as the browser received it."""

    url: str
    status: int | None
    headers: list[tuple[str, str]]  # as received, in order, repeated names kept (Set-Cookie)
    redirects: list[RedirectHop]  # oldest first
    content_type: str | None  # the MIME type, no parameters
    body: bytes | None  # None: the engine has no body for it (a HEAD, a 204, an error page)


# Console levels as a client filters them; engines' other names map onto these.
CONSOLE_LEVELS = ("log", "debug", "info", "warn", "error")
CONSOLE_MESSAGE_CAP = 4096


@dataclass(frozen=True)
class ConsoleEntry:
    """A console call of the page, or an error it did not catch (`level` error)."""

    level: str
    message: str
    url: str | None = None
    line: int | None = None

    @classmethod
    def of(cls, level: str, message: str, url: str | None = None, line: int | None = None) -> ConsoleEntry:
        level = {"warning": "warn", "trace": "debug", "assert": "error"}.get(level, level)
        return cls(
            level if level in CONSOLE_LEVELS else "log",
            message[:CONSOLE_MESSAGE_CAP],
            url or None,
            line if isinstance(line, int) and line >= 0 else None,
        )


# What a request was for, as the engines name it (WebKitGTK's from the response's type).
RESOURCE_TYPES = (
    "document",
    "stylesheet",
    "image",
    "media",
    "font",
    "script",
    "fetch",
    "xhr",
    "websocket",
    "other",
)


@dataclass(frozen=True)
class NetworkEntry:
    """One request the page made, finished or failed. Never its headers, body or cookies."""

    url: str
    method: str
    status: int | None  # None: no response (it failed)
    resource_type: str
    duration_ms: int | None
    byte_size: int | None  # the response body's, when known
    failure: str | None  # the engine's words for why it failed

    @classmethod
    def of(
        cls,
        url: str,
        method: str,
        status: int | None,
        resource_type: str,
        duration_ms: float | None,
        byte_size: int | None,
        failure: str | None,
    ) -> NetworkEntry:
        return cls(
            url[:8192],
            (method or "GET")[:16],
            status if isinstance(status, int) and 0 < status < 1000 else None,
            resource_type if resource_type in RESOURCE_TYPES else "other",
            max(0, round(duration_ms)) if isinstance(duration_ms, int | float) and duration_ms >= 0 else None,
            byte_size if isinstance(byte_size, int) and byte_size >= 0 else None,
            failure[:1024] if failure else None,
        )


def tell(listener: Callable[[Any], None] | None, entry: Any, what: str) -> None:
    """Hands a page's entry to its listener, if any; a faulty listener is logged and never breaks the
    engine's dispatcher that called this."""
    if listener is None:
        return
    try:
        listener(entry)
    except Exception:
        logging.getLogger(__name__).exception("%s listener failed", what)


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
    """One live browser context with one page: the browser side of one session.

    `route` is where its traffic leaves (None without an egress). Every failure is a DriverError with
    a `Reason`. Where the page is (`location`, `state`,
    a NavigationResult) is where a browser's address bar would say: after a navigation that
    failed, the URL that failed, with an empty title, while the engine shows its error page.
    """

    route: Route | None

    @property
    def engine(self) -> str:
        """webkit | chromium | firefox."""

    @property
    def engine_version(self) -> str | None:
        """The browser's own version, as it reports it."""

    @property
    def tap_kind(self) -> str:
        """What a tap is here: "touch" (a touch event sequence) or "click" (mouse events)."""

    async def navigate(self, url: str, *, wait_until: str, timeout_ms: int) -> NavigationResult: ...

    async def tap(self, selector: str, *, timeout_ms: int) -> None:
        """A touch tap when the context has touch, else a mouse click."""

    async def type(self, selector: str | None, text: str, *, delay_ms: float, timeout_ms: int) -> None:
        """Type keystroke by keystroke; selector None types into the focused element."""

    async def scroll(self, direction: str, pixels: int, *, selector: str | None, timeout_ms: int) -> None:
        """Scroll up|down|left|right; selector scrolls that element, else the window."""

    async def press(self, key: str, *, selector: str | None, timeout_ms: int) -> None:
        """Press one key by its Playwright name, e.g. "Enter"."""

    async def fill(self, selector: str, value: str, *, timeout_ms: int) -> None:
        """Set an input's value at once (replacing what it held), as a person pasting would."""

    async def wait_for_selector(self, selector: str, *, timeout_ms: int) -> None: ...

    async def wait_for_navigation(self, *, timeout_ms: int) -> NavigationResult:
        """Wait for the next navigation to reach `load`."""

    async def evaluate(self, script: str, *, timeout_ms: int) -> Any:
        """Run a script in the page; its JSON-able result. Reason.SCRIPT_ERROR when it does not
        parse or throws."""

    async def location(self, *, timeout_ms: int) -> tuple[str, str]:
        """The page's URL and title once the navigations the last action started have landed
        (waiting at most `timeout_ms`, never failing for it): where the page really is."""

    async def state(self) -> PageState: ...

    async def block(self, patterns: list[str]) -> None:
        """Refuse every request of the page whose URL matches one of these globs (`*`: any run of
        characters), documents and subresources alike, from now on."""

    async def document(self) -> Document:
        """The main document's response of the last navigation: status, headers, redirects, body."""

    def follow_moves(self, listener: Callable[[], None] | None) -> None:
        """Call `listener()` each time the page commits a new document, whatever moved it (an
        action, the page's own script, a failed load); `location` then says where it landed."""

    def follow_console(self, listener: Callable[[ConsoleEntry], None] | None) -> None:
        """Call `listener(entry)` for each console call of the page and each error it does not catch."""

    def follow_network(self, listener: Callable[[NetworkEntry], None] | None) -> None:
        """Call `listener(entry)` for each request of the page once it has finished or failed."""

    async def screenshot(self, *, full_page: bool) -> bytes:
        """A PNG."""

    async def pdf(self) -> bytes:
        """Chromium only; other engines raise DriverError(Reason.UNSUPPORTED)."""

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
