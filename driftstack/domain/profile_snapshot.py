"""The ProfileSnapshot aggregate: a frozen copy of a profile's name, archetype and browser state."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from .errors import NotFound, ValidationFailed

LABEL_MAX = 120


def check_label(label: str) -> None:
    if not label.strip():
        raise ValidationFailed("label", "must not be empty")
    if len(label) > LABEL_MAX:
        raise ValidationFailed("label", f"at most {LABEL_MAX} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in label):
        raise ValidationFailed("label", "must not contain control characters")


class ProfileSnapshot(Aggregate):
    """Never changes once captured: restoring makes a new profile, deleting ends it."""

    class Created(Aggregate.Created):
        account_id: str
        api_key_id: str | None
        label: str
        description: str | None
        parent_profile_id: str
        parent_name: str
        parent_archetype: str
        parent_description: str | None
        state: str | None
        state_byte_size: int | None

    class Restored(Aggregate.Event):
        api_key_id: str | None
        profile_id: str

    class Deleted(Aggregate.Event):
        api_key_id: str | None

    @event(Created)
    def __init__(
        self,
        account_id: str,
        api_key_id: str | None,
        label: str,
        description: str | None,
        parent_profile_id: str,
        parent_name: str,
        parent_archetype: str,
        parent_description: str | None,
        state: str | None,
        state_byte_size: int | None,
    ) -> None:
        self.account_id = account_id
        self.label = label
        self.description = description
        self.parent_profile_id = parent_profile_id
        self.parent_name = parent_name
        self.parent_archetype = parent_archetype
        self.parent_description = parent_description
        self.state = state
        self.state_byte_size = state_byte_size
        self.deleted = False

    @property
    def public_id(self) -> str:
        return f"psnap_{self.id}"

    @property
    def restored_description(self) -> str | None:
        """A restored profile is described by the snapshot, else as its parent was."""
        return self.description if self.description is not None else self.parent_description

    def record_restore(self, profile_id: str, api_key_id: str | None) -> None:
        if self.deleted:
            raise NotFound("profile snapshot", self.public_id)
        self._restored(api_key_id=api_key_id, profile_id=profile_id)

    @event(Restored)
    def _restored(self, api_key_id: str | None, profile_id: str) -> None:
        pass

    def delete(self, api_key_id: str | None) -> None:
        if self.deleted:
            raise NotFound("profile snapshot", self.public_id)
        self._deleted(api_key_id=api_key_id)

    @event(Deleted)
    def _deleted(self, api_key_id: str | None) -> None:
        self.deleted = True
