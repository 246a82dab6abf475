"""Driving a live session: navigate, interact, wait, read its state, capture. Each action runs under the
session's lock, answers once the browser has done it, and has its event stored right after (in order)
by the session's service; a failure is recorded too, with where it left the page."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from .access import Principal
from .application import Driftstack
from .consistency import ReadYourWrites
from .domain.session import Session
from .drivers.base import Document, DriverError, NavigationResult, Page, Reason
from .drivers.quiet import Quiet
from .egress import Ledger, NavigationRefused
from .live import LiveSession
from .settings import Settings

if TYPE_CHECKING:
    from .sessions import SessionService

log = structlog.get_logger()
T = TypeVar("T")

SCREENSHOT_CAP = 4 * 1024 * 1024
PDF_CAP = 8 * 1024 * 1024
DOM_SNAPSHOT_CAP = 8 * 1024 * 1024
STATE_HTML_CAP = 4 * 1024 * 1024
# How long a failed action waits to read where the page is: an error page lands at once.
FAILURE_LOCATE_MS = 2_000
# A failed navigation whose reason the browser knows itself; for the others (an empty answer, a failed
# tunnel) the egress that made the connection knows better.
_ENGINE_KNOWS_WHY = frozenset({Reason.TIMEOUT, Reason.TLS_FAILED, Reason.BLOCKED, Reason.TOO_MANY_REDIRECTS})
# A failure after which there is no page left to read.
PAGE_GONE = frozenset({Reason.PAGE_CLOSED, Reason.BROWSER_CRASHED, Reason.UNAVAILABLE})


class CaptureTooLarge(Exception):
    def __init__(self, kind: str, byte_size: int, limit: int) -> None:
        super().__init__(f"the {kind} is {byte_size} bytes; the cap is {limit} bytes")
        self.kind, self.byte_size, self.limit = kind, byte_size, limit


@dataclass(frozen=True)
class Interaction:
    type: str  # tap | type | fill | scroll | press
    selector: str | None
    text: str | None = None
    direction: str | None = None
    pixels: int | None = None
    key: str | None = None
    timeout_ms: int | None = None

    def audit_details(self) -> dict[str, Any]:
        # Typed text may be a password: the log keeps its length, never the text.
        details: dict[str, Any] = {"type": self.type, "selector": self.selector}
        if self.type in ("type", "fill"):
            details["text_length"] = len(self.text or "")
        elif self.type == "scroll":
            details.update(direction=self.direction, pixels=self.pixels)
        elif self.type == "press":
            details["key"] = self.key
        return details


@dataclass(frozen=True)
class WaitFor:
    kind: str  # selector | navigation | duration
    selector: str | None = None
    timeout_ms: int | None = None
    duration_ms: int | None = None

    @property
    def sleep_ms(self) -> int:
        """How long a `duration` wait sleeps: `duration_ms`, else `timeout_ms` (seed 000's wait
        body names only `timeout_ms`, and for a duration that is how long to wait)."""
        if self.duration_ms is not None:
            return self.duration_ms
        return self.timeout_ms or 0


class SessionActions:
    """What each action endpoint does on a live session; the session's service finds it and stores its events."""

    def __init__(
        self,
        sessions: SessionService,
        app: Driftstack,
        consistency: ReadYourWrites,
        settings: Settings,
        quiet: Quiet,
    ) -> None:
        self._sessions = sessions
        self._app = app
        self._consistency = consistency
        self._settings = settings
        self._quiet = quiet

    async def _act(
        self,
        who: Principal,
        session_id: str,
        action: str,
        details: dict[str, Any],
        run: Callable[[LiveSession, Page], Awaitable[T]],
        record: Callable[[Session, T, int], None],
    ) -> tuple[T, int]:
        live = await self._sessions.live_for(who, session_id)
        async with live.lock:
            live.touch()
            await live.think()
            started = time.monotonic()
            try:
                assert live.page is not None
                with self._quiet.working():
                    result = await run(live, live.page)
            except DriverError as e:
                ms, reason, detail = ms_since(started), e.reason.value, e.detail
                url, title = await _where_after(live.page, e)
                if url is not None and title is not None:
                    live.located((url, title))
                live.touch()
                log.info(
                    "session.action_failed",
                    session_id=live.public_id,
                    action=action,
                    reason=reason,
                    engine_message=e.engine_message,
                )
                self._sessions.record_after(
                    live,
                    lambda s: s.record_failure(
                        who.api_key_id, action, details, reason, detail, ms, url=url, title=title
                    ),
                )
                raise
            ms = ms_since(started)
            live.touch()
            self._sessions.record_after(live, lambda s: record(s, result, ms))
        return result, ms

    def _timeout(self, timeout_ms: int | None) -> int:
        return timeout_ms or self._settings.action_timeout_ms

    async def navigate(
        self, who: Principal, session_id: str, url: str, wait_until: str, timeout_ms: int | None
    ) -> dict[str, Any]:
        result, ms = await self._navigate(who, session_id, url, wait_until, timeout_ms)
        return {
            "status": "ready",
            "current_url": result.url,
            "title": result.title,
            "http_status": result.http_status,
            "duration_ms": ms,
        }

    async def goto(self, who: Principal, session_id: str, url: str, timeout_ms: int | None) -> Document:
        """A navigation answered with the main document's response (a WebSocket `goto`)."""
        document, _ = await self._navigate(
            who, session_id, url, "load", timeout_ms, then=lambda page: page.document()
        )
        return document

    async def _navigate(
        self,
        who: Principal,
        session_id: str,
        url: str,
        wait_until: str,
        timeout_ms: int | None,
        then: Callable[[Page], Awaitable[T]] | None = None,
    ) -> tuple[Any, int]:
        """Navigates; answers what `then` reads of the page afterwards (under the same lock), else the
        navigation's result."""

        async def run(live: LiveSession, page: Page) -> tuple[NavigationResult, Any]:
            ledger = self._sessions.egress.ledger(live.public_id)
            since = ledger.last_seq if ledger is not None else 0
            try:
                result = await page.navigate(url, wait_until=wait_until, timeout_ms=self._timeout(timeout_ms))
            except DriverError as failure:
                explained = failure if ledger is None else _as_the_egress_saw_it(failure, ledger, since, url)
                if explained is failure:
                    raise
                raise explained from failure
            refused = ledger.refused_for(since, result.url) if ledger is not None else None
            if refused is not None:
                # A browser that shows its error page without a word (a remote endpoint's, which has no
                # side channel) lands on the refused address itself.
                live.located((result.url, ""))
                raise NavigationRefused(f"navigate to {url}", refused)
            live.located((result.url, result.title))
            return result, (await then(page) if then is not None else result)

        def record(s: Session, r: tuple[NavigationResult, Any], ms: int) -> None:
            n = r[0]
            s.record_navigation(who.api_key_id, url, wait_until, n.url, n.title, n.http_status, ms)

        (_, answer), ms = await self._act(who, session_id, "navigate", {"url": url}, run, record)
        return answer, ms

    async def evaluate(self, who: Principal, session_id: str, script: str, timeout_ms: int | None) -> Any:
        """Runs a script in the page; its JSON value. Recorded with the script's and the value's sizes only."""

        async def run(live: LiveSession, page: Page) -> tuple[Any, int, tuple[str, str]]:
            value = await page.evaluate(script, timeout_ms=self._timeout(timeout_ms))
            size = len(json.dumps(value, default=str))
            where = await page.location(timeout_ms=FAILURE_LOCATE_MS)
            live.located(where)
            return value, size, where

        (value, _, _), _ = await self._act(
            who,
            session_id,
            "evaluate",
            {"script_length": len(script)},
            run,
            lambda s, r, ms: s.record_evaluation(who.api_key_id, len(script), r[1], r[2][0], r[2][1], ms),
        )
        return value

    async def interact(self, who: Principal, session_id: str, it: Interaction) -> dict[str, Any]:
        timeout = self._timeout(it.timeout_ms)

        async def run(live: LiveSession, page: Page) -> None:
            if it.type == "tap":
                await page.tap(it.selector or "", timeout_ms=timeout)
            elif it.type == "type":
                await page.type(
                    it.selector, it.text or "", delay_ms=live.keystroke_delay_ms(), timeout_ms=timeout
                )
            elif it.type == "fill":
                await page.fill(it.selector or "", it.text or "", timeout_ms=timeout)
            elif it.type == "scroll":
                await page.scroll(
                    it.direction or "down", it.pixels or 0, selector=it.selector, timeout_ms=timeout
                )
            else:
                await page.press(it.key or "", selector=it.selector, timeout_ms=timeout)

        details = it.audit_details()
        _, ms = await self._act(
            who,
            session_id,
            "interact",
            details,
            _then_locate(run, timeout),
            lambda s, where, ms: s.record_interaction(who.api_key_id, details, where[0], where[1], ms),
        )
        return {"status": "ready", "type": it.type, "duration_ms": ms}

    async def wait(self, who: Principal, session_id: str, w: WaitFor) -> dict[str, Any]:
        timeout = self._timeout(w.timeout_ms)

        async def run(live: LiveSession, page: Page) -> None:
            if w.kind == "selector":
                await page.wait_for_selector(w.selector or "", timeout_ms=timeout)
            elif w.kind == "navigation":
                await page.wait_for_navigation(timeout_ms=timeout)
            else:
                await asyncio.sleep(w.sleep_ms / 1000)

        details = {k: v for k, v in vars(w).items() if v is not None}
        _, ms = await self._act(
            who,
            session_id,
            "wait",
            details,
            _then_locate(run, timeout),
            lambda s, where, ms: s.record_wait(who.api_key_id, details, where[0], where[1], ms),
        )
        return {"status": "ready", "kind": w.kind, "duration_ms": ms}

    async def state(self, who: Principal, session_id: str) -> dict[str, Any]:
        async def run(live: LiveSession, page: Page) -> dict[str, Any]:
            st = await page.state()
            live.located((st.url, st.title))
            html = st.html.encode()
            truncated = len(html) > STATE_HTML_CAP
            return {
                "url": st.url,
                "title": st.title,
                "html": html[:STATE_HTML_CAP].decode(errors="ignore") if truncated else st.html,
                "html_truncated": truncated,
                "viewport": st.viewport,
                "cookies": st.cookies,
                "byte_size": len(html),
            }

        result, ms = await self._act(
            who,
            session_id,
            "state",
            {},
            run,
            lambda s, r, ms: s.record_state_read(
                who.api_key_id, r["url"], r["byte_size"], ms, title=r["title"]
            ),
        )
        return {**result, "duration_ms": ms}

    async def capture(
        self, who: Principal, session_id: str, kind: str, full_page: bool, *, keep: bool = True
    ) -> dict[str, Any]:
        async def run(live: LiveSession, page: Page) -> bytes:
            if kind == "screenshot":
                data = await page.screenshot(full_page=full_page)
                _check_cap(kind, data, SCREENSHOT_CAP)
            elif kind == "pdf":
                data = await page.pdf()
                _check_cap(kind, data, PDF_CAP)
            else:
                data = (await page.dom_snapshot()).encode()
                _check_cap(kind, data, DOM_SNAPSHOT_CAP)
            return data

        data, ms = await self._act(
            who,
            session_id,
            "capture",
            {"kind": kind, "full_page": full_page},
            run,
            lambda s, d, ms: s.record_capture(who.api_key_id, kind, full_page, len(d), ms),
        )
        artifact_id = None
        if keep:  # kept as an artifact, readable after the session ends
            artifact, nid = await self._sessions.call(
                self._app.keep_artifact, who.account_id, session_id, who.api_key_id, kind, data
            )
            self._consistency.wrote(who.account_id, nid)
            artifact_id = artifact.public_id
        # Seed 001: captures are inline base64 bytes, every kind (the DOM snapshot is UTF-8 HTML).
        return {
            "kind": kind,
            "data": base64.b64encode(data).decode(),
            "encoding": "base64",
            "byte_size": len(data),
            "duration_ms": ms,
            "artifact_id": artifact_id,
        }


