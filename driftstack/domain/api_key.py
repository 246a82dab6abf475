"""The ApiKey aggregate: a bearer key's account and scopes, found by the hash of the key."""

from __future__ import annotations

import hashlib
import secrets
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import ValidationFailed

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "ds_live_"
# Never change: key ids are derived from it, so a key is found by its hash alone.
_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://driftstack.dev/api-keys")


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_id_for(key_hash: str) -> UUID:
    return uuid5(_KEY_NAMESPACE, key_hash)


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKey(Aggregate):
    """Only the SHA-256 of the key is kept; the key itself is shown once, at issue."""

    @staticmethod
    def create_id(key_hash: str) -> UUID:
        return key_id_for(key_hash)

    class Issued(Aggregate.Created):
        key_hash: str
        account_id: str
        scopes: list[str]
        name: str | None

    @event(Issued)
    def __init__(self, key_hash: str, account_id: str, scopes: list[str], name: str | None) -> None:
        self.key_hash = key_hash
        self.account_id = account_id
        self.scopes = scopes
        self.name = name

    @classmethod
    def issue(cls, account_id: str, scopes: list[str], name: str | None = None) -> tuple[ApiKey, str]:
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ValidationFailed("scopes", f"a comma-separated subset of {','.join(SCOPES)}")
        plaintext = generate_key()
        key = cls(key_hash=hash_key(plaintext), account_id=account_id, scopes=sorted(set(scopes)), name=name)
        return key, plaintext
