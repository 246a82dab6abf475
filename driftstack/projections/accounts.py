"""The accounts view: accounts, their members, and API keys by hash, for authentication."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import asyncpg
from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from ..domain.account import Account
from ..domain.api_key import ApiKey
from .view import View, ViewProjection


class AccountsView(View):
    ddl = (
        "CREATE TABLE IF NOT EXISTS accounts ("
        " id text PRIMARY KEY, name text NOT NULL, tier text NOT NULL, concurrency int NOT NULL,"
        " profile_cap int, members jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL)",
        "CREATE TABLE IF NOT EXISTS api_keys ("
        " id text PRIMARY KEY, key_hash text NOT NULL UNIQUE, account_id text NOT NULL,"
        " scopes text[] NOT NULL, name text, created_at timestamptz NOT NULL)",
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
                "INSERT INTO api_keys (id, key_hash, account_id, scopes, name, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (
                    f"key_{event.originator_id}",
                    event.key_hash,
                    event.account_id,
                    event.scopes,
                    event.name,
                    event.timestamp,
                ),
            ),
        )


class AccountsReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def key_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            "SELECT id, account_id, scopes FROM api_keys WHERE key_hash = $1", key_hash
        )
        return dict(row) if row else None

    async def account(self, account_id: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            "SELECT id, name, tier, concurrency, profile_cap, members, created_at"
            " FROM accounts WHERE id = $1",
            account_id,
        )
        return dict(row) if row else None
