"""The base of every view: its tables, written with its tracking position in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any, ClassVar, Generic, Self, TypeVar

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.abc import Params, Query, QueryNoTemplate
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from .published import announce
from .storable import storable

Write = Callable[[Cursor[DictRow]], object]

# A view is made from events that are already durable, and its tracking position commits with its
# rows: a server crash can only take it back to an earlier consistent position, which it replays.
# Waiting for a disk flush per commit would bound a view at one run of events per fsync.
_ASYNCHRONOUS_COMMIT = SQL("SET LOCAL synchronous_commit = off")
# One writer of a view at a time, across processes, so a run starts where the view stands.
_LOCK_VIEW = SQL("SELECT pg_advisory_xact_lock(hashtext(%s))")


class ViewMoved(Exception):
    """Another process applied events to the view meanwhile: continue from `position`."""

    def __init__(self, position: int) -> None:
        super().__init__(f"the view is at {position}")
        self.position = position


class StorableCursor(Cursor[DictRow]):
    """The cursor every view writes through: each parameter passes through `storable` first.

    One place, so no view (today's or a new one) can write a value that stops it at an event.
    """

    # One signature for all of execute's overloads: a view passes a query and its parameters.
    def execute(  # type: ignore[override]
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        return super().execute(query, storable(params), prepare=prepare, binary=binary)

    def executemany(self, query: Query, params_seq: Iterable[Params], *, returning: bool = False) -> None:
        super().executemany(query, (storable(p) for p in params_seq), returning=returning)


@dataclass
class _Run:
    cursor: Cursor[DictRow]
    tracking: Tracking | None = None


class View(PostgresTrackingRecorder):
    """A PostgreSQL read model: subclasses list their DDL in `ddl`."""

    ddl: ClassVar[tuple[str, ...]] = ()

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(Composed([SQL(statement)]) for statement in self.ddl)
        self._run: _Run | None = None

    @contextmanager
    def run(self, application_name: str, after: int) -> Iterator[None]:
        """One transaction for the events that follow `after`, with the last one's position.

        Every `commit` inside writes into it; each event is still applied exactly once, as the
        run commits whole or not at all. Raises ViewMoved if the view is no longer at `after`.
        Pipelined, the statements of a run travel to the server without waiting on each other.
        """
        with self.datastore.get_connection() as conn, conn.pipeline(), conn.transaction():
            curs = StorableCursor(conn)
            curs.execute(_ASYNCHRONOUS_COMMIT)
            curs.execute(_LOCK_VIEW, (self.tracking_table_name,))
            position = self._max_tracking_id(application_name, curs) or 0
            if position != after:
                raise ViewMoved(position)
            run = self._run = _Run(curs)
            try:
                yield
            finally:
                self._run = None
            if run.tracking is not None:
                self._insert_tracking(curs, run.tracking)
                # Delivered once the run commits: every process following the view learns it then.
                announce(
                    curs, self.tracking_table_name.removesuffix("_tracking"), run.tracking.notification_id
                )

    def commit(self, tracking: Tracking, write: Write | None = None) -> None:
        """Writes one event's rows into the open run, which records its position."""
        if self._run is None:
            raise RuntimeError("a view is written inside run()")
        if write is not None:
            write(self._run.cursor)
        self._run.tracking = tracking


V = TypeVar("V", bound=View)


class ViewProjection(Projection[V], Generic[V]):
    """A projection into one View; events it does not handle still advance its position.

    It reads only the events it handles: the types its `process_event` registers, and those its
    default handler applies (`handled_by_default`). Its runner steps over the rest without reading
    them, so an action of a session costs nothing to the views that show no actions.
    """

    # Events the default `process_event` applies (not registered on it one by one).
    handled_by_default: ClassVar[tuple[type, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The class that declares the handlers (a subclass made only to carry attributes inherits them).
        declaring = next(c for c in cls.__mro__ if "process_event" in c.__dict__)
        dispatch = declaring.__dict__["process_event"]
        handled = set(cls.handled_by_default)
        if isinstance(dispatch, singledispatchmethod):
            handled |= {t for t in dispatch.dispatcher.registry if t is not object}
        if handled:
            cls.topics = tuple(sorted(get_topic(t) for t in handled))

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.apply(tracking)

    def apply(self, tracking: Tracking, write: Write | None = None) -> None:
        self.view.commit(tracking, write)
