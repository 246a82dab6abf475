"""The name index: one aggregate per (account, normalised name), so a name is held by one profile."""

from __future__ import annotations

import unicodedata
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import ProfileNameTaken

# The ids of every stored index derive from this: never change it.
NAMESPACE = UUID("5f0c3a6e-2d41-4d8e-9b61-7a3f0e9c1d24")


def normalise(name: str) -> str:
    """Names that read the same are the same name: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


class ProfileName(Aggregate):
    """Whoever holds the name. Two creates of a new name both append this aggregate's first event
    under the same id: the event store's primary key lets exactly one of them win."""

    class Created(Aggregate.Created):
        account_id: str
        name: str
        profile_id: str

    class Claimed(Aggregate.Event):
        profile_id: str

    class Released(Aggregate.Event):
        profile_id: str

    @staticmethod
    def create_id(account_id: str, name: str) -> UUID:
        return uuid5(NAMESPACE, f"{account_id}/{normalise(name)}")

    @event(Created)
    def __init__(self, account_id: str, name: str, profile_id: str) -> None:
        self.account_id = account_id
        self.name = name
        self.holder: str | None = profile_id

    def claim(self, profile_id: str, name: str) -> None:
        if self.holder == profile_id:
            return
        if self.holder is not None:
            raise ProfileNameTaken(name)
        self._claimed(profile_id=profile_id)

    @event(Claimed)
    def _claimed(self, profile_id: str) -> None:
        self.holder = profile_id

    def release(self, profile_id: str) -> None:
        if self.holder == profile_id:
            self._released(profile_id=profile_id)

    @event(Released)
    def _released(self, profile_id: str) -> None:
        self.holder = None
