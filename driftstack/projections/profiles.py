"""The profiles view: profiles and their snapshots, serving `/v1/profiles` and `/v1/profile-snapshots`."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch, singledispatchmethod
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb

from ..clock import iso
from ..domain.profile import Profile
from ..domain.profile_snapshot import ProfileSnapshot
from .keyset import newest_first
from .view import View, ViewProjection

PROFILE_FIELDS = ("id", "name", "archetype", "description", "last_used_at", "created_at", "updated_at")
SNAPSHOT_FIELDS = (
    "id",
    "parent_profile_id",
    "parent_name",
    "parent_archetype",
    "label",
    "description",
    "captured_at",
)


class ProfilesView(View):
    ddl = (
        "CREATE TABLE IF NOT EXISTS profiles ("
        " id uuid PRIMARY KEY, account_id text NOT NULL, created_at timestamptz NOT NULL,"
        " doc jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS profiles_by_account ON profiles (account_id, created_at DESC, id DESC)",
        "CREATE TABLE IF NOT EXISTS profile_snapshots ("
        " id uuid PRIMARY KEY, account_id text NOT NULL, parent_profile_id text,"
        " captured_at timestamptz NOT NULL, doc jsonb NOT NULL)",
        "CREATE INDEX IF NOT EXISTS profile_snapshots_by_account"
        " ON profile_snapshots (account_id, captured_at DESC, id DESC)",
        "CREATE INDEX IF NOT EXISTS profile_snapshots_by_parent"
        " ON profile_snapshots (parent_profile_id, captured_at DESC, id DESC)",
    )


PATCH_PROFILE_SQL = "UPDATE profiles SET doc = doc || %s WHERE id = %s"


def new_profile_document(event: Profile.Created) -> dict[str, Any]:
    """The profile resource as it stands when created; later events patch it (`profile_changes`)."""
    at = iso(event.timestamp)
    return {
        "id": f"prof_{event.originator_id}",
        "name": event.name,
        "archetype": event.archetype,
        "description": event.description,
        "last_used_at": None,
        "created_at": at,
        "updated_at": at,
    }


@singledispatch
def profile_changes(event: Any) -> dict[str, Any] | None:
    """The fields a profile event changes in the resource; None: it changes none."""
    return None


@profile_changes.register
def _(event: Profile.Updated) -> dict[str, Any]:
    return {"name": event.name, "description": event.description, "updated_at": iso(event.timestamp)}


@profile_changes.register
def _(event: Profile.Taken) -> dict[str, Any]:
    at = iso(event.timestamp)
    return {"last_used_at": at, "updated_at": at}


class ProfilesProjection(ViewProjection[ProfilesView]):
    name = "profiles_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.apply(tracking)

    @process_event.register
    def _created(self, event: Profile.Created, tracking: Tracking) -> None:
        doc = new_profile_document(event)
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "INSERT INTO profiles (id, account_id, created_at, doc) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING",
                (event.originator_id, event.account_id, event.timestamp, Jsonb(doc)),
            ),
        )

    @process_event.register(Profile.Updated)
    @process_event.register(Profile.Taken)
    def _changed(self, event: Profile.Updated | Profile.Taken, tracking: Tracking) -> None:
        patch = profile_changes(event)
        self.apply(
            tracking, lambda curs: curs.execute(PATCH_PROFILE_SQL, (Jsonb(patch), event.originator_id))
        )

    @process_event.register
    def _deleted(self, event: Profile.Deleted, tracking: Tracking) -> None:
        profile_id = f"prof_{event.originator_id}"

        def write(curs: Any) -> None:
            curs.execute("DELETE FROM profiles WHERE id = %s", (event.originator_id,))
            # Its snapshots stay, restorable, without a parent.
            curs.execute(
                "UPDATE profile_snapshots SET parent_profile_id = NULL,"
                " doc = doc || '{\"parent_profile_id\": null}'::jsonb WHERE parent_profile_id = %s",
                (profile_id,),
            )

        self.apply(tracking, write)

    @process_event.register
    def _snapshot_created(self, event: ProfileSnapshot.Created, tracking: Tracking) -> None:
        doc = {
            "id": f"psnap_{event.originator_id}",
            "parent_profile_id": event.parent_profile_id,
            "parent_name": event.parent_name,
            "parent_archetype": event.parent_archetype,
            "label": event.label,
            "description": event.description,
            "captured_at": iso(event.timestamp),
        }

        def write(curs: Any) -> None:
            # A parent deleted while the snapshot was being taken is already gone from the view.
            curs.execute(
                "SELECT 1 FROM profiles WHERE id = %s",
                (UUID(event.parent_profile_id.removeprefix("prof_")),),
            )
            parent = event.parent_profile_id if curs.fetchone() is not None else None
            curs.execute(
                "INSERT INTO profile_snapshots (id, account_id, parent_profile_id, captured_at, doc)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (
                    event.originator_id,
                    event.account_id,
                    parent,
                    event.timestamp,
                    Jsonb({**doc, "parent_profile_id": parent}),
                ),
            )

        self.apply(tracking, write)

    @process_event.register
    def _snapshot_deleted(self, event: ProfileSnapshot.Deleted, tracking: Tracking) -> None:
        self.apply(
            tracking,
            lambda curs: curs.execute("DELETE FROM profile_snapshots WHERE id = %s", (event.originator_id,)),
        )


def _ordered(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    # jsonb keeps keys in its own order; clients read the resource in the documented one.
    return {name: doc.get(name) for name in fields}


class ProfilesReader:
    """Queries of the profiles view, through asyncpg."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def profile(self, account_id: str, profile_id: UUID) -> dict[str, Any] | None:
        doc = await self._pool.fetchval(
            "SELECT doc FROM profiles WHERE id = $1 AND account_id = $2", profile_id, account_id
        )
        return _ordered(doc, PROFILE_FIELDS) if doc is not None else None

    async def profiles(
        self, account_id: str, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last row."""
        query, args = newest_first(
            "doc, created_at, id",
            "profiles",
            sort="created_at",
            where=[("account_id = {}", account_id)],
            after=after,
            limit=limit,
        )
        rows = await self._pool.fetch(query, *args)
        return [{**_ordered(r["doc"], PROFILE_FIELDS), "_key": (r["created_at"], r["id"])} for r in rows]

    async def snapshot(self, account_id: str, snapshot_id: UUID) -> dict[str, Any] | None:
        doc = await self._pool.fetchval(
            "SELECT doc FROM profile_snapshots WHERE id = $1 AND account_id = $2", snapshot_id, account_id
        )
        return _ordered(doc, SNAPSHOT_FIELDS) if doc is not None else None

    async def snapshots(
        self,
        account_id: str,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None,
        parent_profile_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first, of the account or of one profile; `after` as for profiles."""
        where: list[tuple[str, Any]] = [("account_id = {}", account_id)]
        if parent_profile_id is not None:
            where.append(("parent_profile_id = {}", parent_profile_id))
        query, args = newest_first(
            "doc, captured_at, id",
            "profile_snapshots",
            sort="captured_at",
            where=where,
            after=after,
            limit=limit,
        )
        rows = await self._pool.fetch(query, *args)
        return [{**_ordered(r["doc"], SNAPSHOT_FIELDS), "_key": (r["captured_at"], r["id"])} for r in rows]
