"""A session's browser: started once its profile is free, its page held (its traffic through the egress,
its moves, console and network followed), and its crash turned into the session's end."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, NoReturn

import structlog

from .access import Principal
from .actions import ms_since
from .application import Driftstack
from .consistency import ReadYourWrites
from .domain.archetypes import Archetype
from .domain.archetypes import resolve as resolve_archetype
from .domain.errors import Conflict, NotFound, SessionGone
from .domain.profile import ProfileBusy
from .drivers.base import Driver, DriverError, DriverUnavailable, NetworkEntry, Page
from .drivers.engines import Engines
from .live import LiveSession
from .settings import Settings

if TYPE_CHECKING:
    from .sessions import SessionService

log = structlog.get_logger()

# How often a session waiting for a busy profile asks again (the holder may be another process).
PROFILE_POLL_S = 0.1


class _Abandoned(Exception):
    """The session ended while it waited for its profile: nothing more to provision."""


class SessionBrowsers:
    """What a session's service does with the session's browser, from its start to its crash."""

    def __init__(
        self,
        sessions: SessionService,
        app: Driftstack,
        driver: Engines,
        consistency: ReadYourWrites,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._app = app
        self._driver = driver
        self._consistency = consistency
        self._settings = settings

    def spawn_crash(self, live: LiveSession, reason: str) -> None:
        self._sessions.spawn(self.crashed(live, reason))

    async def profile_archetype(self, who: Principal, profile_id: str, asked: str) -> Archetype:
        """A session on a profile runs as the profile's archetype, which never changes."""
        profile = await self._sessions.call(self._app.get_profile, who.account_id, profile_id)
        if asked != "default" and asked != profile.archetype:
            # A well-formed request that the profile's state refuses: a conflict, not a malformed body.
            raise Conflict(
                f"archetype: a session on {profile_id} runs as its archetype {profile.archetype}; "
                "omit archetype"
            )
        return resolve_archetype(profile.archetype)

    async def provision(self, live: LiveSession) -> None:
        started = time.monotonic()
        state: dict[str, Any] | None = None
        if live.profile_id is not None:
            try:
                state = await self._hold_profile(live, live.profile_id)
            except _Abandoned:
                return
        driver = live.driver or self._driver
        try:
            page = await driver.open(
                live.archetype,
                viewport=live.viewport,
                storage_state=state,
                on_crash=lambda reason: self._sessions.spawn(self.crashed(live, reason)),
            )
        except (DriverError, DriverUnavailable) as e:
            failure = live.failure = str(e)
            await self._sessions.end_with(live.uuid, lambda s: s.fail("provisioning_failed", failure))
            return
        ms = ms_since(started)
        self.hold(live, page)
        try:
            nid = await self._sessions.call(
                self._app.update_session,
                live.uuid,
                lambda s: s.become_ready(duration_ms=ms, **ready_on(driver, page)),
            )
        except SessionGone:  # destroyed while its browser was starting
            await page.close()
            return
        finally:
            live.touch()
            live.settled.set()
        self._consistency.wrote(live.account_id, nid)
        log.info("session.ready", session_id=live.public_id, ms=ms)

    def hold(self, live: LiveSession, page: Page) -> None:
        """The session's page from now on: its traffic is the session's, its moves are followed."""
        self._sessions.egress.bind(page.route, live.public_id, live.proxy)
        live.page = page
        self._follow_moves(live)
        if self._settings.page_logs:
            page.follow_console(lambda entry: self._sessions.logs.said(live.uuid, live.account_id, entry))
            page.follow_network(lambda entry: self._fetched(live, entry))

    def _fetched(self, live: LiveSession, entry: NetworkEntry) -> None:
        """A request of the page, on record; a failed one says whether the egress refused it."""
        refused = False
        if entry.failure is not None:
            ledger = self._sessions.egress.ledger(live.public_id)
            refused = ledger is not None and ledger.refused_for(0, entry.url) is not None
        self._sessions.logs.fetched(live.uuid, live.account_id, entry, refused=refused)

    async def _hold_profile(self, live: LiveSession, profile_id: str) -> dict[str, Any] | None:
        """Waits (in `creating`) until no other live session holds the profile, then holds it.

        Returns the profile's browser state. The wait is bounded: past it the session is errored,
        as it is when the profile is deleted while it waits.
        """
        deadline = time.monotonic() + self._settings.profile_wait_s
        while True:
            try:
                return await self._sessions.call(self._app.take_profile, live.uuid)
            except ProfileBusy as busy:
                holder = busy.holder
                if self._sessions.live.get(live.uuid) is not live:
                    raise _Abandoned from None  # destroyed while it waited
                if time.monotonic() >= deadline:
                    waited = self._settings.profile_wait_s
                    await self._give_up(
                        live,
                        "profile_busy",
                        f"profile {profile_id} stayed in use by session {holder} for {waited:g} s",
                    )
            except NotFound:
                await self._give_up(
                    live,
                    "profile_deleted",
                    f"profile {profile_id} was deleted before this session could start on it",
                )
            except SessionGone:
                raise _Abandoned from None
            await asyncio.sleep(PROFILE_POLL_S)

    async def _give_up(self, live: LiveSession, reason: str, detail: str) -> NoReturn:
        await self._sessions.end_with(live.uuid, lambda s: s.fail(reason, detail))
        raise _Abandoned

    async def crashed(self, live: LiveSession, reason: str) -> None:
        log.warning("session.browser_crashed", session_id=live.public_id, reason=reason)
        await self._sessions.end_with(live.uuid, lambda s: s.fail("browser_crashed", reason))

    def _follow_moves(self, live: LiveSession) -> None:
        assert live.page is not None
        live.page.follow_moves(lambda: self._sessions.spawn(self._page_moved(live)))

    async def _page_moved(self, live: LiveSession) -> None:
        """Records where the page landed when it moved by itself (its own script, a timed
        redirect), so the session says where the page is between actions too.

        Reads in the order the page moved, one at a time, after any action under way, without
        holding the action lock (the session is not `busy` for it); a reading an action overtook
        is dropped, as that action records where it left the page.
        """
        async with live.following:
            if live.busy:
                async with live.lock:  # no await inside: never observed as busy
                    pass
            if self._sessions.live.get(live.uuid) is not live or live.page is None:
                return
            seen = live.location_version
            where = await live.page.location(timeout_ms=self._settings.action_timeout_ms)
            if live.busy or live.location_version != seen or where == live.location:
                return
            live.located(where)
            self._sessions.record_after(live, lambda s: s.record_page_moved(*where))


class CrashRelay:
    """Carries a crash of a page taken before its session existed to that session, once it does."""

    def __init__(self, browsers: SessionBrowsers) -> None:
        self._browsers = browsers
        self._live: LiveSession | None = None
        self._reason: str | None = None

    def __call__(self, reason: str) -> None:
        self._reason = reason
        if self._live is not None:
            self._browsers.spawn_crash(self._live, reason)

    def deliver_to(self, live: LiveSession) -> None:
        self._live = live
        if self._reason is not None:
            self(self._reason)


def ready_on(driver: Driver, page: Page) -> dict[str, Any]:
    """What the session's ready event records of the browser it got."""
    return {
        "browser": driver.description,
        "engine": page.engine,
        "engine_version": page.engine_version,
        "tap_kind": page.tap_kind,
    }
