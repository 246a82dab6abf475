"""The W3C WebDriver driver: a session's page on WebKitGTK (or any W3C endpoint), one browser per session.

Locally each session is a WebKitWebDriver process launching our WebKitGTK shell (`webkit_shell.py`)
at the persona's exact viewport and device scale, with a data directory of its own. With
`DRIFTSTACK_WEBDRIVER_URL` the same commands go to a remote endpoint (Selenium Grid 4, safaridriver);
what only the shell's side channel gives (PDF, full-page screenshots, console) is then unsupported.

Selectors are CSS (WebDriver's and the page's own `querySelector`); a tap is a click (WebKitGTK has no
touch: `pointerType: "touch"` arrives as mouse events).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fnmatch
import io
import json
import logging
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from driftstack.domain.archetypes import Archetype
from driftstack.drivers import webkit_host
from driftstack.drivers.base import (
    DIRECTIONS,
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
from driftstack.drivers.webdriver_client import WebDriverFailure, WebDriverSession
from driftstack.drivers.webdriver_errors import LOAD_CANCELLED, engine_line, load_failure, translate
from driftstack.drivers.webdriver_keys import code_points, typed

log = logging.getLogger(__name__)

# What a WebKit state carries beside Playwright's `cookies` and `origins`: the shell's data directory
# (cookies, localStorage, IndexedDB), a gzipped tar in base64.
DATA_DIRECTORY = "webkit_data_directory"
_STATE_MAX_BYTES = 64 * 1024 * 1024
_SESSION_START_S = 30.0
# What WebKitWebDriver and the browser it launched print, in the session's directory (shown when a start fails).
BROWSER_LOG = "browser.log"
_LOCAL_START_S = 10.0
_SIDE_CHANNEL_S = 30.0
_QUIT_S = 5.0
_POLL_MS = 50
_IDLE_MS = 500
_COMMIT_S = 2.0
_START_S = 0.5
_REMOTE_CANNOT = " (a remote WebDriver endpoint offers no way to do it)"

# One look for an element (and whether it is shown): {element}, {missing}, {hidden} or {invalid}. Waits
# poll it from here: a page's own timers can be held back for seconds (measured: a setTimeout loop inside
# an async script stalled a navigation for 30 s), synchronous scripts are answered at once.
_FIND = """
const [selector, visible] = arguments;
let el;
try { el = document.querySelector(selector); } catch (e) { return {invalid: String(e.message)}; }
if (!el) return {missing: true};
const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
const shown = r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
return (!visible || shown) ? {element: el} : {hidden: true};
"""

# How far the document has loaded, how many resources it has asked for (for network idle), where it is.
_PROGRESS = "return [document.readyState, performance.getEntriesByType('resource').length, location.href, document.title]"

_MARKUP = (
    "return (document.doctype ? new XMLSerializer().serializeToString(document.doctype) : '')"
    " + (document.documentElement ? document.documentElement.outerHTML : '')"
)

# Playwright's fill: the value replaces the field's at once, as a paste would (an `input` event, no keys).
# Inserting over a selection is what an edit by a person looks like to the page (a trusted `input`);
# where WebKit inserts nothing, the value's own setter and an `input` event stand in. Kinds of input a
# person does not type into (date, colour, range) take the value directly, with `input` and `change`.
_FILL = """
const [el, value] = arguments;
const direct = ['color', 'date', 'time', 'datetime-local', 'month', 'range', 'week'];
const typed = ['', 'email', 'number', 'password', 'search', 'tel', 'text', 'url'];
const input = el instanceof HTMLInputElement;
if (!input && !(el instanceof HTMLTextAreaElement) && !el.isContentEditable)
  return {refused: 'the element is not an <input>, <textarea> or [contenteditable] element'};
const type = input ? el.type.toLowerCase() : '';
if (input && !direct.includes(type) && !typed.includes(type))
  return {refused: 'an input of type ' + type + ' cannot be filled'};
if (el.disabled || el.readOnly) return {busy: true};
const read = () => el.isContentEditable ? el.textContent : el.value;
const fire = (name) => el.dispatchEvent(new Event(name, {bubbles: true}));
if (direct.includes(type)) {
  el.focus(); el.value = value; fire('input'); fire('change');
  return read() === value ? {filled: true} : {refused: 'the value is malformed for an input of type ' + type};
}
el.focus();
if (el.isContentEditable) {
  const range = document.createRange(); range.selectNodeContents(el);
  const selection = getSelection(); selection.removeAllRanges(); selection.addRange(range);
} else { el.select(); }
if (value) document.execCommand('insertText', false, value); else document.execCommand('forwardDelete', false);
if (read() !== value) {
  if (el.isContentEditable) el.textContent = value;
  else Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value').set.call(el, value);
  el.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertText', data: value}));
}
return {filled: true};
"""

# Playwright's evaluate: an expression, or a function it calls; a promise is awaited.
_EVALUATE = """
const done = arguments[arguments.length - 1];
Promise.resolve().then(() => { const value = (SCRIPT
); return typeof value === 'function' ? value() : value; })
  .then(value => done({value: value === undefined ? null : value}),
        error => done({error: String(error && error.stack ? error.message : error)}));
