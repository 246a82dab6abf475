"""The catalogue of webhook event types: what each one means, and an example of what it sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..domain.archetypes import DEFAULT_ARCHETYPE
from ..domain.webhook_endpoint import EVENT_TYPES
from ..projections.sessions import new_session_document
from .outbox import message_body, message_id

# Sent by POST /v1/webhooks/:id/test to that one endpoint, whatever it subscribes to; listed in the
# catalogue (a receiver must know it) but not subscribable: nothing but that route sends it.
TEST_EVENT_TYPE = "webhook.test"

_EXAMPLE_ID = UUID("0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f")
_CREATED = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    example_data: dict[str, Any]
    subscribable: bool = True

    def example(self) -> dict[str, Any]:
        at = {
            "session.created": _CREATED,
            "session.ready": datetime(2026, 5, 12, 12, 0, 1, tzinfo=UTC),
        }.get(self.name, datetime(2026, 5, 12, 12, 5, tzinfo=UTC))
        body = message_body(message_id(_EXAMPLE_ID, 1), self.name, at, self.example_data)
        example: dict[str, Any] = json.loads(body)
        return example


def _session(**changes: Any) -> dict[str, Any]:
    doc = new_session_document(
        session_id=_EXAMPLE_ID,
        account_id=f"acc_{_EXAMPLE_ID}",
        api_key_id=f"key_{_EXAMPLE_ID}",
        archetype=DEFAULT_ARCHETYPE,
        purpose="production_customer",
        label="login flow",
        metadata={"ticket": "SUP-42"},
        behavioral_profile=None,
        profile_id=None,
        created_at=_CREATED,
    )
    return {**doc, **changes}


def _profile() -> dict[str, Any]:
    return {
        "id": f"prof_{_EXAMPLE_ID}",
        "account_id": f"acc_{_EXAMPLE_ID}",
        "name": "production",
        "archetype": DEFAULT_ARCHETYPE,
        "description": "primary prod-data scrape profile",
        "last_used_at": None,
        "created_at": "2026-05-12T12:05:00.000Z",
        "updated_at": "2026-05-12T12:05:00.000Z",
    }


_READY = "2026-05-12T12:00:01.000Z"
_ENDED = "2026-05-12T12:05:00.000Z"
_DRIVEN = {"current_url": "https://example.com/", "title": "Example Domain", "action_count": 3}

CATALOGUE: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "session.created",
            "A session was created; its browser is starting (`status: creating`).",
            _session(),
        ),
        EventType(
            "session.ready",
            "A session's browser is up and takes actions (`status: ready`).",
            _session(status="ready", updated_at=_READY),
        ),
        EventType(
            "session.completed",
            "A session ended normally (`status: destroyed`): destroyed by a client, after its idle "
            "timeout, or when the service stopped. `data.reason` says which.",
            _session(
                status="destroyed",
                reason="client_request",
                updated_at=_ENDED,
                last_state_at="2026-05-12T12:04:00.000Z",
                destroyed_at=_ENDED,
                **_DRIVEN,
            ),
        ),
        EventType(
            "session.failed",
            "A session ended abnormally (`status: errored`): its browser could not start or "
            "crashed, or its node restarted. `data.reason` says which.",
            _session(status="errored", reason="browser_crashed", updated_at=_ENDED, destroyed_at=_ENDED),
        ),
        EventType(
            "profile.created",
            "A profile was created: by `POST /v1/profiles`, a clone or a snapshot restore.",
            _profile(),
        ),
        EventType(
            "profile.deleted",
            "A profile was deleted; `data` is the profile as it was.",
            _profile(),
        ),
    )
}
assert tuple(CATALOGUE) == EVENT_TYPES, "every subscribable type has an entry, in the domain's order"


def ping_data(endpoint_id: str) -> dict[str, Any]:
    """What a `webhook.test` carries: the example below and the test route both read it here."""
    return {"endpoint_id": endpoint_id, "message": "A test delivery from Driftstack."}


PING = EventType(
    TEST_EVENT_TYPE,
    "A test ping, sent only by `POST /v1/webhooks/:id/test`, at once, to that one endpoint, whether "
    "or not it subscribes to anything; an endpoint cannot subscribe to it.",
    ping_data(f"whep_{_EXAMPLE_ID}"),
    subscribable=False,
)


def catalogue_document() -> list[dict[str, Any]]:
    """Every type a delivery can carry: the subscribable ones, then the test ping."""
    return [
        {"type": t.name, "description": t.description, "subscribable": t.subscribable, "example": t.example()}
        for t in (*CATALOGUE.values(), PING)
    ]
