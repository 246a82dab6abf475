"""Who is calling: API keys to principals, scopes, and acting on a team owner's account."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from .application import Driftstack
from .clock import now, parse_iso
from .domain import ids
from .domain.account import Account
from .domain.api_key import hash_key, refusal
from .domain.errors import NotFound
from .key_usage import KeyUsage
from .projections.accounts import AccountsReader

NO_ACCESS = "this key has no access to the account X-Driftstack-Account names"


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

    def require_own_account(self) -> None:
        """Keys are managed only by their own account: a member cannot mint keys of the owner's."""
        if self.account_id != self.key_account_id:
            raise Forbidden("an account's keys are managed only with its own keys, not as a member of it")

    def require_scopes_to_mint(self, scopes: list[str]) -> None:
        """A key can mint only scopes it has: no key makes a stronger one."""
        lacking = sorted(set(scopes) - self.scopes)
        if lacking:
            raise Forbidden(
                f"a key can mint only scopes it has; this key lacks {', '.join(repr(s) for s in lacking)}"
            )

    def require_admin_role(self) -> None:
        """Owners and admin members only: a plain member reads but does not write (profiles)."""
        if self.role == "member":
            raise Forbidden(
                f"a member of account {self.account_id} cannot write its profiles; an admin member can"
            )


class Authenticator:
    """Every request reads its key's row afresh (no cache): a revocation or an expiry is refused
    by every node as soon as the accounts view holds it, and revoking waits for the view."""

    def __init__(self, reader: AccountsReader, app: Driftstack, usage: KeyUsage | None = None) -> None:
        self._reader = reader
        self._app = app
        self._usage = usage

    async def principal(self, bearer: str | None, acting_for: str | None) -> Principal:
        if not bearer:
            raise Unauthorized("send 'Authorization: Bearer ds_live_…'")
        key = await self._key(bearer)
        if key is None:
            raise Unauthorized("the bearer key is not valid")
        at = now()
        refused = refusal(key["revoked_at"], key["expires_at"], at)
        if refused is not None:
            raise Unauthorized(refused)
        if self._usage is not None:
            await self._usage.used(key["id"], at)
        own = key["account_id"]
        named = own if acting_for is None else acting_for  # an empty header names no account
        account, role = await self._membership(_canonical(named), own)
        if account is None or not role:
            # One answer, byte for byte, whether the account is missing, malformed or only not the
            # caller's: the 403 must not tell a stranger which account ids exist.
            raise Forbidden(NO_ACCESS)
        return Principal(
            api_key_id=key["id"],
            key_account_id=own,
            account_id=account["id"],
            account_name=account["name"],
            role=role,
            scopes=frozenset(key["scopes"]),
            tier=account["tier"],
            concurrency=account["concurrency"],
            profile_cap=account["profile_cap"],
        )

    async def _key(self, bearer: str) -> dict[str, Any] | None:
        if not _encodable(bearer):
            return None  # a lone surrogate (an undecodable header byte) is no key of ours
        found = await self._reader.key_by_hash(hash_key(bearer))
        if found is not None:
            return found
        # A key issued a moment ago (by the CLI, in another process) may not be in the
        # view yet: the event store has it.
        key = await asyncio.to_thread(self._app.find_key, bearer)
        if key is None:
            return None
        return {
            "id": f"key_{key.id}",
            "account_id": key.account_id,
            "scopes": key.scopes,
            "expires_at": parse_iso(key.expires_at) if key.expires_at else None,
            "revoked_at": key.revoked_at,
        }

    async def _membership(self, account_id: str, member_id: str) -> tuple[dict[str, Any] | None, str]:
        """The account and the caller's role in it (`owner` on its own account; "" for none)."""
        account = await self._reader.account(account_id)
        if account is not None:
            role = _role(account_id, member_id, dict(account["members"] or {}))
            if role:
                return account, role
        # The account or the membership may be a moment old (made by the CLI, in another process)
        # and not in the view yet: the event store has it. Every refusal reads the view and the
        # store once each, so an unknown account does not answer measurably faster than a foreign one.
        stored = await asyncio.to_thread(self._stored_account, account_id)
        if stored is None:
            return None, ""
        return account or _row(account_id, stored), _role(account_id, member_id, stored.members)

    def _stored_account(self, account_id: str) -> Account | None:
        try:
            return self._app.get_account(account_id)
        except NotFound:
            return None


# A well-formed id no account has: what a malformed name is looked up as, so it costs the same reads.
_NO_ACCOUNT = ids.public_id(ids.ACCOUNT, UUID(int=0))


def _canonical(account_id: str) -> str:
    """The id as the store spells it (`acc_` and a hyphenated lowercase UUID), or one of no account."""
    uuid = ids.parse_public_id(ids.ACCOUNT, account_id)
    return ids.public_id(ids.ACCOUNT, uuid) if uuid is not None else _NO_ACCOUNT


def _role(account_id: str, member_id: str, members: dict[str, str]) -> str:
    return "owner" if account_id == member_id else str(members.get(member_id, "") or "")


def _row(account_id: str, account: Account) -> dict[str, Any]:
    """The accounts view's row, from the aggregate."""
    return {
        "id": account_id,
        "tier": account.tier,
        "concurrency": account.concurrency,
        "profile_cap": account.profile_cap,
        "members": account.members,
        "name": account.name,
        "created_at": account.created_on,
    }


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
