"""Domain errors: each carries the facts a caller needs to answer a client."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses."""


class NotFound(DomainError):
    def __init__(self, resource: str, resource_id: str) -> None:
        super().__init__(f"{resource} {resource_id} not found")
        self.resource = resource
        self.resource_id = resource_id


class SessionGone(DomainError):
    """The session is destroyed or errored and takes no further action."""

    def __init__(self, session_id: str, status: str, reason: str | None) -> None:
        super().__init__(f"session {session_id} is {status}" + (f" ({reason})" if reason else ""))
        self.session_id = session_id
        self.status = status
        self.reason = reason


class SessionTimedOut(SessionGone):
    """The session was destroyed because it sat idle past its tier's idle timeout."""


class ConcurrencyLimitReached(DomainError):
    def __init__(self, limit: int, current: int, tier: str) -> None:
        super().__init__(f"{current} of {limit} concurrent sessions are in use on tier {tier}")
        self.limit = limit
        self.current = current
        self.tier = tier


class ValidationFailed(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(DomainError):
    pass


class ProvisioningFailed(DomainError):
    """The browser for a session could not be started."""


class TierLimitReached(DomainError):
    """A cap of the account's tier other than concurrency (the profile cap) is reached."""

    def __init__(self, resource: str, limit: int, current: int, tier: str) -> None:
        super().__init__(f"{current} of {limit} {resource}s allowed on tier {tier} exist")
        self.resource = resource
        self.limit = limit
        self.current = current
        self.tier = tier


class ProfileNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"a profile named '{name}' already exists in this account")
        self.name = name


class ProfileInUse(Conflict):
    """A live session holds the profile; it cannot be deleted under it."""

    def __init__(self, profile_id: str, session_id: str) -> None:
        super().__init__(f"profile {profile_id} is in use by session {session_id}; destroy the session first")
        self.profile_id = profile_id
        self.session_id = session_id
