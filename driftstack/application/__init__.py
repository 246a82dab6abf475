"""The application: every command that changes Driftstack, and the only writer of events."""

from __future__ import annotations

from ..browser_states import StateRef
from ..domain.account import Account
from ..domain.profile import Profile
from .accounts import AccountCommands
from .api_keys import ApiKeyCommands
from .artifacts import ArtifactCommands
from .commands import StateMoved
from .profile_snapshots import SnapshotCommands
from .profiles import ProfileCommands
from .sessions import SessionCommands
from .webhook_endpoints import WebhookEndpointCommands


class Driftstack(
    AccountCommands,
    ApiKeyCommands,
    SessionCommands,
    WebhookEndpointCommands,
    SnapshotCommands,  # before ProfileCommands, which it builds on
    ProfileCommands,
    ArtifactCommands,
):
    """Commands are synchronous (eventsourcing is); the HTTP layer calls them off the event loop.

    Each command returns the notification id of its last stored event, so a reader can
    wait for a view to reach it (read-your-writes).
    """

    # eventsourcing names every subclass after itself unless told (the mixins are "AccountCommands"
    # and so on); this name prefixes the event store's tables and the env, so it must not change.
    name = "driftstack"
    # Accounts gain two events per session (slot taken, slot freed), profiles two or three
    # (taken, state saved, released): snapshot them.
    snapshotting_intervals = {Account: 100, Profile: 100}  # noqa: RUF012  (eventsourcing's own ClassVar)


__all__ = ["Driftstack", "StateMoved", "StateRef"]
