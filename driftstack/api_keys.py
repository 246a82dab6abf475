"""The API key use cases of the HTTP API: an account lists, mints and revokes its own keys."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from .access import Principal
from .application import Driftstack
from .consistency import ReadYourWrites
from .projections.accounts import AccountsReader, stored_key_document
from .projections.progress import Progress

log = structlog.get_logger()


class KeyService:
    """Writes go to the application; reads come from the accounts view once it holds this
    process's writes for the account, so a revocation answered 204 is refused everywhere."""

    def __init__(
        self, app: Driftstack, reader: AccountsReader, progress: Progress, consistency: ReadYourWrites
    ) -> None:
        self._app = app
        self._reader = reader
        self.view_progress = progress
        self._consistency = consistency

    async def _settle(self, who: Principal, nid: int = 0) -> None:
        if nid:
            self._consistency.wrote(who.account_id, nid)
        await self._consistency.settle(who.account_id, self.view_progress)

    async def page(
        self, who: Principal, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[dict[str, Any]]:
        who.require_own_account()
        await self._settle(who)
        return await self._reader.keys(who.account_id, limit=limit, after=after)

    async def mint(
        self, who: Principal, scopes: list[str], name: str | None, lifetime: timedelta | None
    ) -> dict[str, Any]:
        """The new key with its plaintext: the only answer that ever shows it."""
        who.require_own_account()
        who.require_scopes_to_mint(scopes)
        key, plaintext, nid = await asyncio.to_thread(
            self._app.issue_key,
            who.account_id,
            scopes,
            name,
            lifetime=lifetime,
            api_key_id=who.api_key_id,
        )
        log.info("api_key.created", created_key_id=f"key_{key.id}", scopes=key.scopes)
        await self._settle(who, nid)
        return {**stored_key_document(key), "key": plaintext}

    async def revoke(self, who: Principal, key_id: str) -> None:
        """Answers once the accounts view refuses the key; another account's key is not found."""
        who.require_own_account()
        _, nid = await asyncio.to_thread(self._app.revoke_key, key_id, who.account_id, who.api_key_id)
        log.info("api_key.revoked", revoked_key_id=key_id)
        await self._settle(who, nid)
