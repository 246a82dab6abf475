"""Runs each projection in a thread of its own, a run of events per transaction, restarting it when it dies."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from typing import Any

import structlog
from eventsourcing.persistence import InfrastructureFactory, Notification, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.projection import Projection
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from .progress import Progress
from .view import View, ViewMoved

log = structlog.get_logger()

# Events read, and applied in one transaction, at a time: a view that is behind catches up in
# runs this long; one that keeps up applies each event as it comes.
RUN_LENGTH = 500
# A NOTIFY wakes the reader at once; should one be missed, the view still looks this often.
POLL_S = 1.0


class SupervisedProjection:
    """One projection in a thread of its own: any error restarts it from its tracking position.

    It reads the events that follow the view's position from the store, applies them in one
    transaction with the last one's position, then advances `progress`; woken by the store's
    NOTIFY when there is nothing left to read.
    """

    def __init__(
        self,
        projection_class: type[Projection[Any]],
        view_class: type[View],
        application_class: type[Any],
        env: dict[str, str],
        restart_delay_s: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.progress = Progress()
        # A subclass per supervisor carries what else the projection needs (e.g. a key).
        self._projection_class: type[Projection[Any]] = type(
            projection_class.__name__,
            (projection_class,),
            {"name": projection_class.name, **(attributes or {})},
        )
        self._view_class = view_class
        self._application_class = application_class
        self._env = env
        self._restart_delay_s = restart_delay_s
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"projection-{projection_class.name}", daemon=True
        )

    @property
    def name(self) -> str:
        return self._projection_class.name

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"projection {self.name} did not start")

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._follow()
            except Exception:
                log.exception("projection.failed", projection=self.name)
            if not self._stopping.wait(self._restart_delay_s):
                log.info("projection.restarting", projection=self.name)

    def _follow(self) -> None:
        app = self._application_class(self._env)
        # Named after the projection, as eventsourcing's ProjectionRunner names it: the view's
        # tracking table is `<projection name>_tracking`.
        environment = Environment(self.name, {**os.environ, **self._env})
        with (
            contextlib.closing(app),
            contextlib.closing(InfrastructureFactory[View].construct(environment)) as factory,
        ):
            view = factory.tracking_recorder(self._view_class)
            projection = self._projection_class(view=view)
            position = view.max_tracking_id(app.name) or 0
            self.progress.advance(position)
            self._started.set()
            with _Wakeups(app.recorder, self._woken) as wakeups:
                while not self._stopping.is_set():
                    wakeups.check()
                    self._woken.clear()
                    notifications = app.recorder.select_notifications(
                        start=position, limit=RUN_LENGTH, topics=projection.topics, inclusive_of_start=False
                    )
                    if not notifications:
                        self._woken.wait(POLL_S)
                        continue
                    position = self._apply(app, view, projection, position, notifications)

    def _apply(
        self,
        app: Any,
        view: View,
        projection: Projection[Any],
        position: int,
        notifications: Sequence[Notification],
    ) -> int:
        """Applies the events in one transaction; their last position, or where the view moved to."""
        try:
            with view.run(app.name, after=position):
                for notification in notifications:
                    event = app.mapper.to_domain_event(notification)
                    projection.process_event(event, Tracking(app.name, notification.id))
                view.commit(Tracking(app.name, notifications[-1].id))  # all of them, handled or not
        except ViewMoved as moved:
            position = moved.position
        except Exception:
            if len(notifications) == 1:
                raise
            # One at a time, so every event before the one that fails lands, as it would alone.
            for notification in notifications:
                if notification.id > position:
                    position = self._apply(app, view, projection, position, [notification])
            return position
        else:
            position = notifications[-1].id
        self.progress.advance(position)
        return position


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