"""


# The fetch standard's bad ports (https://fetch.spec.whatwg.org/#port-blocking): every engine refuses them.
BAD_PORTS = frozenset(
    {1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104}
    | {109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514}
    | {515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723}
    | {2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)


def _bad_port(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.port in BAD_PORTS
    except ValueError:
        return False


# WebKit's content-blocker expressions are ASCII only and `.` in them is any ASCII character; a URL as
# engines match it (canonical: percent-encoded, punycode host) is ASCII too, and never holds NUL.
_URL_CHARACTERS = [chr(code) for code in range(1, 128)]
_SPECIAL = frozenset("\\^$.|?*+()[]{}")
_SPECIAL_IN_CLASS = frozenset("\\]^-[")


def url_filter(glob: str) -> str | None:
    """`glob` (fnmatch's: `*`, `?`, `[...]`, as the Playwright page matches URLs) as the `url-filter`
    expression of a WebKit content blocker, which knows no `{n}`, no `|`, nothing but ASCII; None when
    no URL can match it (an empty glob, or one with a character no URL holds), so it needs no rule."""
    parts: list[str] = []
    i = 0
    while i < len(glob):
        character = glob[i]
        end = _class_end(glob, i) if character == "[" else None
        if character == "*":
            if not parts or parts[-1] != ".*":
                parts.append(".*")
        elif character == "?":
            parts.append(".")
        elif end is not None:
            # fnmatch's own reading of the class (`!`, ranges, a leading `]`), taken character by character.
            token = glob[i : end + 1]
            members = [c for c in _URL_CHARACTERS if fnmatch.fnmatchcase(c, token)]
            if not members:
                return None
            parts.append(_character_class(members))
            i = end
        elif character in _URL_CHARACTERS:
            parts.append("\\" + character if character in _SPECIAL else character)
        else:
            return None
        i += 1
    return "^" + "".join(parts) + "$" if parts else None


def _class_end(glob: str, start: int) -> int | None:
    """Where the class opened at `start` closes, as fnmatch reads it; None: the `[` is a character."""
    j = start + 1
    if j < len(glob) and glob[j] == "!":
        j += 1
    if j < len(glob) and glob[j] == "]":
        j += 1
    end = glob.find("]", j)
    return end if end >= 0 else None


def _character_class(members: list[str]) -> str:
    """`[...]` of exactly these characters, runs of three or more as ranges."""

    def one(c: str) -> str:
        return "\\" + c if c in _SPECIAL_IN_CLASS else c

    runs: list[list[str]] = []
    for c in members:
        if runs and ord(c) == ord(runs[-1][-1]) + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    inside = "".join(
        one(run[0]) + "-" + one(run[-1]) if len(run) > 2 else "".join(map(one, run)) for run in runs
    )
    return "[" + inside + "]"


def blocking_rules(patterns: list[str]) -> list[dict[str, Any]]:
    """A WebKit content blocker refusing every load, document or subresource, whose URL matches a glob."""
    filters = dict.fromkeys(f for f in map(url_filter, patterns) if f is not None)
    return [
        {"trigger": {"url-filter": f, "url-filter-is-case-sensitive": True}, "action": {"type": "block"}}
        for f in filters
    ]


def persona(archetype: Archetype, width: int, height: int) -> dict[str, Any]:
    """The navigator and screen values the shell gives the page for `archetype`."""
    agent = archetype.user_agent
    platform = (
        "iPhone"
        if "iPhone" in agent
        else "MacIntel"
        if ("Mac OS X" in agent or "iPad" in agent)
        else "Linux x86_64"
    )
    screen_w, screen_h = archetype.screen
    screen_w, screen_h = max(screen_w, width), max(screen_h, height)
    return {
        "navigator": {"platform": platform, "maxTouchPoints": 5 if archetype.has_touch else 0},
        "screen": {"width": screen_w, "height": screen_h, "availWidth": screen_w, "availHeight": screen_h},
    }


def shell_arguments(archetype: Archetype, width: int, height: int, data: Path) -> list[str]:
    """What the shell is launched with for a persona at a size, on a data directory."""
    return [
        "--automation",
        f"--width={width}",
        f"--height={height}",
        f"--user-agent={archetype.user_agent}",
        "--persona=" + json.dumps(persona(archetype, width, height)),
        f"--data-dir={data}",
    ]


def _playwright_cookie(cookie: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": cookie.get("name", ""),
        "value": cookie.get("value", ""),
        "domain": cookie.get("domain", ""),
        "path": cookie.get("path", "/"),
        "expires": cookie.get("expiry", -1),
        "httpOnly": bool(cookie.get("httpOnly", False)),
        "secure": bool(cookie.get("secure", False)),
        "sameSite": cookie.get("sameSite", "Lax"),
    }


def _pack(directory: Path) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for child in sorted(directory.iterdir()):
            if child.name != ".cache":
                archive.add(child, arcname=child.name)
    return base64.b64encode(buffer.getvalue()).decode()


def _unpack(packed: str, directory: Path) -> None:
    data = base64.b64decode(packed)
    if len(data) > _STATE_MAX_BYTES:
        raise ValueError("the browser state is too large")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(directory, filter="data")  # no path leaves the directory


class WebDriverPage:
    """One W3C session with its one window: the browser side of one Driftstack session."""

    engine = "webkit"
    tap_kind = "click"

    def __init__(
        self,
        driver: WebDriverDriver,
        session: WebDriverSession,
        *,
        local: webkit_host.LocalWebDriver | None,
        side: webkit_host.SideChannel | None,
        directory: Path | None,
        on_crash: Callable[[str], None] | None,
        route: Route | None,
    ) -> None:
        self.route = route
        self.engine_version: str | None = str(session.capabilities.get("browserVersion") or "") or None
        self._driver = driver
        self._session = session
        self._local = local
        self._side = side
        self._directory = directory
        self._on_crash = on_crash
        self._closing = False
        self._gone: str | None = None
        self._status: int | None = None
        self._page_load_ms: int | None = int(driver.default_timeout_ms)  # the session's page-load timeout
        self._committed = asyncio.Event()
        self._asked = False  # the page asked to navigate; no commit or failure since
        self._in_flight = False  # its main frame started loading; no commit or failure since
        self._landing = asyncio.Event()  # set on each of those steps
        self._failed: tuple[str, str] | None = None  # the URL and WebKit's sentence of the last failed load
        self._move_listener: Callable[[], None] | None = None
        self._console_listener: Callable[[ConsoleEntry], None] | None = None
        self._network_listener: Callable[[NetworkEntry], None] | None = None
        if side is not None:
            side.on_event = self._side_event
            side.on_closed = lambda: self.mark_gone("browser_disconnected")

    # What the shell tells

    def _side_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind in ("navigating", "started"):
            # The page asked to go somewhere (navigating), then its main frame began loading (started).
            self._asked = True
            self._in_flight = self._in_flight or kind == "started"
            self._landing.set()
            return
        if kind in ("committed", "load_failed"):
            self._asked = self._in_flight = False
            self._landing.set()
        if kind == "committed":
            if self._failed is not None and event.get("url") == self._failed[0]:
                return  # WebKit's error page for the load that failed: the failure stands
            self._status = event.get("status")
            self._failed = None
            self._committed.set()
            self._moved()
        elif kind == "load_failed":
            if event.get("code") != LOAD_CANCELLED:
                self._failed = (str(event.get("url") or ""), str(event.get("error") or ""))
                self._committed.set()
                self._moved()
        elif kind == "crashed":
            self.mark_gone("page_crashed")
        elif kind == "network" and self._network_listener is not None:
            entry = NetworkEntry.of(
                str(event.get("url") or ""),
                str(event.get("method") or "GET"),
                event.get("status"),
                str(event.get("resource_type") or "other"),
                event.get("duration_ms"),
                event.get("byte_size"),
                event.get("error"),
            )
            tell(self._network_listener, entry, "network")
        elif kind == "console" and self._console_listener is not None:
            entry = ConsoleEntry.of(
                str(event.get("level")), str(event.get("text")), event.get("url"), event.get("line")
            )
            tell(self._console_listener, entry, "console")

    def _moved(self) -> None:
        if self._move_listener is None or self._gone_reason() is not None:
            return
        try:
            self._move_listener()
        except Exception:  # a faulty listener must not break the side channel
            log.exception("move listener failed")

    def follow_moves(self, listener: Callable[[], None] | None) -> None:
        self._move_listener = listener

    def follow_console(self, listener: Callable[[ConsoleEntry], None] | None) -> None:
        self._console_listener = listener

    def follow_network(self, listener: Callable[[NetworkEntry], None] | None) -> None:
        self._network_listener = listener

    def mark_gone(self, reason: str) -> None:
        if self._closing or self._gone is not None or self._driver.stopping:
            return
        self._gone = reason
        if self._on_crash is not None:
            try:
                self._on_crash(reason)
            except Exception:
                log.exception("on_crash callback failed")

    def _gone_reason(self) -> str | None:
        return "closed" if self._closing else self._gone

    def _check_alive(self, doing: str) -> None:
        gone = self._gone_reason()
        if gone is not None:
            reason = Reason.PAGE_CLOSED if gone == "closed" else Reason.BROWSER_CRASHED
            raise DriverError.of(reason, doing)

    async def _run(self, doing: str, call: Any, *, fallback: Reason = Reason.ACTION_FAILED) -> Any:
        try:
            self._check_alive(doing)
        except DriverError:
            call.close()  # never to be awaited: say so, rather than leave a warning behind
            raise
        try:
            return await call
        except WebDriverFailure as failure:
            self._check_alive(doing)
            raise translate(failure, doing=doing, fallback=fallback) from failure
        except TimeoutError as exc:
            self._check_alive(doing)
            raise DriverError.of(Reason.TIMEOUT, doing) from exc

    # Navigation

    def _address(self, url: str) -> str:
        return self._failed[0] if self._failed is not None else url

    async def _title(self) -> str:
        if self._failed is not None:
            return ""  # WebKit's error page has WebKit's title, not the site's
        try:
            return await self._session.title() if self._gone_reason() is None else ""
        except (WebDriverFailure, TimeoutError):
            return ""

    async def _loaded(self, wait_until: str, timeout_ms: int) -> tuple[str, str] | None:
        """Waits until the document reaches `wait_until` (for networkidle: loaded, and no new resource
        for _IDLE_MS); then where it is (url, title), or None when `timeout_ms` passes first."""
        wanted = (
            ("interactive", "complete") if wait_until in ("domcontentloaded", "commit") else ("complete",)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        count, since = -1, loop.time()
        while True:
            try:
                state, resources, url, title = await self._session.execute(
                    _PROGRESS, timeout_s=max(1.0, deadline - loop.time())
                )
            except (WebDriverFailure, TimeoutError, ValueError, TypeError):
                state, resources, url, title = "loading", -1, "", ""  # a document being swapped
            if state in wanted:
                if wait_until != "networkidle":
                    return str(url), str(title)
                if resources != count:
                    count, since = resources, loop.time()
                elif (loop.time() - since) * 1000 >= _IDLE_MS:
                    return str(url), str(title)
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(_POLL_MS / 1000)

    async def navigate(self, url: str, *, wait_until: str, timeout_ms: int) -> NavigationResult:
        doing = f"navigate to {url}"
        if wait_until not in WAIT_UNTIL:
            allowed = ", ".join(sorted(WAIT_UNTIL))
            raise DriverError.of(Reason.INVALID_ARGUMENT, doing, more=f" (wait_until: {allowed})")
        if _bad_port(url):
            # WebKit drops such a load without a word, and its automation was seen to hang on the next
            # navigation after one: refused here, before the browser is asked, as the fetch standard says.
            self._failed = (url, "a port the fetch standard blocks")
            raise DriverError.of(Reason.BLOCKED, doing, engine_message=self._failed[1])
        self._failed = None
        self._status = None
        self._committed.clear()
        loop = asyncio.get_running_loop()
        started = loop.time()
        if timeout_ms != self._page_load_ms:
            await self._run(doing, self._session.set_timeouts(pageLoad=timeout_ms))
            self._page_load_ms = timeout_ms
        try:
            await self._run(
                doing,
                self._session.navigate_to(url, timeout_s=timeout_ms / 1000 + 5),
                fallback=Reason.NAVIGATION_FAILED,
            )
        except DriverError as failure:
            if self._failed is not None:
                raise load_failure(self._failed[1], doing=doing) from failure
            raise
        # The shell's word on the load travels beside WebDriver's answer and may land just after it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._committed.wait(), _COMMIT_S)
        if self._failed is not None:
            raise load_failure(self._failed[1], doing=doing)
        left = max(1, int(timeout_ms - (loop.time() - started) * 1000))
        where = await self._loaded(wait_until, left)
        if where is None:
            raise DriverError.of(Reason.TIMEOUT, doing)
        current, title = where
        if current == "about:blank" and url != "about:blank":
            # The page's own location is blank on WebKit's error pages; the browser's address bar is not.
            current, title = await self._run(doing, self._session.url()), ""
        if current == "about:blank" and url != "about:blank":
            # WebKit drops a load to a port it refuses (9, 25, …) without an error: the page stays blank.
            self._failed = (url, "WebKit does not load from that port")
            raise DriverError.of(Reason.BLOCKED, doing, engine_message=self._failed[1])
        return NavigationResult(url=current, title=title, http_status=self._status)

    async def wait_for_navigation(self, *, timeout_ms: int) -> NavigationResult:
        doing = "wait for a navigation"
        self._committed.clear()
        try:
            await asyncio.wait_for(self._committed.wait(), timeout_ms / 1000)
        except TimeoutError as exc:
            raise DriverError.of(Reason.TIMEOUT, doing) from exc
        self._check_alive(doing)
        if self._failed is not None:
            raise load_failure(self._failed[1], doing=doing)
        where = await self._loaded("load", timeout_ms)
        if where is None:
            raise DriverError.of(Reason.TIMEOUT, doing)
        return NavigationResult(url=where[0], title=where[1], http_status=self._status)

    async def location(self, *, timeout_ms: int) -> tuple[str, str]:
        if self._gone_reason() is not None:
            return "", ""
        await self._navigations_land(timeout_ms / 1000)
        if self._failed is not None:
            return self._failed[0], ""
        where = await self._loaded("load", timeout_ms)
        if where is None:  # still loading: where it is so far
            try:
                where = (await self._session.url(), await self._title())
            except (WebDriverFailure, TimeoutError):
                return "", ""
        return self._address(where[0]), where[1]

    async def _navigations_land(self, timeout_s: float) -> None:
        """Waits, at most `timeout_s`, for a navigation the last action started to commit or fail.

        A form an action submitted asks to navigate before the action answers; the shell's word on it comes
        over the side channel, so a ping there (answered after everything the shell sent before) makes
        sure it has arrived. A request that never starts loading (a frame's, a cancelled one) is given
        _START_S at most.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._side is not None:
            with contextlib.suppress(WebDriverFailure, TimeoutError):
                await self._session.execute("return 1", timeout_s=1.0)
            with contextlib.suppress(ConnectionError, TimeoutError):
                await self._side.request("ping", timeout_s=1.0)
        start_by = loop.time() + _START_S
        while self._asked and self._gone_reason() is None:
            limit = deadline if self._in_flight else min(deadline, start_by)
            if loop.time() >= limit:
                if not self._in_flight:
                    self._asked = False  # it never started (a frame's, a download): not waited for again
                return
            self._landing.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._landing.wait(), limit - loop.time())

    # Elements

    async def _element(
        self, selector: str, doing: str, timeout_ms: int, *, visible: bool = True
    ) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while True:
            try:
                found = await self._run(doing, self._session.execute(_FIND, selector, visible))
            except DriverError as e:
                # A document swapped under the script: look again in the new one.
                if e.reason is not Reason.SCRIPT_ERROR or loop.time() >= deadline:
                    raise
                found = {}
            found = found or {}
            if "element" in found:
                return found["element"]
            if "invalid" in found:
                raise DriverError.of(
                    Reason.INVALID_SELECTOR, doing, engine_message=engine_line(found["invalid"])
                )
            if loop.time() >= deadline:
                waited = f" (waited {timeout_ms:g} ms)"
                if found.get("hidden"):
                    raise DriverError.of(Reason.ELEMENT_NOT_ACTIONABLE, doing, more=waited)
                raise DriverError.of(Reason.SELECTOR_NOT_FOUND, doing, more=waited)
            await asyncio.sleep(_POLL_MS / 1000)

    async def tap(self, selector: str, *, timeout_ms: int) -> None:
        doing = f"tap {selector!r}"
        element = await self._element(selector, doing, timeout_ms)
        await self._run(doing, self._session.click(element))

    async def type(self, selector: str | None, text: str, *, delay_ms: float, timeout_ms: int) -> None:
        into = repr(selector) if selector is not None else "the focused element"
        doing = f"type into {into}"
        budget_s = (timeout_ms + len(text) * max(delay_ms, 0)) / 1000
        element = await self._element(selector, doing, timeout_ms) if selector is not None else None
        if element is not None and delay_ms <= 0:
            # Unpaced: WebDriver's element send keys focuses it and types every character, in one call.
            keys = "".join(typed(character) for character in text)
            await self._run(doing, self._session.send_keys(element, keys, timeout_s=budget_s))
            return
        if element is not None:
            await self._run(doing, self._session.execute("arguments[0].focus()", element))
        actions: list[dict[str, Any]] = []
        for character in text:
            key = typed(character)
            actions += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
            if delay_ms > 0:
                actions.append({"type": "pause", "duration": int(delay_ms)})
        if actions:
            source = [{"type": "key", "id": "keyboard", "actions": actions}]
            await self._run(doing, self._session.actions(source, timeout_s=budget_s))

    async def scroll(self, direction: str, pixels: int, *, selector: str | None, timeout_ms: int) -> None:
        doing = f"scroll {direction}" + (f" in {selector!r}" if selector is not None else "")
        if direction not in DIRECTIONS:
            allowed = ", ".join(sorted(DIRECTIONS))
            raise DriverError.of(Reason.INVALID_ARGUMENT, doing, more=f" (direction: {allowed})")
        if pixels < 0:
            raise DriverError.of(Reason.INVALID_ARGUMENT, doing, more=" (pixels must not be negative)")
        sign = -1 if direction in ("up", "left") else 1
        dx, dy = (0, sign * pixels) if direction in ("up", "down") else (sign * pixels, 0)
        if selector is not None:
            element = await self._element(selector, doing, timeout_ms, visible=False)
            script = "arguments[0].scrollBy({left: arguments[1], top: arguments[2], behavior: 'instant'})"
            await self._run(
                doing, self._session.execute(script, element, dx, dy, timeout_s=timeout_ms / 1000)
            )
        else:
            script = "window.scrollBy({left: arguments[0], top: arguments[1], behavior: 'instant'})"
            await self._run(doing, self._session.execute(script, dx, dy, timeout_s=timeout_ms / 1000))

    async def press(self, key: str, *, selector: str | None, timeout_ms: int) -> None:
        doing = f"press {key!r}" + (f" in {selector!r}" if selector is not None else "")
        keys = code_points(key)
        if keys is None:
            raise DriverError.of(Reason.UNKNOWN_KEY, doing)
        if selector is not None:
            element = await self._element(selector, doing, timeout_ms)
            await self._run(doing, self._session.execute("arguments[0].focus()", element))
        down = [{"type": "keyDown", "value": k} for k in keys]
        up = [{"type": "keyUp", "value": k} for k in reversed(keys)]
        await self._run(
            doing,
            self._session.actions(
                [{"type": "key", "id": "keyboard", "actions": down + up}], timeout_s=timeout_ms / 1000
            ),
        )

    async def fill(self, selector: str, value: str, *, timeout_ms: int) -> None:
        doing = f"fill {selector!r}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while True:
            left = max(1, round((deadline - loop.time()) * 1000))
            element = await self._element(selector, doing, left)
            answer = await self._run(doing, self._session.execute(_FILL, element, value)) or {}
            if "refused" in answer:
                raise DriverError.of(Reason.ACTION_FAILED, doing, engine_message=str(answer["refused"]))
            if "busy" not in answer:
                return
            if loop.time() >= deadline:  # disabled or read-only all along
                raise DriverError.of(
                    Reason.ELEMENT_NOT_ACTIONABLE, doing, more=f" (waited {timeout_ms:g} ms)"
                )
            await asyncio.sleep(_POLL_MS / 1000)

    async def wait_for_selector(self, selector: str, *, timeout_ms: int) -> None:
        await self._element(selector, f"wait for {selector!r}", timeout_ms)

    async def evaluate(self, script: str, *, timeout_ms: int) -> Any:
        doing = "run the script"
        answer = await self._run(
            doing,
            self._session.execute_async(_EVALUATE.replace("SCRIPT", script, 1), timeout_s=timeout_ms / 1000),
            fallback=Reason.SCRIPT_ERROR,
        )
        if not isinstance(answer, dict) or "error" in answer:
            message = answer.get("error") if isinstance(answer, dict) else None
            raise DriverError.of(Reason.SCRIPT_ERROR, doing, engine_message=engine_line(str(message)))
        return answer.get("value")

    # Reading and capturing

    async def state(self) -> PageState:
        doing = "read the page"
        where = await self._loaded("load", int(self._driver.default_timeout_ms))
        url = where[0] if where is not None else await self._run(doing, self._session.url())
        html = await self._markup(doing)
        cookies = await self._run(doing, self._session.cookies())
        size = await self._run(doing, self._session.execute("return [innerWidth, innerHeight]"))
        width, height = (size or [0, 0])[:2]
        return PageState(
            url=self._address(url),
            title=await self._title(),
            html=html,
            viewport={"width": int(width), "height": int(height)},
            cookies=[_playwright_cookie(c) for c in cookies],
        )

    async def document(self) -> Document:
        """The shell's record of the committed main document.

        Its headers are what WebKitGTK hands the shell: no Set-Cookie, repeated names joined in one line,
        WebKit's order (see `MainDocument` in the shell). A remote endpoint has no shell: unsupported.
        """
        doing = "read the document"
        self._check_alive(doing)
        if self._side is None:
            raise DriverError.of(Reason.UNSUPPORTED, doing, more=_REMOTE_CANNOT)
        await self._navigations_land(self._driver.default_timeout_ms / 1000)
        if self._failed is not None:
            # WebKit's error page shows: the load that failed had no response.
            return Document(
                url=self._failed[0], status=None, headers=[], redirects=[], content_type=None, body=None
            )
        answer = await self._ask_shell(doing, "document")
        body = answer.get("body")
        content_type = answer.get("content_type")
        return Document(
            url=str(answer.get("url") or ""),
            status=answer.get("status"),
            headers=[(str(name), str(value)) for name, value in answer.get("headers") or []],
            redirects=[
                RedirectHop(url=str(hop["url"]), location=str(hop["location"]), status=int(hop["status"]))
                for hop in answer.get("redirects") or []
            ],
            content_type=str(content_type).split(";", 1)[0].strip().lower() if content_type else None,
            body=base64.b64decode(body) if body is not None else None,
        )

    async def block(self, patterns: list[str]) -> None:
        """A content blocker in the shell, in force for every page of the session once this returns.

        A blocked document fails to load as WebKit's sentence for it says. A remote endpoint has no
        shell: unsupported.
        """
        doing = "block URLs"
        self._check_alive(doing)
        if self._side is None:
            raise DriverError.of(Reason.UNSUPPORTED, doing, more=_REMOTE_CANNOT)
        rules = blocking_rules(patterns)
        if rules:  # none: no URL can match what was given
            await self._ask_shell(doing, "block", rules=rules)

    async def screenshot(self, *, full_page: bool) -> bytes:
        if full_page:
            return await self._through_shell("take a full-page screenshot", "full_screenshot", "page.png")
        encoded = await self._run("take a screenshot", self._session.screenshot())
        return base64.b64decode(encoded)

    async def pdf(self) -> bytes:
        return await self._through_shell("print a PDF", "pdf", "page.pdf")

    async def _through_shell(self, doing: str, op: str, name: str) -> bytes:
        """What the shell wrote to a file of the session's directory for `op`."""
        self._check_alive(doing)
        if self._directory is None:
            raise DriverError.of(Reason.UNSUPPORTED, doing, more=_REMOTE_CANNOT)
        path = self._directory / name
        path.unlink(missing_ok=True)
        await self._ask_shell(doing, op, path=str(path))
        data = await asyncio.to_thread(path.read_bytes)
        path.unlink(missing_ok=True)
        return data

    async def _ask_shell(self, doing: str, op: str, **arguments: Any) -> dict[str, Any]:
        """The shell's answer to `op`; only a local browser has a shell to ask."""
        self._check_alive(doing)
        if self._side is None:
            raise DriverError.of(Reason.UNSUPPORTED, doing, more=_REMOTE_CANNOT)
        try:
            answer = await self._side.request(op, timeout_s=_SIDE_CHANNEL_S, **arguments)
        except (ConnectionError, TimeoutError) as exc:
            self._check_alive(doing)
            raise DriverError.of(Reason.ACTION_FAILED, doing, engine_message=engine_line(str(exc))) from exc
        if not answer.get("ok"):
            reason = Reason.INVALID_ARGUMENT if answer.get("invalid") else Reason.ACTION_FAILED
            raise DriverError.of(reason, doing, engine_message=engine_line(str(answer.get("error"))))
        return answer

    async def dom_snapshot(self) -> str:
        return await self._markup("take a DOM snapshot")

    async def _markup(self, doing: str) -> str:
        # WebDriver's page source leaves the doctype out; a browser's serialisation has it.
        return str(await self._run(doing, self._session.execute(_MARKUP)))

    async def storage_state(self) -> dict:
        """Cookies (Playwright's shape, for any engine) and the shell's whole data directory.

        WebKit writes localStorage and IndexedDB back lazily: only a browser that has quit has all of it
        on disk. So reading the state ends the browser; it is read only when the session ends.
        """
        doing = "read the browser state"
        cookies = [_playwright_cookie(c) for c in await self._run(doing, self._session.cookies())]
        state: dict[str, Any] = {"cookies": cookies, "origins": []}
        if self._side is None or self._directory is None:
            return state
        self._closing = True
        with contextlib.suppress(ConnectionError, TimeoutError):
            await self._side.request("quit", keep=True, timeout_s=_QUIT_S)
        await self._session.delete()
        if self._local is not None:
            await self._local.stop()
        data = self._directory / "data"
        if data.is_dir():
            state[DATA_DIRECTORY] = await asyncio.to_thread(_pack, data)
        return state

    async def responsive(self) -> bool:
        if self._gone_reason() is not None:
            return False
        try:
            await self._session.execute("return 1", timeout_s=1.0)
        except (WebDriverFailure, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        already = self._closing
        self._closing = True
        self._driver.forget(self)
        if not already:
            if self._side is not None:
                with contextlib.suppress(ConnectionError, TimeoutError):
                    await self._side.request("quit", timeout_s=_QUIT_S)
            await self._session.delete()
        if self._local is not None:
            await self._local.stop()
            self._local = None
        if self._side is not None:
            await self._side.close()
        if self._directory is not None:
            await asyncio.to_thread(shutil.rmtree, self._directory, True)
            self._directory = None
        if self.route is not None:
            await self.route.close()
            self.route = None


class WebDriverDriver:
    """WebKitGTK through WebKitWebDriver (one per session) on an Xvfb display, or a remote W3C endpoint."""

    engine = "webkit"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        default_timeout_ms: float = 30_000,
        open_route: OpenRoute | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._open_route = open_route
        self.default_timeout_ms = default_timeout_ms
        self.description = f"W3C WebDriver at {endpoint}" if endpoint else "WebKitGTK (WebKitWebDriver)"
        self.version: str | None = None
        self._display = webkit_host.Display()
        self._http: aiohttp.ClientSession | None = None
        self._pages: set[WebDriverPage] = set()
        self._started = False
        self.stopping = False
        self.failure: DriverUnavailable | None = None

    @property
    def available(self) -> bool:
        return self._started and not self.stopping

    @property
    def launched(self) -> bool:
        return self.available

    async def start(self) -> None:
        if self._started:
            return
        try:
            await self._check()
        except DriverUnavailable as e:
            self.failure = e
            raise
        self._http = aiohttp.ClientSession()
        self.failure = None
        self._started = True

    async def _check(self) -> None:
        if self._endpoint is not None:
            return  # a remote endpoint answers for itself, session by session
        missing = webkit_host.missing_parts()
        if missing:
            raise DriverUnavailable(
                "WebKitGTK is not installed (missing: " + ", ".join(missing) + ")",
                hint=webkit_host.INSTALL_HINT,
            )
        self.version = await webkit_host.shell_version()
        self.description = f"WebKitGTK {self.version} (WebKitWebDriver)"
        await self._display.start()

    async def open(
        self,
        archetype: Archetype,
        *,
        viewport: tuple[int, int] | None = None,
        storage_state: dict | None = None,
        on_crash: Callable[[str], None] | None = None,
    ) -> WebDriverPage:
        # A local browser that does not start (rare: its shell never reported in, seen under heavy load)
        # gets two more tries, each a new WebKitWebDriver: a healthy start takes a third of a second.
        attempts = 1 if self._endpoint is not None else 3
        for attempt in range(1, attempts + 1):
            try:
                return await self._open_once(
                    archetype, viewport=viewport, storage_state=storage_state, on_crash=on_crash
                )
            except DriverError as e:
                if attempt == attempts or e.reason not in (Reason.UNAVAILABLE, Reason.BROWSER_CRASHED):
                    raise
                log.warning("webkit browser did not start (%s); trying again", e)
        raise AssertionError("unreachable")

    async def _open_once(
        self,
        archetype: Archetype,
        *,
        viewport: tuple[int, int] | None = None,
        storage_state: dict | None = None,
        on_crash: Callable[[str], None] | None = None,
    ) -> WebDriverPage:
        if not self.available or self._http is None:
            raise self.failure or DriverUnavailable(
                "the WebKit driver is not started", hint=webkit_host.INSTALL_HINT
            )
        width, height = viewport or archetype.viewport
        route = await self._open_route() if self._open_route is not None else None
        local: webkit_host.LocalWebDriver | None = None
        side: webkit_host.SideChannel | None = None
        directory: Path | None = None
        try:
            # "normal": navigate answers at `load`. With "eager" WebKitGTK now and then held the next
            # command until the page-load timeout (30 s, about one navigation in 60, measured), so a
            # `domcontentloaded` navigation waits for `load` here too.
            capabilities: dict[str, Any] = {
                "pageLoadStrategy": "normal",
                # Scripts are bounded from here, per call; elements are looked for by polling.
                "timeouts": {"script": 3_600_000, "implicit": 0, "pageLoad": int(self.default_timeout_ms)},
            }
            if self._endpoint is None:
                directory = webkit_host.session_directory()
                data = directory / "data"
                data.mkdir()
                cookies: list[dict[str, Any]] = []
                if storage_state:
                    if storage_state.get(DATA_DIRECTORY):
                        await asyncio.to_thread(_unpack, storage_state[DATA_DIRECTORY], data)
                    else:
                        cookies = list(storage_state.get("cookies") or [])
                side = webkit_host.SideChannel(directory)
                await side.listen()
                arguments = [
                    *shell_arguments(archetype, width, height, data),
                    f"--cache-dir={directory / 'cache'}",
                    f"--side-channel={side.path}",
                ]
                if cookies:
                    (directory / "cookies.json").write_text(json.dumps(cookies))
                    arguments.append(f"--cookies={directory / 'cookies.json'}")
                if route is not None:
                    arguments.append(f"--proxy={route.proxy_url}")
                capabilities["webkitgtk:browserOptions"] = {
                    "binary": str(webkit_host.shell_launcher(directory)),
                    "args": arguments,
                }
                display = await self._display.start()
                local = await webkit_host.LocalWebDriver.start(
                    self._http, display, max(1, round(archetype.device_scale_factor)), directory / BROWSER_LOG
                )
                endpoint = local.endpoint
            else:
                endpoint = self._endpoint
                if route is not None:
                    address = route.proxy_url.split("://", 1)[-1]
                    capabilities["proxy"] = {"proxyType": "manual", "httpProxy": address, "sslProxy": address}
            session = await WebDriverSession.create(
                self._http,
                endpoint,
                capabilities,
                timeout_s=_LOCAL_START_S if self._endpoint is None else _SESSION_START_S,
            )
            if side is not None and not await side.connected(_LOCAL_START_S):
                await session.delete()
                raise DriverError.of(
                    Reason.BROWSER_CRASHED, "open a page", more=" (the browser shell did not report in)"
                )
            if self._endpoint is not None:
                await session.set_window_rect(width, height)
        except BaseException as exc:
            if local is not None:
                await local.stop()
            if side is not None:
                await side.close()
            if directory is not None:
                if not isinstance(exc, asyncio.CancelledError):
                    log.warning(
                        "webkit browser start failed: %r; it printed: %s", exc, _tail(directory / BROWSER_LOG)
                    )
                shutil.rmtree(directory, ignore_errors=True)
            if route is not None:
                await route.close()
            if isinstance(exc, WebDriverFailure):
                raise DriverError.of(
                    Reason.BROWSER_CRASHED, "open a page", engine_message=engine_line(str(exc))
                ) from exc
            if isinstance(exc, (aiohttp.ClientError, TimeoutError)):
                raise DriverError.of(
                    Reason.UNAVAILABLE, "open a page", engine_message=engine_line(str(exc))
                ) from exc
            raise
        page = WebDriverPage(
            self,
            session,
            local=local,
            side=side,
            directory=directory,
            on_crash=on_crash,
            route=route,
        )
        if self.version is None:
            self.version = page.engine_version  # a remote endpoint says which browser it runs
        self._pages.add(page)
        return page

    def take_opened(
        self, archetype: Archetype, *, on_crash: Callable[[str], None] | None = None
    ) -> WebDriverPage | None:
        return None  # the warm pool opens ahead

    def forget(self, page: WebDriverPage) -> None:
        self._pages.discard(page)

    async def stop(self) -> None:
        self.stopping = True
        try:
            await asyncio.gather(*(page.close() for page in list(self._pages)), return_exceptions=True)
            await self._display.stop()
            if self._http is not None:
                await self._http.close()
        finally:
            self._http = None
            self._pages.clear()
            self._started = False
            self.stopping = False


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        with path.open("rb") as printed:
            printed.seek(0, 2)
            printed.seek(max(0, printed.tell() - limit))
            return printed.read().decode(errors="replace").strip() or "nothing"
    except OSError:
        return "nothing"
