"""API key commands: issuing, finding, listing and revoking an account's keys."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from .. import key_usage
from ..clock import now
from ..domain import ids
from ..domain.api_key import ApiKey, hash_key, key_id_for
from ..domain.errors import NotFound
from .commands import Commands


class ApiKeyCommands(Commands):
    def issue_key(
        self,
        account_id: str,
        scopes: list[str],
        name: str | None = None,
        *,
        lifetime: timedelta | None = None,
        api_key_id: str | None = None,
    ) -> tuple[ApiKey, str, int]:
        """A new key on the account and its plaintext (shown once); `api_key_id` is the key that
        minted it (None: the operator)."""
        self.get_account(account_id)
        key, plaintext = ApiKey.issue(
            account_id=account_id,
            scopes=scopes,
            name=name,
            lifetime=lifetime,
            now=now(),
            api_key_id=api_key_id,
        )
        return key, plaintext, self._save(key)

    def get_key(self, key_id: str, account_id: str | None = None) -> ApiKey:
        """The key; one of another account (when `account_id` is named) is not found, as a missing one."""
        uuid = ids.parse_public_id(ids.API_KEY, key_id)
        if uuid is None:
            raise NotFound("API key", key_id)
        key = self._get(ApiKey, uuid, "API key", key_id)
        if account_id is not None and key.account_id != account_id:
            raise NotFound("API key", key_id)
        return key

    def revoke_key(
        self, key_id: str, account_id: str | None = None, api_key_id: str | None = None
    ) -> tuple[ApiKey, int]:
        """Revokes the key (idempotent: 0 when it already was); `api_key_id` is the key that did it."""

        def command() -> tuple[ApiKey, int]:
            key = self.get_key(key_id, account_id)
            if not key.revoke(api_key_id):
                return key, 0
            return key, self._save(key)

        return self._retrying(command)

    def keys_last_used(self, key_ids: list[str]) -> dict[str, datetime]:
        return key_usage.last_used(self.recorder.datastore, key_ids)  # type: ignore[attr-defined]

    def keys_of(self, account_id: str) -> list[ApiKey]:
        """The account's keys, oldest first, read from the event store."""
        self.get_account(account_id)
        return [
            self.get_key(ids.public_id(ids.API_KEY, e.originator_id))
            for e in self._births(ApiKey)
            if e.account_id == account_id  # type: ignore[attr-defined]
        ]

    def find_key(self, plaintext: str) -> ApiKey | None:
        try:
            key: Aggregate = self.repository.get(key_id_for(hash_key(plaintext)))
        except AggregateNotFoundError:
            return None
        return key if isinstance(key, ApiKey) else None
