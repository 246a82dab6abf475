"""The thread that keeps a process's views: woken by the store's NOTIFY, it reads the store's head once and
steps each view in turn."""

from __future__ import annotations

import threading
import time

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from .runner import POLL_S, RESTART_CAP_S, RESTART_FIRST_S, SupervisedProjection

# Woken within BUSY_S of its last read, events are coming one after another: the projector waits
# LINGER_S before reading, so one read, one run and one announcement per view take several of them
# (each costs a view ~0.3 ms of CPU whatever it holds, and on two cores that CPU is what a session's
# next event waits for). The lag grows by LINGER_S at most; an event after a pause is read at once,
# so read-your-writes waits for no linger.
BUSY_S = 0.005
LINGER_S = 0.004


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
        retries = [p.retry_in(now) for p in self._projections if not p.due(now)]
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
