"""One view's projection stepped over the events: a run of them per transaction, restarting from its
tracking position when it fails. `projector.py` steps every view of a process."""

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

    def retry_in(self, now: float) -> float:
        """Seconds until a view that failed is stepped again (0 when it is due)."""
        return max(self._retry_at - now, 0.0)

    def _datastores(self) -> list[PostgresDatastore]:
        return [self._app.recorder.datastore, self._view.datastore]

    def step(self, head: int) -> bool:
        """Applies the events that follow the view's position, up to RUN_LENGTH of them; `head` is the
        store's last notification id, read before (events commit in the order of their ids, so all up to
        it are stored). True when it is to be stepped again at once: it read a whole run, or another
        process moved the view."""
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
