"""The accounts view: accounts, their members, and API keys by hash, for authentication."""

from __future__ import annotations

import time
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from ..clock import iso, parse_iso
from ..domain.account import Account
from ..domain.api_key import ApiKey
from .keyset import newest_first
from .view import View, ViewProjection

_VIEW_POLL_S = 0.05


class AccountsView(View):
    ddl = (
        "CREATE TABLE IF NOT EXISTS accounts ("
        " id text PRIMARY KEY, name text NOT NULL, tier text NOT NULL, concurrency int NOT NULL,"
        " profile_cap int, members jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL)",
        "CREATE TABLE IF NOT EXISTS api_keys ("
        " id text PRIMARY KEY, key_hash text NOT NULL UNIQUE, account_id text NOT NULL,"
        " scopes text[] NOT NULL, name text, created_at timestamptz NOT NULL,"
        " expires_at timestamptz, revoked_at timestamptz)",
        # A view made before keys could expire or be revoked gains the columns; its keys did neither.
        "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz",
        "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS revoked_at timestamptz",
        "CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys (account_id, created_at DESC, id DESC)",
    )


class AccountsProjection(ViewProjection[AccountsView]):
    name = "accounts_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.apply(tracking)

    @process_event.register
    def _account_created(self, event: Account.Created, tracking: Tracking) -> None:
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "INSERT INTO accounts (id, name, tier, concurrency, profile_cap, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (
                    f"acc_{event.originator_id}",
                    event.name,
                    event.tier,
                    event.concurrency,
                    event.profile_cap,
                    event.timestamp,
                ),
            ),
        )

    @process_event.register
    def _member_added(self, event: Account.MemberAdded, tracking: Tracking) -> None:
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "UPDATE accounts SET members = members || %s WHERE id = %s",
                (Jsonb({event.member_account_id: event.role}), f"acc_{event.originator_id}"),
            ),
        )

    @process_event.register
    def _key_issued(self, event: ApiKey.Issued, tracking: Tracking) -> None:
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "INSERT INTO api_keys (id, key_hash, account_id, scopes, name, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (
                    f"key_{event.originator_id}",
                    event.key_hash,
                    event.account_id,
                    event.scopes,
                    event.name,
                    event.timestamp,
                    parse_iso(event.expires_at) if event.expires_at else None,
                ),
            ),
        )

    @process_event.register
    def _key_revoked(self, event: ApiKey.Revoked, tracking: Tracking) -> None:
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (event.timestamp, f"key_{event.originator_id}"),
            ),
        )


def key_document(row: Any) -> dict[str, Any]:
    """An API key as the API and the command line show it: never its hash, nor its secret."""
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "name": row["name"],
        "scopes": list(row["scopes"]),
        "created_at": iso(row["created_at"]),
        "expires_at": iso(row["expires_at"]),
        "last_used_at": iso(row["last_used_at"]),
        "revoked_at": iso(row["revoked_at"]),
    }


def stored_key_document(key: ApiKey, last_used_at: datetime | None = None) -> dict[str, Any]:
    """The same document from the aggregate: a key just minted, or read by the command line."""
    return key_document(
        {
            "id": f"key_{key.id}",
            "account_id": key.account_id,
            "name": key.name,
            "scopes": key.scopes,
            "created_at": key.created_on,
            "expires_at": parse_iso(key.expires_at) if key.expires_at else None,
            "last_used_at": last_used_at,
            "revoked_at": key.revoked_at,
        }
    )


# The key's row with its last use, which lives beside the view (see key_usage).
_KEYS = "api_keys LEFT JOIN api_key_usage ON api_key_usage.key_id = api_keys.id"
_KEY_COLUMNS = "id, account_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"


def last_accounts_event(datastore: PostgresDatastore, events_table: str) -> int:
    """The last stored event the accounts view reads (it steps over every other kind)."""
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            SQL("SELECT max(notification_id) AS at FROM {} WHERE topic = ANY(%s)").format(
                Identifier(events_table)
            ),
            (list(AccountsProjection.topics),),
        )
        row = curs.fetchone()
    return int(row["at"] or 0) if row is not None else 0


def view_holds(datastore: PostgresDatastore, notification_id: int, timeout_s: float) -> bool:
    """For the command line: whether the accounts view, which running services keep, holds the
    event within `timeout_s`. A store no service has ever run on has no view: False at once."""
    table = f"{AccountsProjection.name}_tracking"
    deadline = time.monotonic() + timeout_s
    while True:
        with datastore.transaction(commit=False) as curs:
            curs.execute("SELECT to_regclass(%s) AS found", (table,))
            found = curs.fetchone()
            if found is None or found["found"] is None:
                return False
            curs.execute(SQL("SELECT max(notification_id) AS at FROM {}").format(Identifier(table)))
            row = curs.fetchone()
        if row is not None and (row["at"] or 0) >= notification_id:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_VIEW_POLL_S)


class AccountsReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def key_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            "SELECT id, account_id, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = $1",
            key_hash,
        )
        return dict(row) if row else None

    async def key(self, account_id: str, key_id: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM {_KEYS} WHERE id = $1 AND account_id = $2", key_id, account_id
        )
        return key_document(row) if row else None

    async def keys(
        self, account_id: str, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last key."""
        query, args = newest_first(
            _KEY_COLUMNS,
            _KEYS,
            sort="created_at",
            where=[("account_id = {}", account_id)],
            after=(after[0], f"key_{after[1]}") if after else None,
            limit=limit,
        )
        rows = await self._pool.fetch(query, *args)
        return [
            {**key_document(r), "_key": (r["created_at"], UUID(r["id"].removeprefix("key_")))} for r in rows
        ]

    async def account(self, account_id: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            "SELECT id, name, tier, concurrency, profile_cap, members, created_at"
            " FROM accounts WHERE id = $1",
            account_id,
        )
        return dict(row) if row else None
