"""Who is calling: API keys to principals, scopes, and acting on a team owner's account."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .application import Driftstack
from .domain.api_key import hash_key
from .projections.accounts import AccountsReader


class Unauthorized(Exception):
    """No bearer key, or one Driftstack does not know."""


class Forbidden(Exception):
    """The key lacks the scope, or the caller is no member of the account it names."""


@dataclass(frozen=True)
class Principal:
    api_key_id: str
    key_account_id: str  # the account the key belongs to
    account_id: str  # the account acted on (the owner's, under X-Driftstack-Account)
    account_name: str
    role: str  # owner | admin | member
    scopes: frozenset[str]
    tier: str
    concurrency: int
    profile_cap: int | None

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this key lacks the '{scope}' scope")

    def require_admin_role(self) -> None:
        """Owners and admin members only: a plain member reads but does not write (profiles)."""
        if self.role == "member":
            raise Forbidden(
                f"a member of account {self.account_id} cannot write its profiles; an admin member can"
            )


class Authenticator:
    def __init__(self, reader: AccountsReader, app: Driftstack) -> None:
        self._reader = reader
        self._app = app

    async def principal(self, bearer: str | None, acting_for: str | None) -> Principal:
        if not bearer:
            raise Unauthorized("send 'Authorization: Bearer ds_live_…'")
        key = await self._key(bearer)
        if key is None:
            raise Unauthorized("the bearer key is not valid")
        own = key["account_id"]
        target = acting_for or own
        account = await self._account(target)
        if account is None:
            raise Forbidden(f"no access to account {target}")
        role = "owner"
        if target != own:
            role = dict(account["members"] or {}).get(own, "") or await self._fresh_role(target, own)
            if not role:
                raise Forbidden(f"this key's account is not a member of {target}")
        return Principal(
            api_key_id=key["id"],
            key_account_id=own,
            account_id=target,
            account_name=account["name"],
            role=role,
            scopes=frozenset(key["scopes"]),
            tier=account["tier"],
            concurrency=account["concurrency"],
            profile_cap=account["profile_cap"],
        )

    async def _key(self, bearer: str) -> dict[str, Any] | None:
        found = await self._reader.key_by_hash(hash_key(bearer))
        if found is not None:
            return found
        # A key issued a moment ago (by the CLI, in another process) may not be in the
        # view yet: the event store has it.
        key = await asyncio.to_thread(self._app.find_key, bearer)
        if key is None:
            return None
        return {"id": f"key_{key.id}", "account_id": key.account_id, "scopes": key.scopes}

    async def _fresh_role(self, account_id: str, member_id: str) -> str:
        # Membership granted a moment ago (by the CLI, in another process) may not be in the
        # view yet: the event store has it.
        try:
            account = await asyncio.to_thread(self._app.get_account, account_id)
        except Exception:  # noqa: BLE001  (unknown or malformed id: no membership)
            return ""
        return str(account.members.get(member_id, ""))

    async def _account(self, account_id: str) -> dict[str, Any] | None:
        found = await self._reader.account(account_id)
        if found is not None:
            return found
        try:
            account = await asyncio.to_thread(self._app.get_account, account_id)
        except Exception:  # noqa: BLE001  (unknown or malformed id: simply no such account)
            return None
        return {
            "id": account_id,
            "tier": account.tier,
            "concurrency": account.concurrency,
            "profile_cap": account.profile_cap,
            "members": account.members,
            "name": account.name,
            "created_at": account.created_on,
        }
