"""The Profile aggregate: a persistent browser identity, its field rules, and the session holding it."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Final

from eventsourcing.domain import Aggregate, event

from .errors import ProfileInUse, ValidationFailed

NAME_MAX = 64
DESCRIPTION_MAX = 2048
COPY_LIMIT = 99  # auto-derived clone names stop at "(copy 99)"

# Whitespace, control and invisible formatting characters: names are handles people type and read.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


class Keep:
    """The value of a PATCH field the client did not send (distinct from an explicit null)."""


KEEP: Final = Keep()


def check_name(name: str) -> None:
    """The rule for a name a client chooses: 1 to 64 characters, no whitespace or control characters."""
    if not name:
        raise ValidationFailed("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise ValidationFailed("name", f"at most {NAME_MAX} characters")
    if any(c.isspace() or unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name):
        raise ValidationFailed("name", "must not contain whitespace or control characters")


def check_description(description: str | None) -> None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise ValidationFailed("description", f"at most {DESCRIPTION_MAX} characters")


def copy_names(source: str) -> Iterator[str]:
    """`NAME (copy)`, `NAME (copy 2)` … `NAME (copy 99)`: the names a clone without one may take.

    The server writes these, so the space the seed's format has is allowed here; the base is
    shortened when needed to keep every candidate within the length rule.
    """
    for n in range(1, COPY_LIMIT + 1):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        yield source[: NAME_MAX - len(suffix)] + suffix


class ProfileBusy(Exception):
    """Another live session holds the profile (not a client error: the session waits)."""

    def __init__(self, profile_id: str, holder: str) -> None:
        super().__init__(f"profile {profile_id} is held by session {holder}")
        self.profile_id = profile_id
        self.holder = holder


class Profile(Aggregate):
    """A named browser identity; its archetype never changes, and at most one live session holds it.

    The holder is recorded in the stream (taken, released) so every process sees it and two
    sessions racing for the profile conflict on its version.
    """

    class Created(Aggregate.Created):
        account_id: str
        name: str
        archetype: str
        description: str | None
        api_key_id: str | None
        cloned_from: str | None
        restored_from_snapshot: str | None
        state: str | None  # the digest of the browser state it starts with (restored ones)
        state_byte_size: int | None

    class Updated(Aggregate.Event):
        api_key_id: str | None
        name: str
        description: str | None
        previous_name: str

    class Taken(Aggregate.Event):
        """A session started on the profile and holds it until it ends (its `last_used_at`)."""

        session_id: str

    class StateSaved(Aggregate.Event):
        session_id: str
        state: str
        byte_size: int

    class Released(Aggregate.Event):
        session_id: str

    class Deleted(Aggregate.Event):
        api_key_id: str | None
        name: str

    @event(Created)
    def __init__(
        self,
        account_id: str,
        name: str,
        archetype: str,
        description: str | None,
        api_key_id: str | None,
        cloned_from: str | None,
        restored_from_snapshot: str | None,
        state: str | None,
        state_byte_size: int | None,
    ) -> None:
        self.account_id = account_id
        self.name = name
        self.archetype = archetype
        self.description = description
        self.state = state
        self.state_byte_size = state_byte_size
        self.held_by: str | None = None
        self.deleted = False

    @property
    def public_id(self) -> str:
        return f"prof_{self.id}"

    def edit(self, api_key_id: str | None, name: str | None, description: str | Keep | None) -> bool:
        """Renames and/or redescribes; True when anything changed (the archetype never does)."""
        new_name = self.name if name is None else name
        new_description = self.description if isinstance(description, Keep) else description
        if (new_name, new_description) == (self.name, self.description):
            return False
        self._updated(
            api_key_id=api_key_id, name=new_name, description=new_description, previous_name=self.name
        )
        return True

    @event(Updated)
    def _updated(
        self, api_key_id: str | None, name: str, description: str | None, previous_name: str
    ) -> None:
        self.name = name
        self.description = description

    def take(self, session_id: str, *, holder_live: bool) -> None:
        """Holds the profile for a session; a holder that has ended no longer counts."""
        if self.held_by == session_id:
            return
        if self.held_by is not None and holder_live:
            raise ProfileBusy(self.public_id, self.held_by)
        self._taken(session_id=session_id)

    @event(Taken)
    def _taken(self, session_id: str) -> None:
        self.held_by = session_id

    def release(self, session_id: str, state: str | None, byte_size: int | None) -> bool:
        """The session ended: keeps the state it wrote back (None: keep the previous one)."""
        if self.held_by != session_id:
            return False  # never held, or taken over after it ended: its state is not the profile's
        if state is not None and byte_size is not None:
            self._state_saved(session_id=session_id, state=state, byte_size=byte_size)
        self._released(session_id=session_id)
        return True

    @event(StateSaved)
    def _state_saved(self, session_id: str, state: str, byte_size: int) -> None:
        self.state = state
        self.state_byte_size = byte_size

    @event(Released)
    def _released(self, session_id: str) -> None:
        self.held_by = None

    def delete(self, api_key_id: str | None, *, holder_live: bool) -> None:
        if self.held_by is not None and holder_live:
            raise ProfileInUse(self.public_id, self.held_by)
        self._deleted(api_key_id=api_key_id, name=self.name)

    @event(Deleted)
    def _deleted(self, api_key_id: str | None, name: str) -> None:
        self.deleted = True
        self.held_by = None
