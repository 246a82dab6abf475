"""The Account aggregate: tier, caps, team members, and the slots its live sessions hold."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from .errors import ConcurrencyLimitReached, ValidationFailed
from .tiers import ENTERPRISE_DEFAULT_CONCURRENCY, TIERS

ROLES = ("member", "admin")


class Account(Aggregate):
    """An account owns sessions; its stream is where the concurrency cap is enforced.

    Taking a slot appends to this stream, so two creates racing for the last slot
    conflict on the account's version and the loser re-reads the cap.
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
