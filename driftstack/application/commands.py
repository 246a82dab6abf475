"""The plumbing every command group writes through: saving, retrying a lost race, reading aggregates."""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from .. import key_usage, session_logs
from ..artifact_contents import ArtifactContents, ArtifactLinks
from ..browser_states import BrowserStates
from ..domain import ids
from ..domain.account import Account
from ..domain.api_key import ApiKey
from ..domain.errors import NotFound
from ..domain.profile import Profile
from ..domain.profile_snapshot import ProfileSnapshot
from ..domain.session import Session

T = TypeVar("T")
# The name of each listable aggregate's first event.
_CREATED: dict[type[Aggregate], str] = {Account: "Created", ApiKey: "Issued"}
# A writer that keeps losing its stream's race gives up (a 500) only after this long.
_CONFLICT_PATIENCE_S = 10.0
_CONFLICT_PAUSE_S = 0.001


class StateMoved(RecordConflictError):
    """A state row was replaced between reading its digest and copying it: read again."""


class Commands(Application[UUID]):
    """The base of every command group: the stores beside the events and the helpers they share.

    Its getters are the ones more than one group reads through (a session's account, a
    session's profile, whether a profile's holder is still live).
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self._retry_turn = threading.RLock()
        secret = base64.b64decode(self.env.get("CIPHER_KEY") or "")
        # Browser states live beside the events, in the same PostgreSQL, never inside them.
        self.states = BrowserStates(self.recorder.datastore, secret)  # type: ignore[attr-defined]
        self.states.create_table()
        key_usage.create_table(self.recorder.datastore)  # type: ignore[attr-defined]
        session_logs.create_tables(self.recorder.datastore)  # type: ignore[attr-defined]
        # Kept captures: sealed bytes beside the events, served through signed links.
        self.artifact_contents = ArtifactContents(self.recorder.datastore, secret)  # type: ignore[attr-defined]
        self.artifact_contents.create_table()
        self.artifact_links = ArtifactLinks(secret)

    def _save(self, *aggregates: Aggregate) -> int:
        recordings = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=0)

    def _retrying(self, command: Callable[[], T]) -> T:
        """Runs a read-decide-write command again when another writer got there first.

        Writers racing on one stream (an account's slots) retry at once and collide again. The
        first attempt runs freely (no cost when nobody races); a writer that lost retries only
        while holding this process's retry lock, so losers here take turns instead of colliding
        with each other, and a short random pause that grows with each attempt spreads them out
        from writers in other processes.
        """
        try:
            return command()
        except RecordConflictError:
            pass
        with self._retry_turn:
            deadline = time.monotonic() + _CONFLICT_PATIENCE_S
            attempt = 0
            while True:
                time.sleep(random.uniform(0, _CONFLICT_PAUSE_S * 2 ** min(attempt, 6)))
                try:
                    return command()
                except RecordConflictError:
                    if time.monotonic() > deadline:
                        raise
                attempt += 1

    def _get(self, cls: type[T], uuid: UUID, resource: str, public: str) -> T:
        try:
            aggregate: Aggregate = self.repository.get(uuid)
        except AggregateNotFoundError:
            raise NotFound(resource, public) from None
        if not isinstance(aggregate, cls):
            raise NotFound(resource, public)
        return aggregate

    def _births(self, cls: type[Aggregate]) -> list[Any]:
        """The first event of every aggregate of `cls`, in the order they were created."""
        topic = f"{cls.__module__}:{cls.__qualname__}.{_CREATED[cls]}"
        found: list[Any] = []
        start = 1
        while True:
            batch = self.recorder.select_notifications(start=start, limit=1000, topics=[topic])
            if not batch:
                return found
            found.extend(self.mapper.to_domain_event(n) for n in batch)
            start = batch[-1].id + 1

    def get_account(self, account_id: str) -> Account:
        uuid = ids.parse_public_id(ids.ACCOUNT, account_id)
        if uuid is None:
            raise NotFound("account", account_id)
        return self._get(Account, uuid, "account", account_id)

    def get_session(self, uuid: UUID) -> Session:
        return self._get(Session, uuid, "session", ids.public_id(ids.SESSION, uuid))

    def get_profile(self, account_id: str, profile_id: str) -> Profile:
        """The account's profile; a deleted one, or another account's, is not found."""
        uuid = ids.parse_public_id(ids.PROFILE, profile_id)
        if uuid is None:
            raise NotFound("profile", profile_id)
        profile = self._get(Profile, uuid, "profile", profile_id)
        if profile.deleted or profile.account_id != account_id:
            raise NotFound("profile", profile_id)
        return profile

    def _session_is_live(self, session_id: str) -> bool:
        uuid = ids.parse_public_id(ids.SESSION, session_id)
        if uuid is None:
            return False
        try:
            return not self.get_session(uuid).is_terminal
        except NotFound:
            return False

    def state_of(self, owner: Profile | ProfileSnapshot) -> dict[str, Any] | None:
        """The browser state a profile or snapshot holds (None: a fresh browser)."""
        if owner.state is None:
            return None
        return self.states.get(owner.public_id, owner.state)
