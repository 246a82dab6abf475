"""Dropping the read models and their tracking positions, so the next start replays every event into them."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from .accounts import AccountsProjection, AccountsView
from .audit import AuditLogProjection, AuditLogView
from .profiles import ProfilesProjection, ProfilesView
from .sessions import SessionsProjection, SessionsView
from .view import View

# The views a rebuild replays. Never a projection with side effects (a webhook outbox):
# replaying it would deliver every webhook again.
READ_MODELS: tuple[tuple[str, type[View]], ...] = (
    (SessionsProjection.name, SessionsView),
    (AuditLogProjection.name, AuditLogView),
    (AccountsProjection.name, AccountsView),
    (ProfilesProjection.name, ProfilesView),
)

_CREATE_TABLE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)


def tables_of(view: type[View]) -> list[str]:
    return [m.group(1) for statement in view.ddl if (m := _CREATE_TABLE.match(statement))]


def tracking_table(projection_name: str) -> str:
    # ProjectionRunner names a view's tracking table after its projection.
    return f"{projection_name.lower()}_tracking"


def rebuild_views(database_url: str) -> list[str]:
    """Drops every read-model table and its tracking table in one transaction; returns their names.

    Run it with the service stopped: its next start creates the views afresh and replays the
    event store into them from the first event.
    """
    dropped = [table for name, view in READ_MODELS for table in (*tables_of(view), tracking_table(name))]
    with psycopg.connect(database_url) as conn, conn.transaction():
        for table in dropped:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    return dropped
