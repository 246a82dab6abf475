"""Profile answers: the profile resource, the snapshot resource, and their pages."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...domain.profile import DESCRIPTION_MAX, NAME_MAX
from ...domain.profile_snapshot import LABEL_MAX
from ...projections.profiles import PROFILE_FIELDS, SNAPSHOT_FIELDS
from .base import Response
from .common import Page, Timestamp
from .session_answers import Slug, id_of

Description = Annotated[str, Field(max_length=DESCRIPTION_MAX)]


class Profile(Response):
    """A persistent browser identity. Its browser state is not exposed."""

    id: id_of("prof", "The profile id.")  # type: ignore[valid-type]
    name: Annotated[str, Field(max_length=NAME_MAX)]
    archetype: Slug = Field(description="Sticky for life.")
    description: Description | None
    last_used_at: Timestamp | None = Field(description="When a session last started on it; null until then.")
    created_at: Timestamp
    updated_at: Timestamp


class ProfileSnapshot(Response):
    """An immutable copy of a profile's name, archetype and browser state."""

    id: id_of("psnap", "The snapshot id.")  # type: ignore[valid-type]
    parent_profile_id: id_of("prof", "The profile it was taken of.") | None = Field(  # type: ignore[valid-type]
        description="The profile it was taken of; null once that profile is deleted."
    )
    parent_name: str = Field(description="The parent's name at capture.")
    parent_archetype: str = Field(description="The parent's archetype at capture.")
    label: Annotated[str, Field(max_length=LABEL_MAX)]
    description: Description | None
    captured_at: Timestamp


assert (
    tuple(Profile.model_fields) == PROFILE_FIELDS and tuple(ProfileSnapshot.model_fields) == SNAPSHOT_FIELDS
)


class ProfilePage(Page[Profile]):
    """One page of profiles, newest first. Pass `next_cursor` back as `?cursor=` for the next."""


class ProfileSnapshotPage(Page[ProfileSnapshot]):
    """One page of snapshots, newest first. Pass `next_cursor` back as `?cursor=` for the next."""
