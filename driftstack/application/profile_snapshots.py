"""Profile snapshot commands: capturing a profile, restoring a snapshot as a new profile, deleting."""

from __future__ import annotations

from ..domain import ids
from ..domain.errors import NotFound
from ..domain.profile import Profile
from ..domain.profile_snapshot import ProfileSnapshot
from .commands import StateMoved
from .profiles import ProfileCommands


class SnapshotCommands(ProfileCommands):
    """Builds on the profile commands: a restore creates a profile as a create does."""

    def get_snapshot(self, account_id: str, snapshot_id: str) -> ProfileSnapshot:
        uuid = ids.parse_public_id(ids.SNAPSHOT, snapshot_id)
        if uuid is None:
            raise NotFound("profile snapshot", snapshot_id)
        snapshot = self._get(ProfileSnapshot, uuid, "profile snapshot", snapshot_id)
        if snapshot.deleted or snapshot.account_id != account_id:
            raise NotFound("profile snapshot", snapshot_id)
        return snapshot

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
