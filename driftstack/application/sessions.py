"""Session commands: creating, updating and ending sessions, and the profile a session holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ..domain import ids
from ..domain.account import Account
from ..domain.profile import Profile
from ..domain.session import Session
from .commands import Commands


class SessionCommands(Commands):
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        # The live sessions this process writes, as it last saved them. A session's events come from
        # the node running its browser, one after another, so its next change needs no read of the
        # store: only another writer's event (a destroy on another node) makes the copy stale, and
        # then the save conflicts and the change is made again on the stream read afresh.
        self._written: dict[UUID, Session] = {}

    def _session_to_change(self, uuid: UUID) -> Session:
        """The session as this process last saved it, else read from the store. Taken out while it is
        changed, so a failed change or save (the copy may hold an event never stored) is forgotten."""
        return self._written.pop(uuid, None) or self.get_session(uuid)

    def _saved_session(self, session: Session) -> None:
        if not session.is_terminal:
            self._written[session.id] = session

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
            nid = self._save(account, session)
            self._saved_session(deepcopy(session))  # the caller's copy is its own
            return session, nid

        return self._retrying(command)

    def update_session(self, uuid: UUID, change: Callable[[Session], object]) -> int:
        """Applies one recorded fact to a live session (ready, an action, a failure)."""

        def command() -> int:
            session = self._session_to_change(uuid)
            change(session)
            nid = self._save(session)
            self._saved_session(session)
            return nid

        return self._retrying(command)

    def update_sessions(
        self, changes: list[tuple[UUID, Callable[[Session], object]]]
    ) -> list[int | Exception]:
        """Applies one fact to each of several sessions and stores them all in one transaction (a group
        commit: what waits to be stored at the same moment costs one commit). Each answer is the batch's
        notification id, or the error its change raised (a session ended meanwhile: left out of the save)."""

        def command() -> list[int | Exception]:
            sessions: list[Session] = []
            refused: dict[int, Exception] = {}
            for i, (uuid, change) in enumerate(changes):
                try:
                    session = self._session_to_change(uuid)
                    change(session)
                except Exception as e:  # noqa: BLE001  (that change's own answer, handed back to it)
                    refused[i] = e
                    continue
                sessions.append(session)
            nid = self._save(*sessions) if sessions else 0
            for session in sessions:
                self._saved_session(session)
            return [refused.get(i, nid) for i in range(len(changes))]

        return self._retrying(command)

    def end_session(
        self, uuid: UUID, end: Callable[[Session], bool], state: dict[str, Any] | None = None
    ) -> int:
        """Destroys or fails a session, frees its slot and releases its profile in one atomic save.

        `state` is the browser state read before the browser closed; it becomes the profile's
        state. None (a crashed browser) keeps the profile's previous state.
        """

        def command() -> tuple[int, Profile | None]:
            self._written.pop(uuid, None)  # an end is rare: read from the store, whoever wrote last
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

    def _accounts_with_live_sessions(self) -> list[str]:
        # Every account stream's id; read from the event store itself, not a view, so a
        # restart never trusts a view that may still be catching up.
        return [ids.public_id(ids.ACCOUNT, e.originator_id) for e in self._births(Account)]
