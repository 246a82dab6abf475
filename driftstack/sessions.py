"""The life of a session: create, find, list, end; its events stored in order. Its browser (started,
followed, crashed) is `session_browsers.py`; driving a live session (navigate, interact, wait, state,
capture, evaluate) is `actions.py`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import structlog

from .access import Principal
from .actions import SessionActions
from .application import Driftstack
from .consistency import ReadYourWrites
from .domain import ids
from .domain.archetypes import resolve as resolve_archetype
from .domain.behavior import BEHAVIORS
from .domain.errors import Conflict, DomainError, NotFound, SessionGone, SessionTimedOut
from .domain.session import IDLE_TIMEOUT, LIVE, Session
from .domain.tiers import TIERS
from .drivers.base import (
    DriverError,
    DriverUnavailable,
    Reason,
)
from .drivers.engines import Engines
from .egress import Egress
from .group_commit import GroupCommit
from .live import LiveSession, LiveSessions
from .projections.progress import Progress
from .projections.sessions import SessionsReader, new_session_document
from .session_browsers import CrashRelay, SessionBrowsers, ready_on
from .session_logs import SessionLogs
from .settings import Settings

log = structlog.get_logger()
T = TypeVar("T")

# Reading cookies, localStorage and IndexedDB back before the browser closes.
STATE_READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class NewSession:
    archetype: str
    purpose: str
    label: str | None
    metadata: dict[str, Any] | None
    behavioral_profile: str | None
    profile_id: str | None = None
    proxy: str | None = None  # the name of the operator's upstream proxy its traffic goes through
    engine: str | None = None  # the browser engine it asks for; None: the service's default
    initial_url: str | None = None  # navigated right after ready, by the creating key
    viewport: tuple[int, int] | None = None  # CSS pixels, instead of the persona's
    socket_client: str | None = None  # the WebSocket client that drives it (browser); None: REST


# What a `standard` WebSocket client's session records as its browser: it has none.
STANDARD_CLIENT = {
    "browser": "standard HTTP client",
    "engine": None,
    "engine_version": None,
    "tap_kind": None,
}


class SessionService:
    def __init__(
        self,
        app: Driftstack,
        driver: Engines,
        egress: Egress,
        reader: SessionsReader,
        progress: Progress,
        consistency: ReadYourWrites,
        settings: Settings,
        logs: SessionLogs,
    ) -> None:
        self._app = app
        self.logs = logs
        self._driver = driver
        self.egress = egress
        self._reader = reader
        self._progress = progress
        self._consistency = consistency
        self._settings = settings
        self.live = LiveSessions()
        self.actions = SessionActions(self, app, consistency, settings, driver.quiet)
        self.browsers = SessionBrowsers(self, app, driver, consistency, settings)
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="app")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._end_watches: dict[UUID, asyncio.Event] = {}
        # Actions' events of every session, stored together when they come at the same moment.
        self._group = GroupCommit(lambda changes: self.call(self._app.update_sessions, changes))
        self.stopping = False

    # Running

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        failed = await self.call(
            self._app.fail_sessions_of_node,
            self._settings.node_id,
            "service_restarted",
            "the service stopped while this session was live; its browser ended with it",
        )
        if failed:
            log.warning("sessions.failed_after_restart", count=len(failed), session_ids=failed)
        self._reaper = asyncio.create_task(self._reap_idle())

    async def end_all(self) -> int:
        """Ends every live session `destroyed` (`service_stopped`), each profile's browser state
        written back, and refuses new ones; returns the notification id of the last end recorded.

        All at once: each end reads its browser's state (up to STATE_READ_TIMEOUT_S), and a stop
        should take about as long as the slowest one, not their sum.
        """
        self.stopping = True
        if self._reaper is not None:
            self._reaper.cancel()
        last = 0
        while ending := self.live.all():  # a create under way when the stop began adds one late
            ended = await asyncio.gather(
                *(self.end_with(live.uuid, lambda s: s.destroy("service_stopped", None)) for live in ending),
                return_exceptions=True,
            )
            for live, result in zip(ending, ended, strict=True):
                if isinstance(result, BaseException):
                    log.error("session.stop_failed", session_id=live.public_id, error=repr(result))
                    self.live.pop(live.uuid)  # the next start errors it (`service_restarted`)
                else:
                    last = max(last, result)
        return last

    async def stop(self) -> None:
        await self.end_all()
        for task in list(self._tasks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # Create, read, destroy

    async def create(self, who: Principal, spec: NewSession, *, wait: bool) -> dict[str, Any]:
        if self.stopping:
            raise DriverUnavailable("the service is stopping", hint="create it again once it is back")
        driver = await self._driver.choose(spec.engine)
        archetype = resolve_archetype(spec.archetype)
        self.egress.upstream(spec.proxy)  # an unknown name is refused before anything is recorded
        if spec.profile_id is not None:
            archetype = await self.browsers.profile_archetype(who, spec.profile_id, spec.archetype)
        # A client waiting for `ready` gets a page opened ahead when one waits: the session is
        # recorded created and ready in one save, with no browser work left to do.
        relay = CrashRelay(self.browsers)
        warm = None
        if wait and spec.profile_id is None and spec.viewport is None:
            warm = driver.take_opened(archetype, on_crash=relay)
        try:
            session, nid = await self.call(
                self._app.create_session,
                who.account_id,
                ready_on=ready_on(driver, warm) if warm is not None else None,
                api_key_id=who.api_key_id,
                archetype=archetype.slug,
                purpose=spec.purpose,
                label=spec.label,
                metadata=spec.metadata,
                behavioral_profile=spec.behavioral_profile,
                profile_id=spec.profile_id,
                node=self._settings.node_id,
                socket_client=spec.socket_client,
            )
        except BaseException:
            if warm is not None:
                await warm.close()
            raise
        self._consistency.wrote(who.account_id, nid)
        idle = self._settings.idle_timeout_s or TIERS[who.tier].idle_timeout_s
        live = LiveSession(
            uuid=session.id,
            account_id=who.account_id,
            archetype=archetype,
            pacing=BEHAVIORS.get(spec.behavioral_profile or ""),
            idle_timeout_s=idle,
            profile_id=spec.profile_id,
            proxy=spec.proxy,
            driver=driver,
            viewport=spec.viewport,
        )
        self.live.add(live)
        log.info("session.created", session_id=live.public_id, account_id=who.account_id)
        if warm is not None:
            self.browsers.hold(live, warm)
            live.settled.set()
            relay.deliver_to(live)
            log.info("session.ready", session_id=live.public_id, ms=0, warm=True)
        else:
            self.spawn(self.browsers.provision(live))
        if spec.initial_url is not None:
            going = self._go_first(who, live, spec.initial_url)
            if not wait:
                self.spawn(going)
            else:
                await going
        if wait:
            await self.settled(live)
            return await self.get(who, live.public_id)
        return new_session_document(
            session_id=session.id, created_at=session.created_on, **_created_fields(session)
        )

    async def open_standard(self, who: Principal) -> UUID:
        """A session driven by a `standard` WebSocket client: recorded created and ready at once, with no
        browser, no concurrency slot and no live page; its socket records its actions and ends it."""
        if self.stopping:
            raise DriverUnavailable("the service is stopping", hint="open it again once it is back")
        session, nid = await self.call(
            self._app.create_session,
            who.account_id,
            ready_on=STANDARD_CLIENT,
            api_key_id=who.api_key_id,
            archetype=resolve_archetype("default").slug,
            purpose="production_customer",
            label=None,
            metadata=None,
            behavioral_profile=None,
            profile_id=None,
            node=self._settings.node_id,
            socket_client="standard",
        )
        self._consistency.wrote(who.account_id, nid)
        log.info(
            "session.created", session_id=session.public_id, account_id=who.account_id, client="standard"
        )
        return session.id

    async def record(self, who: Principal, uuid: UUID, change: Callable[[Session], None]) -> None:
        """Stores one fact of a session with no live page (a `standard` client's); SessionGone once it ended."""
        nid = await self._group.store(uuid, change)
        self._consistency.wrote(who.account_id, nid)

    def watch_end(self, uuid: UUID) -> asyncio.Event:
        """Set once the session ends in this process, whoever ends it (its socket, REST, a crash, a stop)."""
        return self._end_watches.setdefault(uuid, asyncio.Event())

    async def end(self, who: Principal, uuid: UUID, reason: str) -> None:
        """Ends a session `destroyed` (its socket closed it, or dropped); nothing when it already ended."""
        nid = await self.end_with(uuid, lambda s: s.destroy(reason, who.api_key_id))
        if nid:  # a session with no live page (a standard client's) is not among those `_end` knows
            self._consistency.wrote(who.account_id, nid)

    async def ending(self, who: Principal, uuid: UUID) -> tuple[str, str | None]:
        """How a session ended (status, reason), once its end is on record."""
        await self._consistency.settle(who.account_id, self._progress)
        doc = await self._reader.get(who.account_id, uuid)
        return (doc["status"], doc["reason"]) if doc is not None else ("destroyed", None)

    async def _go_first(self, who: Principal, live: LiveSession, url: str) -> None:
        """The create's `initial_url`: navigated once the session is ready, as the creating key would; a
        failure is recorded like any failed navigation and leaves the session ready."""
        await self.settled(live)
        if live.page is None:
            return  # it never became ready: its end says why
        with contextlib.suppress(DriverError, DomainError):  # recorded where it failed; nothing to answer
            await self.actions.navigate(who, live.public_id, url, "load", None)

    async def settled(self, live: LiveSession) -> None:
        # A session on a busy profile may wait for it before its browser starts.
        wait = self._settings.profile_wait_s if live.profile_id is not None else 0.0
        try:
            await asyncio.wait_for(live.settled.wait(), self._settings.provision_timeout_s + wait)
        except TimeoutError:
            await self.end_with(
                live.uuid, lambda s: s.fail("provisioning_timeout", "the browser did not start in time")
            )

    async def get(self, who: Principal, session_id: str) -> dict[str, Any]:
        uuid = session_uuid(session_id)
        await self._consistency.settle(who.account_id, self._progress)
        doc = await self._reader.get(who.account_id, uuid)
        if doc is None:
            raise NotFound("session", session_id)
        return self._with_live_status(doc, uuid)

    async def list(
        self, who: Principal, *, limit: int, after: tuple[Any, UUID] | None, status: str | None
    ) -> list[dict[str, Any]]:
        await self._consistency.settle(who.account_id, self._progress)
        statuses: list[str] | None = [status] if status else None
        only: list[UUID] | None = None
        if status in ("ready", "busy"):
            # busy is a ready session with an action under way: only the live runtime knows.
            statuses, busy = ["ready"], self.live.busy_ids(who.account_id)
            only = busy if status == "busy" else None
        rows = await self._reader.page(
            who.account_id, limit=limit, after=after, statuses=statuses, only_ids=only
        )
        rows = [self._with_live_status(r, r["_key"][1]) for r in rows]
        if status == "ready":
            rows = [r for r in rows if r["status"] == "ready"]
        return rows

    def _with_live_status(self, doc: dict[str, Any], uuid: UUID) -> dict[str, Any]:
        live = self.live.get(uuid)
        if live is not None and live.busy and doc["status"] == "ready":
            doc["status"] = "busy"
        return doc

    async def destroy(self, who: Principal, session_id: str) -> None:
        uuid = session_uuid(session_id)
        live = self.live.get(uuid)
        if live is None or live.account_id != who.account_id:
            await self._consistency.settle(who.account_id, self._progress)
            if await self._reader.get(who.account_id, uuid) is None:
                raise NotFound("session", session_id)
        await self.end_with(uuid, lambda s: s.destroy("client_request", who.api_key_id))

    async def end_with(self, uuid: UUID, end: Callable[[Session], bool]) -> int:
        """Reads back the profile's browser state, records the end (destroyed or errored), frees
        the slot and the profile, then closes the browser; returns the end's notification id
        (0: it had already ended)."""
        ending = self.live.get(uuid)
        if ending is not None and ending.recording is not None:
            await asyncio.wait([ending.recording])  # its actions are recorded before its end
        state = await self._state_to_keep(ending)
        nid = await self.call(self._app.end_session, uuid, end, state)
        watch = self._end_watches.pop(uuid, None)
        if watch is not None:
            watch.set()
        live = self.live.pop(uuid)
        if live is not None:
            live.settled.set()
            if nid:
                self._consistency.wrote(live.account_id, nid)
            if live.page is not None:
                live.page.follow_console(None)
                live.page.follow_network(None)
                await self._driver.closing.close(live.page)
            self.logs.forget(uuid)
        return nid

    async def _state_to_keep(self, live: LiveSession | None) -> dict[str, Any] | None:
        """The browser state to write back to the session's profile; None keeps the previous one
        (no profile, no browser yet, or a browser that died and can no longer be read)."""
        if live is None or live.profile_id is None or live.page is None:
            return None
        try:
            return await asyncio.wait_for(live.page.storage_state(), STATE_READ_TIMEOUT_S)
        except (DriverError, TimeoutError) as e:
            log.warning("profile.state_not_read", session_id=live.public_id, error=str(e))
            return None

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for live in self.live.all():
                if live.page is not None and not live.busy and live.idle_for() > live.idle_timeout_s:
                    log.info("session.idle_timeout", session_id=live.public_id)
                    try:
                        await self.end_with(live.uuid, lambda s: s.destroy(IDLE_TIMEOUT, None))
                    except Exception:
                        log.exception("session.idle_timeout_failed", session_id=live.public_id)

    # Actions

    async def live_for(self, who: Principal, session_id: str) -> LiveSession:
        """The live session to act on, or the error that says why there is none."""
        uuid = session_uuid(session_id)
        live = self.live.get(uuid)
        if live is not None and live.account_id == who.account_id:
            await self.settled(live)
            if live.page is not None and self.live.get(uuid) is live:
                return live
        await self._consistency.settle(who.account_id, self._progress)
        doc = await self._reader.get(who.account_id, uuid)
        if doc is None:
            raise NotFound("session", session_id)
        if doc["status"] == "destroyed" and doc["reason"] == IDLE_TIMEOUT:
            raise SessionTimedOut(session_id, doc["status"], doc["reason"])
        if doc["status"] not in LIVE:
            raise SessionGone(session_id, doc["status"], doc["reason"])
        if doc.get("socket_client") == "standard":
            raise Conflict(
                f"session {session_id} is driven by a standard WebSocket client: it has no browser to act on"
            )
        raise DriverError.of(Reason.UNAVAILABLE, f"act on session {session_id}")

    def record_after(self, live: LiveSession, change: Callable[[Session], None]) -> None:
        """Stores an action's event without holding up the action's answer.

        The action has happened in the browser whatever the store says; its event is the record
        of it, and an append costs as much as a quick action. Order and read-your-writes still
        hold: each event waits for the session's previous one, the session's end waits for the
        last, and reads of the account wait for every append still under way.
        """
        previous = live.recording

        async def append() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await self._record(live, change)
            except SessionGone:
                log.info("session.action_not_recorded", session_id=live.public_id, why="session ended")
            except Exception:
                log.exception("session.action_not_recorded", session_id=live.public_id)

        recording = asyncio.ensure_future(append())
        live.recording = recording
        self._consistency.writing(live.account_id, recording)

    async def _record(self, live: LiveSession, change: Callable[[Session], None]) -> None:
        if self.live.get(live.uuid) is not live:
            # Ended (destroyed, timed out, crashed) while the action ran.
            session = await self.call(self._app.get_session, live.uuid)
            session.check_can_act()
        nid = await self._group.store(live.uuid, change)
        self._consistency.wrote(live.account_id, nid)


def session_uuid(session_id: str) -> UUID:
    uuid = ids.parse_public_id(ids.SESSION, session_id)
    if uuid is None:
        raise NotFound("session", session_id)
    return uuid


def _created_fields(session: Session) -> dict[str, Any]:
    return {
        "account_id": session.account_id,
        "api_key_id": session.api_key_id,
        "archetype": session.archetype,
        "purpose": session.purpose,
        "label": session.label,
        "metadata": session.metadata,
        "behavioral_profile": session.behavioral_profile,
        "profile_id": session.profile_id,
    }
