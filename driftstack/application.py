"""The application: every command that changes Driftstack, and the only writer of events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from .domain import ids
from .domain.account import Account
from .domain.api_key import ApiKey, hash_key, key_id_for
from .domain.errors import NotFound
from .domain.session import Session
from .domain.webhook_endpoint import SigningKey, WebhookEndpoint

T = TypeVar("T")
_CONFLICT_RETRIES = 8


class Driftstack(Application[UUID]):
    """Commands are synchronous (eventsourcing is); the HTTP layer calls them off the event loop.

    Each command returns the notification id of its last stored event, so a reader can
    wait for a view to reach it (read-your-writes).
    """

    name = "driftstack"
    # Accounts gain two events per session (slot taken, slot freed): snapshot them.
    snapshotting_intervals = {Account: 100}  # noqa: RUF012  (eventsourcing's own ClassVar)

    def _save(self, *aggregates: Aggregate) -> int:
        recordings = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=0)

    def _retrying(self, command: Callable[[], T]) -> T:
        """Runs a read-decide-write command again when another writer got there first."""
        for attempt in range(_CONFLICT_RETRIES):
            try:
                return command()
            except RecordConflictError:
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _get(self, cls: type[T], uuid: UUID, resource: str, public: str) -> T:
        try:
            aggregate: Aggregate = self.repository.get(uuid)
        except AggregateNotFoundError:
            raise NotFound(resource, public) from None
        if not isinstance(aggregate, cls):
            raise NotFound(resource, public)
        return aggregate

    # Accounts and keys

    def create_account(
        self, name: str, tier: str, concurrency: int | None = None, profile_cap: int | None = None
    ) -> Account:
        account = Account.open(name=name, tier=tier, concurrency=concurrency, profile_cap=profile_cap)
        self._save(account)
        return account

    def get_account(self, account_id: str) -> Account:
        uuid = ids.parse_public_id(ids.ACCOUNT, account_id)
        if uuid is None:
            raise NotFound("account", account_id)
        return self._get(Account, uuid, "account", account_id)

    def add_member(self, owner_id: str, member_id: str, role: str) -> Account:
        self.get_account(member_id)

        def command() -> Account:
            owner = self.get_account(owner_id)
            owner.add_member(member_id, role)
            self._save(owner)
            return owner

        return self._retrying(command)

    def issue_key(self, account_id: str, scopes: list[str], name: str | None = None) -> tuple[ApiKey, str]:
        self.get_account(account_id)
        key, plaintext = ApiKey.issue(account_id=account_id, scopes=scopes, name=name)
        self._save(key)
        return key, plaintext

    def find_key(self, plaintext: str) -> ApiKey | None:
        try:
            key: Aggregate = self.repository.get(key_id_for(hash_key(plaintext)))
        except AggregateNotFoundError:
            return None
        return key if isinstance(key, ApiKey) else None

    # Sessions

    def get_session(self, uuid: UUID) -> Session:
        return self._get(Session, uuid, "session", ids.public_id(ids.SESSION, uuid))

    def create_session(self, account_id: str, **spec: Any) -> tuple[Session, int]:
        """Takes a concurrency slot on the account and records the session, atomically."""

        def command() -> tuple[Session, int]:
            account = self.get_account(account_id)
            session = Session(account_id=account_id, **spec)
            account.take_session_slot(session.public_id)
            return session, self._save(account, session)

        return self._retrying(command)

    def update_session(self, uuid: UUID, change: Callable[[Session], object]) -> int:
        """Applies one recorded fact to a live session (ready, an action, a failure)."""

        def command() -> int:
            session = self.get_session(uuid)
            change(session)
            return self._save(session)

        return self._retrying(command)

    def end_session(self, uuid: UUID, end: Callable[[Session], bool]) -> int:
        """Destroys or fails a session and frees its slot in one atomic save."""

        def command() -> int:
            session = self.get_session(uuid)
            if not end(session):
                return 0
            account = self.get_account(session.account_id)
            account.free_session_slot(session.public_id)
            return self._save(session, account)

        return self._retrying(command)

    def fail_sessions_of_node(self, node: str, reason: str, detail: str) -> list[str]:
        """Marks errored every live session this node held when it stopped (its browsers died)."""
        failed: list[str] = []
        for account_id in self._accounts_with_live_sessions():
            account = self.get_account(account_id)
            for session_id in list(account.live_sessions):
                uuid = ids.parse_public_id(ids.SESSION, session_id)
                if uuid is None:
                    continue
                session = self.get_session(uuid)
                if session.node == node and self.end_session(uuid, lambda s: s.fail(reason, detail)):
                    failed.append(session_id)
        return failed

    # Webhook endpoints

    def get_webhook_endpoint(self, uuid: UUID, account_id: str | None = None) -> WebhookEndpoint:
        """The endpoint, if it exists, is not deleted and (when named) belongs to `account_id`."""
        public = ids.public_id(ids.WEBHOOK_ENDPOINT, uuid)
        endpoint = self._get(WebhookEndpoint, uuid, "webhook endpoint", public)
        if endpoint.deleted or (account_id is not None and endpoint.account_id != account_id):
            raise NotFound("webhook endpoint", public)
        return endpoint

    def register_webhook_endpoint(
        self,
        account_id: str,
        api_key_id: str | None,
        url: str,
        event_types: list[str],
        description: str | None,
        enabled: bool,
        key: SigningKey,
    ) -> tuple[WebhookEndpoint, int]:
        endpoint = WebhookEndpoint.register(
            account_id=account_id,
            api_key_id=api_key_id,
            url=url,
            event_types=event_types,
            description=description,
            enabled=enabled,
            key=key,
        )
        return endpoint, self._save(endpoint)

    def update_webhook_endpoint(
        self, account_id: str, uuid: UUID, api_key_id: str | None, changes: dict[str, Any]
    ) -> tuple[WebhookEndpoint, int]:
        def command() -> tuple[WebhookEndpoint, int]:
            endpoint = self.get_webhook_endpoint(uuid, account_id)
            endpoint.update(api_key_id, changes)
            return endpoint, self._save(endpoint)

        return self._retrying(command)

    def rotate_webhook_secret(
        self, account_id: str, uuid: UUID, api_key_id: str | None, key: SigningKey, previous_valid_until: str
    ) -> tuple[WebhookEndpoint, int]:
        def command() -> tuple[WebhookEndpoint, int]:
            endpoint = self.get_webhook_endpoint(uuid, account_id)
            endpoint.rotate(api_key_id, key, previous_valid_until)
            return endpoint, self._save(endpoint)

        return self._retrying(command)

    def disable_webhook_endpoint(self, uuid: UUID, reason: str, detail: str) -> int:
        """Disabled by the dispatcher (410 Gone, or failing for too long): an event, so it is audited."""

        def command() -> int:
            endpoint = self._get(WebhookEndpoint, uuid, "webhook endpoint", f"whep_{uuid}")
            if not endpoint.disable(reason, detail):
                return 0
            return self._save(endpoint)

        return self._retrying(command)

    def delete_webhook_endpoint(self, account_id: str, uuid: UUID, api_key_id: str | None) -> int:
        def command() -> int:
            endpoint = self.get_webhook_endpoint(uuid, account_id)
            endpoint.delete(api_key_id)
            return self._save(endpoint)

        return self._retrying(command)

    def _accounts_with_live_sessions(self) -> list[str]:
        # Every account stream's id; read from the event store itself, not a view, so a
        # restart never trusts a view that may still be catching up.
        topic = f"{Account.__module__}:{Account.__qualname__}.Created"
        accounts: list[str] = []
        start = 1
        while True:
            batch = self.recorder.select_notifications(start=start, limit=1000, topics=[topic])
            if not batch:
                return accounts
            accounts.extend(ids.public_id(ids.ACCOUNT, UUID(str(n.originator_id))) for n in batch)
            start = batch[-1].id + 1
