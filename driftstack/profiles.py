"""The profile use cases: what each profiles and profile-snapshots endpoint does across events and views."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import structlog

from .access import Principal
from .application import Driftstack
from .consistency import ReadYourWrites
from .domain import ids
from .domain.archetypes import resolve as resolve_archetype
from .domain.errors import NotFound
from .domain.profile import Keep
from .projections.profiles import ProfilesReader
from .projections.progress import Progress

log = structlog.get_logger()
T = TypeVar("T")
After = tuple[datetime, UUID] | None


class ProfileService:
    """Writes go to the application (off the event loop); reads come from the profiles view,
    after it holds what this process wrote for the account (read-your-writes)."""

    def __init__(
        self, app: Driftstack, reader: ProfilesReader, progress: Progress, consistency: ReadYourWrites
    ) -> None:
        self._app = app
        self._reader = reader
        self._progress = progress
        self._consistency = consistency

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def _settle(self, who: Principal, nid: int = 0) -> None:
        if nid:
            self._consistency.wrote(who.account_id, nid)
        await self._consistency.settle(who.account_id, self._progress)

    # Profiles

    async def create(
        self, who: Principal, name: str, archetype: str | None, description: str | None
    ) -> dict[str, Any]:
        slug = resolve_archetype(archetype).slug
        profile, nid = await self._call(
            self._app.create_profile, who.account_id, who.api_key_id, name, slug, description
        )
        log.info("profile.created", profile_id=profile.public_id)
        await self._settle(who, nid)
        return await self.get(who, profile.public_id)

    async def get(self, who: Principal, profile_id: str) -> dict[str, Any]:
        await self._settle(who)
        doc = await self._reader.profile(who.account_id, _uuid(ids.PROFILE, "profile", profile_id))
        if doc is None:
            raise NotFound("profile", profile_id)
        return doc

    async def page(self, who: Principal, *, limit: int, after: After) -> list[dict[str, Any]]:
        await self._settle(who)
        return await self._reader.profiles(who.account_id, limit=limit, after=after)

    async def update(
        self, who: Principal, profile_id: str, name: str | None, description: str | Keep | None
    ) -> dict[str, Any]:
        _, nid = await self._call(
            self._app.update_profile, who.account_id, who.api_key_id, profile_id, name, description
        )
        await self._settle(who, nid)
        return await self.get(who, profile_id)

    async def delete(self, who: Principal, profile_id: str) -> None:
        nid = await self._call(self._app.delete_profile, who.account_id, who.api_key_id, profile_id)
        log.info("profile.deleted", profile_id=profile_id)
        await self._settle(who, nid)

    async def clone(
        self, who: Principal, source_id: str, name: str | None, archetype: str | None
    ) -> dict[str, Any]:
        slug = resolve_archetype(archetype).slug if archetype is not None else None
        profile, nid = await self._call(
            self._app.clone_profile, who.account_id, who.api_key_id, source_id, name, slug
        )
        log.info("profile.cloned", profile_id=profile.public_id, cloned_from=source_id)
        await self._settle(who, nid)
        return await self.get(who, profile.public_id)

    # Snapshots

    async def capture(
        self, who: Principal, profile_id: str, label: str, description: str | None
    ) -> dict[str, Any]:
        snapshot, nid = await self._call(
            self._app.capture_snapshot, who.account_id, who.api_key_id, profile_id, label, description
        )
        log.info("snapshot.created", snapshot_id=snapshot.public_id, profile_id=profile_id)
        await self._settle(who, nid)
        return await self.snapshot(who, snapshot.public_id)

    async def snapshot(self, who: Principal, snapshot_id: str) -> dict[str, Any]:
        await self._settle(who)
        doc = await self._reader.snapshot(
            who.account_id, _uuid(ids.SNAPSHOT, "profile snapshot", snapshot_id)
        )
        if doc is None:
            raise NotFound("profile snapshot", snapshot_id)
        return doc

    async def snapshots(
        self, who: Principal, *, limit: int, after: After, profile_id: str | None = None
    ) -> list[dict[str, Any]]:
        if profile_id is not None:
            await self.get(who, profile_id)  # a missing or foreign profile: 404, not an empty list
        await self._settle(who)
        return await self._reader.snapshots(
            who.account_id, limit=limit, after=after, parent_profile_id=profile_id
        )

    async def restore(self, who: Principal, snapshot_id: str, name: str) -> dict[str, Any]:
        profile, nid = await self._call(
            self._app.restore_snapshot, who.account_id, who.api_key_id, snapshot_id, name
        )
        log.info("snapshot.restored", snapshot_id=snapshot_id, profile_id=profile.public_id)
        await self._settle(who, nid)
        return await self.get(who, profile.public_id)

    async def delete_snapshot(self, who: Principal, snapshot_id: str) -> None:
        nid = await self._call(self._app.delete_snapshot, who.account_id, who.api_key_id, snapshot_id)
        await self._settle(who, nid)


def _uuid(prefix: str, resource: str, public_id: str) -> UUID:
    uuid = ids.parse_public_id(prefix, public_id)
    if uuid is None:
        raise NotFound(resource, public_id)
    return uuid