def _then_locate(
    run: Callable[[LiveSession, Page], Awaitable[None]], timeout_ms: int
) -> Callable[[LiveSession, Page], Awaitable[tuple[str, str]]]:
    """The action, then where the page is once what it started has landed (url, title): a tap
    that submits a form, a key that follows a link, a page that redirects while a wait runs."""

    async def located(live: LiveSession, page: Page) -> tuple[str, str]:
        await run(live, page)
        where = await page.location(timeout_ms=timeout_ms)
        live.located(where)
        return where

    return located


async def _where_after(page: Page | None, failure: DriverError) -> tuple[str | None, str | None]:
    """Where the page is after a failed action (after a failed navigation: the URL that failed);
    (None, None) when there is no page left to read."""
    if page is None or failure.reason in PAGE_GONE:
        return None, None
    return await page.location(timeout_ms=FAILURE_LOCATE_MS)


def _as_the_egress_saw_it(failure: DriverError, ledger: Ledger, since: int, url: str) -> DriverError:
    """A failed navigation as the egress saw it: refused (its document, or a redirect hop on the way), or
    why the connection could not be made (the browser sees only that its proxy gave up)."""
    if failure.reason in _ENGINE_KNOWS_WHY:
        return failure
    refused = ledger.refused_after(since)
    if refused is not None:
        return NavigationRefused(f"navigate to {url}", refused)
    failed = ledger.failed_after(since, url)
    if failed is not None and failed.error in {r.value for r in Reason}:
        return DriverError.of(
            Reason(failed.error), f"navigate to {url}", engine_message=failure.engine_message
        )
    return failure


def _check_cap(kind: str, data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise CaptureTooLarge(kind, len(data), limit)


def ms_since(started: float) -> int:
    """Whole milliseconds since a `time.monotonic()` reading."""
    return round((time.monotonic() - started) * 1000)
