"""Profile commands: creating, cloning, renaming and deleting profiles, with their name index."""

from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ..domain.errors import Conflict, ProfileNameTaken
from ..domain.profile import Keep, Profile, copy_names
from ..domain.profile_name import ProfileName, normalise
from ..domain.profile_snapshot import ProfileSnapshot
from .commands import Commands


class ProfileCommands(Commands):
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
