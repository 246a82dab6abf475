"""The base of every view: its tables, written with its tracking position in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any, ClassVar, Generic, TypeVar

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from .progress import Progress

Write = Callable[[Cursor[DictRow]], object]


class View(PostgresTrackingRecorder):
    """A PostgreSQL read model: subclasses list their DDL in `ddl`."""

    ddl: ClassVar[tuple[str, ...]] = ()

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(Composed([SQL(statement)]) for statement in self.ddl)

    def commit(self, tracking: Tracking, write: Write | None = None) -> None:
        """Writes the rows and the tracking position atomically: each event is applied once."""
        with self.datastore.transaction(commit=True) as curs:
            if write is not None:
                write(curs)
            self._insert_tracking(curs, tracking)


V = TypeVar("V", bound=View)


class ViewProjection(Projection[V], Generic[V]):
    """A projection into one View; events it does not handle still advance its position."""

    progress: ClassVar[Progress] = Progress()

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.apply(tracking)

    def apply(self, tracking: Tracking, write: Write | None = None) -> None:
        self.view.commit(tracking, write)
        self.progress.advance(tracking.notification_id)
