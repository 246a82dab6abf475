"""The application: every command that changes Driftstack, and the only writer of events."""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from . import key_usage, session_logs
from .artifact_contents import ArtifactContents, ArtifactLinks
from .browser_states import BrowserStates, StateRef
from .clock import now
from .domain import ids
from .domain.account import Account
from .domain.api_key import ApiKey, hash_key, key_id_for
from .domain.artifact import CONTENT_TYPES, Artifact
from .domain.errors import Conflict, NotFound, ProfileNameTaken
from .domain.profile import Keep, Profile, copy_names
from .domain.profile_name import ProfileName, normalise
from .domain.profile_snapshot import ProfileSnapshot
from .domain.session import Session
from .domain.webhook_endpoint import SigningKey, WebhookEndpoint

T = TypeVar("T")
# The name of each listable aggregate's first event.
_CREATED: dict[type[Aggregate], str] = {Account: "Created", ApiKey: "Issued"}
# A writer that keeps losing its stream's race gives up (a 500) only after this long.
_CONFLICT_PATIENCE_S = 10.0
_CONFLICT_PAUSE_S = 0.001


class StateMoved(RecordConflictError):
    """A state row was replaced between reading its digest and copying it: read again."""


class Driftstack(Application[UUID]):
    """Commands are synchronous (eventsourcing is); the HTTP layer calls them off the event loop.

    Each command returns the notification id of its last stored event, so a reader can
    wait for a view to reach it (read-your-writes).
    """

    name = "driftstack"
    # Accounts gain two events per session (slot taken, slot freed), profiles two or three
    # (taken, state saved, released): snapshot them.
    snapshotting_intervals = {Account: 100, Profile: 100}  # noqa: RUF012  (eventsourcing's own ClassVar)

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

    def accounts(self) -> list[Account]:
        """Every account, oldest first, read from the event store (a view may be behind the CLI)."""
        return [self.get_account(ids.public_id(ids.ACCOUNT, e.originator_id)) for e in self._births(Account)]

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

    # Sessions

    def get_session(self, uuid: UUID) -> Session:
        return self._get(Session, uuid, "session", ids.public_id(ids.SESSION, uuid))

    def create_session(
        self, account_id: str, *, ready_on: dict[str, Any] | None = None, **spec: Any
    ) -> tuple[Session, int]:
        """Takes a concurrency slot on the account and records the session, atomically.

        `ready_on` describes the page already opened for it (`become_ready`'s browser, engine,
        engine_version, tap_kind): the session is then
        recorded ready in the same save.
        """

        def command() -> tuple[Session, int]:
            account = self.get_account(account_id)
            if spec.get("profile_id") is not None:
                self.get_profile(account_id, spec["profile_id"])  # deleted or foreign: not found
            session = Session(account_id=account_id, **spec)
            if ready_on is not None:
                session.become_ready(duration_ms=0, **ready_on)
            if session.socket_client != "standard":  # a standard client runs no browser: no slot
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

    def end_session(
        self, uuid: UUID, end: Callable[[Session], bool], state: dict[str, Any] | None = None
    ) -> int:
        """Destroys or fails a session, frees its slot and releases its profile in one atomic save.

        `state` is the browser state read before the browser closed; it becomes the profile's
        state. None (a crashed browser) keeps the profile's previous state.
        """

        def command() -> tuple[int, Profile | None]:
            session = self.get_session(uuid)
            if not end(session):
                return 0, None
            account = self.get_account(session.account_id)
            account.free_session_slot(session.public_id)
            profile = self._profile_held_by(session)
            if profile is None:
                return self._save(session, account), None
            ref = self.states.put(profile.public_id, state) if state is not None else None
            profile.release(session.public_id, ref.digest if ref else None, ref.byte_size if ref else None)
            return self._save(session, account, profile), profile

        nid, profile = self._retrying(command)
        if profile is not None and profile.state is not None:
            self.states.keep_only(profile.public_id, profile.state)  # the replaced states
        return nid

    def take_profile(self, uuid: UUID) -> dict[str, Any] | None:
        """Holds the session's profile for it and returns the profile's browser state.

        Raises ProfileBusy while another live session holds it, NotFound once it is deleted,
        SessionGone when the session ended while it waited.
        """

        def command() -> Profile:
            session = self.get_session(uuid)
            session.check_can_act()
            profile = self.get_profile(session.account_id, session.profile_id or "")
            holder = profile.held_by
            live = holder not in (None, session.public_id) and self._session_is_live(holder or "")
            profile.take(session.public_id, holder_live=live)
            self._save(profile)
            return profile

        profile = self._retrying(command)
        if profile.state is None:
            return None
        return self.states.get(profile.public_id, profile.state)

    def _session_is_live(self, session_id: str) -> bool:
        uuid = ids.parse_public_id(ids.SESSION, session_id)
        if uuid is None:
            return False
        try:
            return not self.get_session(uuid).is_terminal
        except NotFound:
            return False

    def _profile_held_by(self, session: Session) -> Profile | None:
        uuid = ids.parse_public_id(ids.PROFILE, session.profile_id or "")
        if uuid is None:
            return None
        try:
            profile: Aggregate = self.repository.get(uuid)
        except AggregateNotFoundError:
            return None
        if isinstance(profile, Profile) and profile.held_by == session.public_id:
            return profile
        return None

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
        return [ids.public_id(ids.ACCOUNT, e.originator_id) for e in self._births(Account)]

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

    # Profiles

    def get_profile(self, account_id: str, profile_id: str) -> Profile:
        """The account's profile; a deleted one, or another account's, is not found."""
        uuid = ids.parse_public_id(ids.PROFILE, profile_id)
        if uuid is None:
            raise NotFound("profile", profile_id)
        profile = self._get(Profile, uuid, "profile", profile_id)
        if profile.deleted or profile.account_id != account_id:
            raise NotFound("profile", profile_id)
        return profile

    def get_snapshot(self, account_id: str, snapshot_id: str) -> ProfileSnapshot:
        uuid = ids.parse_public_id(ids.SNAPSHOT, snapshot_id)
        if uuid is None:
            raise NotFound("profile snapshot", snapshot_id)
        snapshot = self._get(ProfileSnapshot, uuid, "profile snapshot", snapshot_id)
        if snapshot.deleted or snapshot.account_id != account_id:
            raise NotFound("profile snapshot", snapshot_id)
        return snapshot

    def _claim_name(self, account_id: str, name: str, profile_id: str) -> ProfileName:
        """The name's index, held for the profile; raises ProfileNameTaken when another holds it."""
        try:
            index: Aggregate = self.repository.get(ProfileName.create_id(account_id, name))
        except AggregateNotFoundError:
            return ProfileName(account_id=account_id, name=name, profile_id=profile_id)
        assert isinstance(index, ProfileName)
        index.claim(profile_id, name)
        return index

    def _name_index(self, account_id: str, name: str) -> ProfileName:
        index: Aggregate = self.repository.get(ProfileName.create_id(account_id, name))
        assert isinstance(index, ProfileName)
        return index

    def _new_profile(
        self,
        account_id: str,
        name: str,
        *,
        archetype: str,
        description: str | None,
        api_key_id: str | None,
        cloned_from: str | None = None,
        restored_from: ProfileSnapshot | None = None,
    ) -> tuple[Profile, list[Aggregate]]:
        """A new profile with its name claimed and its place under the cap taken, not yet saved.

        The account, the name index and the profile are saved together: a racing create of the
        same name, or for the last place under the cap, conflicts and re-reads.
        """
        account = self.get_account(account_id)
        profile = Profile(
            account_id=account_id,
            name=name,
            archetype=archetype,
            description=description,
            api_key_id=api_key_id,
            cloned_from=cloned_from,
            restored_from_snapshot=restored_from.public_id if restored_from else None,
            state=restored_from.state if restored_from else None,
            state_byte_size=restored_from.state_byte_size if restored_from else None,
        )
        index = self._claim_name(account_id, name, profile.public_id)
        account.take_profile_slot(profile.public_id)
        return profile, [account, index, profile]

    def create_profile(
        self, account_id: str, api_key_id: str | None, name: str, archetype: str, description: str | None
    ) -> tuple[Profile, int]:
        def command() -> tuple[Profile, int]:
            profile, aggregates = self._new_profile(
                account_id, name, archetype=archetype, description=description, api_key_id=api_key_id
            )
            return profile, self._save(*aggregates)

        return self._retrying(command)

    def clone_profile(
        self,
        account_id: str,
        api_key_id: str | None,
        source_id: str,
        name: str | None,
        archetype: str | None,
    ) -> tuple[Profile, int]:
        """A new profile with the source's archetype (unless given) and description; no browser state."""

        def command() -> tuple[Profile, int]:
            source = self.get_profile(account_id, source_id)
            for candidate in [name] if name is not None else copy_names(source.name):
                try:
                    profile, aggregates = self._new_profile(
                        account_id,
                        candidate,
                        archetype=archetype or source.archetype,
                        description=source.description,
                        api_key_id=api_key_id,
                        cloned_from=source.public_id,
                    )
                except ProfileNameTaken:
                    if name is not None:
                        raise
                    continue
                return profile, self._save(*aggregates)
            raise Conflict(
                f"'{source.name} (copy)' through '{source.name} (copy 99)' are all taken; name the clone"
            )

        return self._retrying(command)

    def update_profile(
        self,
        account_id: str,
        api_key_id: str | None,
        profile_id: str,
        name: str | None,
        description: str | Keep | None,
    ) -> tuple[Profile, int]:
        """Renames and/or redescribes; a rename moves the name index in the same atomic save."""

        def command() -> tuple[Profile, int]:
            profile = self.get_profile(account_id, profile_id)
            aggregates: list[Aggregate] = [profile]
            if name is not None and normalise(name) != normalise(profile.name):
                claimed = self._claim_name(account_id, name, profile.public_id)
                released = self._name_index(account_id, profile.name)
                released.release(profile.public_id)
                aggregates += [claimed, released]
            if not profile.edit(api_key_id, name, description):
                return profile, 0
            return profile, self._save(*aggregates)

        return self._retrying(command)

    def delete_profile(self, account_id: str, api_key_id: str | None, profile_id: str) -> int:
        """Deletes the profile, frees its name and its place under the cap, then its browser states.

        A profile a live session holds is refused (ProfileInUse): its write-back would be lost.
        """

        def command() -> int:
            profile = self.get_profile(account_id, profile_id)
            holder = profile.held_by
            profile.delete(api_key_id, holder_live=holder is not None and self._session_is_live(holder))
            index = self._name_index(account_id, profile.name)
            index.release(profile.public_id)
            account = self.get_account(account_id)
            account.free_profile_slot(profile.public_id)
            return self._save(profile, index, account)

        nid = self._retrying(command)
        self.states.keep_only(profile_id, None)
        return nid

    # Snapshots

    def capture_snapshot(
        self,
        account_id: str,
        api_key_id: str | None,
        profile_id: str,
        label: str,
        description: str | None,
    ) -> tuple[ProfileSnapshot, int]:
        """Freezes the profile's name, archetype and stored browser state under a new snapshot.

        The snapshot gets a copy of the state of its own, so it outlives the profile.
        """

        def command() -> tuple[ProfileSnapshot, int]:
            profile = self.get_profile(account_id, profile_id)
            snapshot = ProfileSnapshot(
                account_id=account_id,
                api_key_id=api_key_id,
                label=label,
                description=description,
                parent_profile_id=profile.public_id,
                parent_name=profile.name,
                parent_archetype=profile.archetype,
                parent_description=profile.description,
                state=profile.state,
                state_byte_size=profile.state_byte_size,
            )
            if profile.state is not None and not self.states.copy(
                profile.public_id, snapshot.public_id, profile.state
            ):
                raise StateMoved(f"profile {profile.public_id} saved a newer state")
            return snapshot, self._save(snapshot)

        return self._retrying(command)

    def restore_snapshot(
        self, account_id: str, api_key_id: str | None, snapshot_id: str, name: str
    ) -> tuple[Profile, int]:
        """A new profile with the snapshot's archetype, description and browser state."""

        def command() -> tuple[Profile, int]:
            snapshot = self.get_snapshot(account_id, snapshot_id)
            profile, aggregates = self._new_profile(
                account_id,
                name,
                archetype=snapshot.parent_archetype,
                description=snapshot.restored_description,
                api_key_id=api_key_id,
                restored_from=snapshot,
            )
            snapshot.record_restore(profile.public_id, api_key_id)
            if snapshot.state is not None and not self.states.copy(
                snapshot.public_id, profile.public_id, snapshot.state
            ):
                raise StateMoved(f"snapshot {snapshot.public_id} lost its state (deleted)")
            try:
                return profile, self._save(*aggregates, snapshot)
            except Exception:
                self.states.keep_only(profile.public_id, None)  # the profile never came to be
                raise

        return self._retrying(command)

    def delete_snapshot(self, account_id: str, api_key_id: str | None, snapshot_id: str) -> int:
        def command() -> int:
            snapshot = self.get_snapshot(account_id, snapshot_id)
            snapshot.delete(api_key_id)
            return self._save(snapshot)

        nid = self._retrying(command)
        self.states.keep_only(snapshot_id, None)
        return nid

    # Artifacts

    def keep_artifact(
        self, account_id: str, session_id: str, api_key_id: str | None, kind: str, data: bytes
    ) -> tuple[Artifact, int]:
        """Stores a capture's bytes, then records the artifact (bytes first: an artifact on record
        always has them)."""
        artifact = Artifact(
            account_id=account_id,
            session_id=session_id,
            api_key_id=api_key_id,
            kind=kind,
            content_type=CONTENT_TYPES[kind],
            byte_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        self.artifact_contents.put(artifact.public_id, data)
        return artifact, self._save(artifact)

    def get_artifact(self, account_id: str | None, artifact_id: str) -> Artifact:
        """The artifact (None for `account_id`: whoever holds a signed link); deleted ones are not found."""
        uuid = ids.parse_public_id(ids.ARTIFACT, artifact_id)
        if uuid is None:
            raise NotFound("artifact", artifact_id)
        artifact = self._get(Artifact, uuid, "artifact", artifact_id)
        if artifact.deleted or (account_id is not None and artifact.account_id != account_id):
            raise NotFound("artifact", artifact_id)
        return artifact

    def delete_artifact(
        self, account_id: str | None, api_key_id: str | None, artifact_id: str, reason: str
    ) -> int:
        def command() -> int:
            artifact = self.get_artifact(account_id, artifact_id)
            artifact.delete(api_key_id, reason)
            return self._save(artifact)

        nid = self._retrying(command)
        self.artifact_contents.delete(artifact_id)
        return nid

    def state_of(self, owner: Profile | ProfileSnapshot) -> dict[str, Any] | None:
        """The browser state a profile or snapshot holds (None: a fresh browser)."""
        if owner.state is None:
            return None
        return self.states.get(owner.public_id, owner.state)


__all__ = ["Driftstack", "StateMoved", "StateRef"]
