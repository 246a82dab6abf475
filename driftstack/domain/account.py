"""The Account aggregate: tier, caps, team members, and the slots its live sessions and profiles hold."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from .errors import ConcurrencyLimitReached, TierLimitReached, ValidationFailed
from .tiers import ENTERPRISE_DEFAULT_CONCURRENCY, TIERS

ROLES = ("member", "admin")


class Account(Aggregate):
    """An account owns sessions; its stream is where the concurrency cap is enforced.

    Taking a slot appends to this stream, so two creates racing for the last slot
    conflict on the account's version and the loser re-reads the cap. Profiles count
    against the profile cap the same way.
    """

    class Created(Aggregate.Created):
        name: str
        tier: str
        concurrency: int
        profile_cap: int | None

    class MemberAdded(Aggregate.Event):
        member_account_id: str
        role: str

    class SessionSlotTaken(Aggregate.Event):
        session_id: str

    class SessionSlotFreed(Aggregate.Event):
        session_id: str

    class ProfileSlotTaken(Aggregate.Event):
        profile_id: str

    class ProfileSlotFreed(Aggregate.Event):
        profile_id: str

    @event(Created)
    def __init__(self, name: str, tier: str, concurrency: int, profile_cap: int | None) -> None:
        self.name = name
        self.tier = tier
        self.concurrency = concurrency
        self.profile_cap = profile_cap
        self.members: dict[str, str] = {}
        self.live_sessions: dict[str, bool] = {}

    @classmethod
    def open(
        cls,
        name: str,
        tier: str,
        concurrency: int | None = None,
        profile_cap: int | None = None,
    ) -> Account:
        if tier not in TIERS:
            raise ValidationFailed("tier", f"one of {', '.join(TIERS)}")
        if not name.strip():
            raise ValidationFailed("name", "must not be empty")
        defaults = TIERS[tier]
        if concurrency is None:
            concurrency = defaults.concurrency or ENTERPRISE_DEFAULT_CONCURRENCY
        if profile_cap is None:
            profile_cap = defaults.profile_cap
        if concurrency < 1:
            raise ValidationFailed("concurrency", "at least 1")
        return cls(name=name, tier=tier, concurrency=concurrency, profile_cap=profile_cap)

    def add_member(self, member_account_id: str, role: str) -> None:
        if role not in ROLES:
            raise ValidationFailed("role", "member or admin")
        if self.members.get(member_account_id) == role:
            return
        self._member_added(member_account_id=member_account_id, role=role)

    @event(MemberAdded)
    def _member_added(self, member_account_id: str, role: str) -> None:
        self.members[member_account_id] = role

    def take_session_slot(self, session_id: str) -> None:
        current = len(self.live_sessions)
        if current >= self.concurrency:
            raise ConcurrencyLimitReached(limit=self.concurrency, current=current, tier=self.tier)
        self._session_slot_taken(session_id=session_id)

    @event(SessionSlotTaken)
    def _session_slot_taken(self, session_id: str) -> None:
        self.live_sessions[session_id] = True

    def free_session_slot(self, session_id: str) -> None:
        if session_id in self.live_sessions:
            self._session_slot_freed(session_id=session_id)

    @event(SessionSlotFreed)
    def _session_slot_freed(self, session_id: str) -> None:
        self.live_sessions.pop(session_id, None)

    @property
    def profiles(self) -> dict[str, bool]:
        # Accounts snapshotted before profiles existed have no such attribute: they had none.
        profiles: dict[str, bool] = self.__dict__.setdefault("profile_ids", {})
        return profiles

    def take_profile_slot(self, profile_id: str) -> None:
        current = len(self.profiles)
        if self.profile_cap is not None and current >= self.profile_cap:
            raise TierLimitReached("profile", limit=self.profile_cap, current=current, tier=self.tier)
        self._profile_slot_taken(profile_id=profile_id)

    @event(ProfileSlotTaken)
    def _profile_slot_taken(self, profile_id: str) -> None:
        self.profiles[profile_id] = True

    def free_profile_slot(self, profile_id: str) -> None:
        if profile_id in self.profiles:
            self._profile_slot_freed(profile_id=profile_id)

    @event(ProfileSlotFreed)
    def _profile_slot_freed(self, profile_id: str) -> None:
        self.profiles.pop(profile_id, None)
