"""The Artifact aggregate: one kept capture of a session. Its bytes live beside the events, sealed."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from . import ids

# What each capture kind is served as.
CONTENT_TYPES = {
    "screenshot": "image/png",
    "pdf": "application/pdf",
    "dom_snapshot": "text/html; charset=utf-8",
}


class Artifact(Aggregate):
    """Created with its bytes stored; deleted by a client or when its retention passes."""

    class Created(Aggregate.Created):
        account_id: str
        session_id: str
        api_key_id: str | None
        kind: str
        content_type: str
        byte_size: int
        sha256: str

    class Deleted(Aggregate.Event):
        api_key_id: str | None
        reason: str  # client_request | retention

    @event(Created)
    def __init__(
        self,
        account_id: str,
        session_id: str,
        api_key_id: str | None,
        kind: str,
        content_type: str,
        byte_size: int,
        sha256: str,
    ) -> None:
        self.account_id = account_id
        self.session_id = session_id
        self.kind = kind
        self.content_type = content_type
        self.byte_size = byte_size
        self.sha256 = sha256
        self.deleted = False

    @property
    def public_id(self) -> str:
        return ids.public_id(ids.ARTIFACT, self.id)

    def delete(self, api_key_id: str | None, reason: str) -> bool:
        """False when it was already deleted (a delete is idempotent)."""
        if self.deleted:
            return False
        self._deleted(api_key_id=api_key_id, reason=reason)
        return True

    @event(Deleted)
    def _deleted(self, api_key_id: str | None, reason: str) -> None:
        self.deleted = True
