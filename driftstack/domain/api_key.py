"""The ApiKey aggregate: a bearer key's account, scopes and lifetime, found by the hash of the key."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ..clock import iso, parse_iso
from .errors import ValidationFailed

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "ds_live_"
NAME_MAX = 120
# Never change: key ids are derived from it, so a key is found by its hash alone.
_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://driftstack.dev/api-keys")

# A lifetime is 1 to 9999 minutes, hours or days (`90m`, `12h`, `30d`): the pattern is the whole rule,
# so the documented schema refuses exactly what the service refuses.
LIFETIME_PATTERN = r"^[1-9][0-9]{0,3}[mhd]$"
LIFETIME_MAX = timedelta(days=9999)
LIFETIME_MESSAGE = "a duration like 90m, 12h or 30d: 1 to 9999 minutes, hours or days"
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_id_for(key_hash: str) -> UUID:
    return uuid5(_KEY_NAMESPACE, key_hash)


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_lifetime(text: str) -> timedelta:
    """`90m`, `12h`, `30d` as a duration; anything else is refused."""
    if not re.fullmatch(LIFETIME_PATTERN, text):
        raise ValidationFailed("expires_in", LIFETIME_MESSAGE)
    return int(text[:-1]) * _UNITS[text[-1]]


class ApiKey(Aggregate):
    """Only the SHA-256 of the key is kept; the key itself is shown once, at issue.

    A key stops working for good when it is revoked or when its `expires_at` passes.
    """

    @staticmethod
    def create_id(key_hash: str) -> UUID:
        return key_id_for(key_hash)

    class Issued(Aggregate.Created):
        """v2 adds `expires_at` (None: never) and `api_key_id`, the key that minted it (None: the
        operator's command line); v1 keys had neither."""

        key_hash: str
        account_id: str
        scopes: list[str]
        name: str | None
        expires_at: str | None
        api_key_id: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None
            state["api_key_id"] = None

    class Revoked(Aggregate.Event):
        api_key_id: str | None  # the key that revoked it (None: the operator's command line)

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.revoked_at = self.timestamp  # type: ignore[attr-defined]

    @event(Issued)
    def __init__(
        self,
        key_hash: str,
        account_id: str,
        scopes: list[str],
        name: str | None,
        expires_at: str | None,
        api_key_id: str | None,
    ) -> None:
        self.key_hash = key_hash
        self.account_id = account_id
        self.scopes = scopes
        self.name = name
        self.expires_at = expires_at
        self.issued_by = api_key_id
        self.revoked_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        account_id: str,
        scopes: list[str],
        name: str | None = None,
        *,
        lifetime: timedelta | None = None,
        now: datetime,
        api_key_id: str | None = None,
    ) -> tuple[ApiKey, str]:
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ValidationFailed("scopes", f"a comma-separated subset of {','.join(SCOPES)}")
        if name is not None and len(name) > NAME_MAX:
            raise ValidationFailed("name", f"at most {NAME_MAX} characters")
        if lifetime is not None and not timedelta(0) < lifetime <= LIFETIME_MAX:
            raise ValidationFailed("expires_in", LIFETIME_MESSAGE)
        plaintext = generate_key()
        key = cls(
            key_hash=hash_key(plaintext),
            account_id=account_id,
            scopes=sorted(set(scopes)),
            name=name,
            expires_at=iso(now + lifetime) if lifetime is not None else None,
            api_key_id=api_key_id,
        )
        return key, plaintext

    def revoke(self, api_key_id: str | None) -> bool:
        """Revokes the key; False when it already was (revoking is idempotent, as DELETE is)."""
        if self.revoked_at is not None:
            return False
        self.trigger_event(self.Revoked, api_key_id=api_key_id)
        return True

    def refusal(self, now: datetime) -> str | None:
        """Why the key no longer works at `now`, or None while it does."""
        return refusal(self.revoked_at, parse_iso(self.expires_at) if self.expires_at else None, now)


def refusal(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> str | None:
    """The one rule, for the aggregate and for the accounts view's row alike."""
    if revoked_at is not None:
        return "this key was revoked"
    if expires_at is not None and expires_at <= now:
        return f"this key expired at {iso(expires_at)}"
    return None
