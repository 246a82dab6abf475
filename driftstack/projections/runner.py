"""Runs a process's projections in one thread, a run of events per transaction each, restarting any that fails."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import structlog
from eventsourcing.persistence import InfrastructureFactory, Notification, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.projection import Projection
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from ..store import reconnect_quickly, unreachable
from .progress import Progress, Stall
from .published import announce
from .view import View, ViewMoved

log = structlog.get_logger()

# Events read, and applied in one transaction, at a time: a view that is behind catches up in
# runs this long; one that keeps up applies each event as it comes.
RUN_LENGTH = 500
# A NOTIFY wakes the reader at once; should one be missed, the view still looks this often.
POLL_S = 1.0
# Woken within BUSY_S of its last read, events are coming one after another: the projector waits
# LINGER_S before reading, so one read, one run and one announcement per view take several of them
# (each costs a view ~0.3 ms of CPU whatever it holds, and on two cores that CPU is what a session's
# next event waits for). The lag grows by LINGER_S at most; an event after a pause is read at once,
# so read-your-writes waits for no linger.
BUSY_S = 0.005
LINGER_S = 0.004
# After a failure the projection starts again after RESTART_FIRST_S, doubling up to RESTART_CAP_S:
# low, so a view is back within about a second of its store.
RESTART_FIRST_S = 0.1
RESTART_CAP_S = 1.0


class EventNotApplied(Exception):
    """The view cannot apply the event at `notification_id`; `__cause__` says why."""

    def __init__(self, notification: Notification) -> None:
        super().__init__(f"cannot apply event {notification.id} ({notification.topic})")
        self.notification_id = notification.id
        self.topic = notification.topic


class SupervisedProjection:
    """One view: its application, its position in the events, and what stops it. A Projector steps it.

    Each step reads the events that follow the view's position from the store and applies them in one
    transaction with the last one's position, then advances `progress`. What stops it (an event it cannot
    apply, a store it cannot reach) is logged once and shown in `progress.stall`, and it is stepped again
    after a pause that doubles up to RESTART_CAP_S, from its tracking position, so it is back within
    about a second of the store; the other views go on meanwhile.
    """

    def __init__(
        self,
        projection_class: type[Projection[Any]],
        view_class: type[View],
        application_class: type[Any],
        env: dict[str, str],
        store_wait_s: float = 2.0,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.progress = Progress(projection_class.name)
        # A subclass per supervisor carries what else the projection needs (e.g. a key).
        self._projection_class: type[Projection[Any]] = type(
            projection_class.__name__,
            (projection_class,),
            {"name": projection_class.name, **(attributes or {})},
        )
        self._view_class = view_class
        self._application_class = application_class
        self._env = env
        self._store_wait_s = store_wait_s
        self._pause_s = RESTART_FIRST_S
        self._retry_at = 0.0  # after a failure: not stepped before this (time.monotonic())
        self._reported: tuple[object, ...] | None = None
        self._announced = (-1, 0.0)  # the position last announced, and when
        # `stored`: the position the view's tracking table holds. `position`: where it reads from, past
        # the events after `stored` that are none of this view's (kept in memory: a restart steps over
        # them again, reading none of them). None until read from the view (again after a failure).
        self._stored = 0
        self._position: int | None = None
        self.started = threading.Event()  # its position was read once

    @property
    def name(self) -> str:
        return self._projection_class.name

    def open(self) -> None:
        """Opens the application and the view (creating the view's tables).

        Both are opened once: a restart reuses them, so it runs no DDL (concurrent DDL is what
        made restarts fail with `tuple concurrently updated`), and their pools reconnect.
        """
        self._app = self._application_class(self._env)
        # Named after the projection, as eventsourcing's ProjectionRunner names it: the view's
        # tracking table is `<projection name>_tracking`.
        environment = Environment(self.name, {**os.environ, **self._env})
        self._factory = InfrastructureFactory[View].construct(environment)
        self._view = self._factory.tracking_recorder(self._view_class)
        self._projection = self._projection_class(view=self._view)
        for datastore in self._datastores():
            reconnect_quickly(datastore, self._store_wait_s)

    def create_tables(self) -> None:
        """Creates the view's tables without following the events: for a process that reads the view
        while another keeps it."""
        environment = Environment(self.name, {**os.environ, **self._env})
        factory = InfrastructureFactory[View].construct(environment)
        try:
            factory.tracking_recorder(self._view_class)
        finally:
            factory.close()

    def close(self) -> None:
        self._factory.close()
        self._app.close()

    @property
    def recorder(self) -> PostgresApplicationRecorder:
        recorder: PostgresApplicationRecorder = self._app.recorder
        return recorder

    def due(self, now: float) -> bool:
        return now >= self._retry_at

    def _datastores(self) -> list[PostgresDatastore]:
        return [self._app.recorder.datastore, self._view.datastore]

    def step(self, head: int) -> bool:
        """Applies the events that follow the view's position, up to RUN_LENGTH of them; `head` is the
        store's last notification id, read before (events commit in the order of their ids, so all up to
        it are stored). True when it read a whole run: more may follow at once."""
        app, view, projection = self._app, self._view, self._projection
        if self._position is None:
            self._stored = self._position = view.max_tracking_id(app.name) or 0
            self.progress.advance(self._position)
            self.started.set()
        notifications = app.recorder.select_notifications(
            start=self._position, limit=RUN_LENGTH, topics=projection.topics, inclusive_of_start=False
        )
        if notifications:
            try:
                self._stored = self._apply(app, view, projection, self._stored, notifications)
            except ViewMoved as moved:
                # Another process (another node's projector) applied events meanwhile. Read again from
                # where the view now stands: stepping over to `head` would pass the events read here
                # but applied by neither, and a later run would still find the view where it expects.
                self._stored = self._position = moved.position
                self.progress.advance(moved.position)
                return True
            self._position = max(self._position, self._stored)
        whole = len(notifications) == RUN_LENGTH
        if not whole and projection.topics and head > self._position:
            self._position = head
            self.progress.advance(self._position)
        self._moving()
        if not whole:
            self._announce(self._position)
        return whole

    def failed(self, e: Exception) -> None:
        """Says what stopped the view (once), and steps it again after a pause, from where it stands."""
        self._position = None
        if isinstance(e, EventNotApplied):
            self._stalled(e)
        elif unreachable(e):
            self._store_lost(e)
        else:
            self.progress.stalled(Stall("error", f"{type(e).__name__}: {e}"))
            if self._reported != ("error", repr(e)):
                self._reported = ("error", repr(e))
                log.error(
                    "projection.failed",
                    projection=self.name,
                    position=self.progress.position,
                    exc_info=e,
                )
        self._retry_at = time.monotonic() + self._pause_s
        self._pause_s = min(self._pause_s * 2, RESTART_CAP_S)

    def _announce(self, position: int, stall: Stall | None = None) -> None:
        """Tells the processes that follow this view where it stands: after a step over events that are
        none of its own (a commit announces itself), and once a POLL_S while idle, so a follower that
        missed one catches up."""
        if (
            stall is None
            and position == self._announced[0]
            and self._announced[1] > time.monotonic() - POLL_S
        ):
            return
        with self._view.datastore.get_connection() as conn:  # autocommit: one statement, one round trip
            announce(conn, self.name, position, stall)
        self._announced = (position, time.monotonic())

    def _stalled(self, e: EventNotApplied) -> None:
        cause = e.__cause__ or e
        self.progress.stalled(
            Stall(
                "event", f"{type(cause).__name__}: {cause}", notification_id=e.notification_id, topic=e.topic
            )
        )
        with contextlib.suppress(Exception):  # followers in other processes see it in their health
            self._announce(self.progress.position, self.progress.stall)
        if self._reported != ("event", e.notification_id):
            self._reported = ("event", e.notification_id)
            log.error(
                "view.failing",
                projection=self.name,
                position=self.progress.position,
                failing_event=e.notification_id,
                topic=e.topic,
                error=f"{type(cause).__name__}: {cause}",
                exc_info=cause,
            )

    def _store_lost(self, e: Exception) -> None:
        self.progress.stalled(Stall("store", f"{type(e).__name__}: {e}"))
        if self._reported != ("store",):
            self._reported = ("store",)
            log.warning(
                "view.store_unreachable", projection=self.name, position=self.progress.position, error=str(e)
            )
        # The connections idle in the pools are dead too: drop them now, so the first attempt
        # after the store's return opens fresh ones instead of failing on each in turn.
        for datastore in self._datastores():
            with contextlib.suppress(Exception):
                datastore.pool.check()

    def _moving(self) -> None:
        """The view reads (and applies) again: quick restarts next time, and say it is back."""
        self._pause_s = RESTART_FIRST_S
        self.progress.resumed()
        if self._reported is not None:
            log.info("view.following", projection=self.name, position=self.progress.position)
            self._reported = None

    def _apply(
        self,
        app: Any,
        view: View,
        projection: Projection[Any],
        position: int,
        notifications: Sequence[Notification],
    ) -> int:
        """Applies the events in one transaction; their last position. ViewMoved: another process moved
        the view meanwhile, and nothing was applied."""
        try:
            with view.run(app.name, after=position):
                for notification in notifications:
                    event = app.mapper.to_domain_event(notification)
                    projection.process_event(event, Tracking(app.name, notification.id))
                view.commit(Tracking(app.name, notifications[-1].id))  # all of them, handled or not
        except ViewMoved:
            raise
        except Exception as e:
            if unreachable(e):
                raise
            if len(notifications) == 1:
                raise EventNotApplied(notifications[0]) from e
            # One at a time, so every event before the one that fails lands, as it would alone.
            for notification in notifications:
                if notification.id > position:
                    position = self._apply(app, view, projection, position, [notification])
            return position
        else:
            position = notifications[-1].id
            self._announced = (position, time.monotonic())  # the commit announced it
        self.progress.advance(position)
        return position


class Projector:
    """Every view of a process, stepped in turn by one thread, in the order given (the sessions view
    first: reads wait on it most).

    One thread, one LISTEN and one read of the store's head for all of them: with a thread each, every
    event woke five threads and five listeners that contended for one interpreter, and a view alone
    showed its events in 2.7 ms where five together took 6 to 7.
    """

    def __init__(self, projections: list[SupervisedProjection]) -> None:
        self._projections = projections
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._pause_s = RESTART_FIRST_S
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        """Opens every view, then follows the events; returns once each has read its position."""
        for projection in self._projections:
            projection.open()
        self._thread.start()
        deadline = time.monotonic() + timeout
        for projection in self._projections:
            if not projection.started.wait(max(deadline - time.monotonic(), 0)):
                raise RuntimeError(f"projection {projection.name} did not start")

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        self._thread.join(timeout=10)
        for projection in self._projections:
            projection.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._follow()
            except Exception as e:  # noqa: BLE001  (the store's head or the listener: every view hears it)
                for projection in self._projections:
                    projection.failed(e)
            if not self._stopping.wait(self._pause_s):
                self._pause_s = min(self._pause_s * 2, RESTART_CAP_S)

    def _follow(self) -> None:
        recorder = self._projections[0].recorder
        busy = False
        with _Wakeups(recorder, self._woken) as wakeups:
            while not self._stopping.is_set():
                if busy:
                    self._stopping.wait(LINGER_S)
                read_at = time.monotonic()
                wakeups.check()
                self._woken.clear()
                head = recorder.max_notification_id() or 0
                self._pause_s = RESTART_FIRST_S
                more = False
                for projection in self._projections:
                    if self._stopping.is_set():
                        return
                    if not projection.due(read_at):
                        continue
                    try:
                        more = projection.step(head) or more
                    except Exception as e:  # noqa: BLE001  (that view's own: the others go on)
                        projection.failed(e)
                if more:
                    busy = False  # catching up: the next run at once
                    continue
                # Read up to what was stored: the next NOTIFY (or one that came meanwhile) says when to
                # read again, so a view keeping up reads each event once, not once more to find none.
                self._woken.wait(self._idle_wait(read_at))
                busy = time.monotonic() - read_at < BUSY_S

    def _idle_wait(self, now: float) -> float:
        """Until the next NOTIFY, POLL_S at most, or until a view that failed is due again."""
        retries = [p._retry_at - now for p in self._projections if not p.due(now)]
        return max(min([POLL_S, *retries]), 0.0)


class _Wakeups:
    """LISTENs on the events table's channel and sets `woken` on every NOTIFY."""

    def __init__(self, recorder: PostgresApplicationRecorder, woken: threading.Event) -> None:
        self._recorder = recorder
        self._woken = woken
        self._closing = threading.Event()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._listen, name="projection-listen", daemon=True)

    def __enter__(self) -> _Wakeups:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._thread.join(timeout=5)

    def check(self) -> None:
        """Raises what stopped the listener, so the projection restarts with a new one."""
        if self._error is not None:
            raise self._error

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                while not self._closing.is_set():
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._woken.set()
        except Exception as e:  # noqa: BLE001  (handed to the projection's thread, which restarts)
            self._error = e
            self._woken.set()
