"""Webhook answers: endpoints (with and without their secret), the events sent, deliveries and attempts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from ...domain.webhook_endpoint import EVENT_TYPES
from ...webhooks.event_types import CATALOGUE, TEST_EVENT_TYPE
from ...webhooks.transport import BODY_HEAD_BYTES
from .base import Response
from .common import Page, Timestamp
from .profile_answers import Profile
from .session_answers import Count, Session, id_of
from .webhooks import DELIVERY_STATUSES, SCHEMES, DeliveryStatus, EventType, Scheme

SESSION_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t.startswith("session."))
PROFILE_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t.startswith("profile."))
assert (*SESSION_EVENT_TYPES, *PROFILE_EVENT_TYPES) == EVENT_TYPES, "each type's payload is declared"
SentType = Literal[(*EVENT_TYPES, TEST_EVENT_TYPE)]  # type: ignore[valid-type]
MessageId = Annotated[str, Field(pattern="^msg_", description="The message id: the `webhook-id` header.")]


class WebhookEndpoint(Response):
    """Where an account's events are sent."""

    id: id_of("whep", "The endpoint id.")  # type: ignore[valid-type]
    account_id: id_of("acc", "The account it belongs to.")  # type: ignore[valid-type]
    url: str
    event_types: list[EventType]
    description: str | None
    enabled: bool
    disabled_reason: Literal["gone", "failing"] | None = Field(
        description="Why Driftstack disabled it: `gone` (it answered 410), `failing` (no success for "
        "DRIFTSTACK_WEBHOOK_DISABLE_AFTER_S, 5 days by default). null when enabled or disabled by a client."
    )
    signature_scheme: Scheme = Field(description=SCHEMES)
    public_key: Annotated[str, Field(pattern="^whpk_")] | None = Field(description="`v1a`: verify with this.")
    previous_secret_expires_at: Timestamp | None = Field(
        description="After a rotation: the previous key signs too until then."
    )
    created_at: Timestamp
    updated_at: Timestamp


class NewWebhookEndpoint(WebhookEndpoint):
    """The endpoint with its new secret (create and rotate only)."""

    secret: Annotated[str, Field(pattern="^whsec_")] | None = Field(
        description="`v1`: the signing secret, shown only here and after a rotation (null for `v1a`)."
    )


class WebhookEndpointPage(Page[WebhookEndpoint]):
    """One page of webhook endpoints, newest first. Pass `next_cursor` back as `?cursor=` for the next."""


_SIGNED = (
    "Signed as sent; verify before parsing. `id` is the `webhook-id` header: the same event keeps it "
    "across retries and redeliveries."
)


class SessionEvent(Response):
    """A `session.*` event: `data` is the session as `GET /v1/sessions/:id` showed it at that moment."""

    model_config = ConfigDict(json_schema_extra={"examples": [CATALOGUE["session.completed"].example()]})

    id: MessageId
    type: Literal[SESSION_EVENT_TYPES]  # type: ignore[valid-type]
    created_at: Timestamp = Field(description="When the event happened.")
    data: Session


class ProfileEventData(Profile):
    """The profile as `GET /v1/profiles/:id` showed it, with its account."""

    account_id: id_of("acc", "The account it belongs to.")  # type: ignore[valid-type]


class ProfileEvent(Response):
    """A `profile.*` event: `data` is the profile as it was, with its `account_id`."""

    model_config = ConfigDict(json_schema_extra={"examples": [CATALOGUE["profile.created"].example()]})

    id: MessageId
    type: Literal[PROFILE_EVENT_TYPES]  # type: ignore[valid-type]
    created_at: Timestamp = Field(description="When the event happened.")
    data: ProfileEventData


class Ping(Response):
    """What a test ping carries."""

    endpoint_id: id_of("whep", "The endpoint pinged.")  # type: ignore[valid-type]
    message: str


class PingEvent(Response):
    """The `webhook.test` ping `POST /v1/webhooks/:id/test` sends."""

    id: MessageId
    type: Literal[TEST_EVENT_TYPE]  # type: ignore[valid-type]
    created_at: Timestamp = Field(description="When the ping was sent.")
    data: Ping


WebhookEvent = Annotated[
    SessionEvent | ProfileEvent | PingEvent,
    Field(description=f"The body of every delivery. {_SIGNED}", discriminator="type"),
]


class WebhookEventType(Response):
    """A type a delivery can carry."""

    type: SentType
    description: str
    subscribable: bool = Field(
        description=f"Whether `event_types` may name it: false only for `{TEST_EVENT_TYPE}`, the test ping."
    )
    example: WebhookEvent


class WebhookEventTypeList(Response):
    """Every subscribable type, then the test ping."""

    data: list[WebhookEventType]


class WebhookAttempt(Response):
    """One try at sending a delivery."""

    attempted_at: Timestamp
    response_status: int | None = Field(description="null: no HTTP answer.")
    duration_ms: Count
    response_body: str | None = Field(description=f"The first {BODY_HEAD_BYTES} bytes of the answer.")
    error: str | None = Field(description="Timeout, refused address, connection failure…")


class WebhookDelivery(Response):
    """One message for one endpoint, with every attempt so far."""

    id: id_of("dlv", "The delivery id.")  # type: ignore[valid-type]
    endpoint_id: id_of("whep", "The endpoint.")  # type: ignore[valid-type]
    message_id: MessageId
    event_type: SentType
    status: DeliveryStatus = Field(
        description="`pending` (due at `next_attempt_at`), `delivering` (an attempt under way), "
        "`succeeded` (a 2xx answer), `failed` (every scheduled attempt failed; redeliver to try again), "
        "`cancelled` (the endpoint was deleted)."
    )
    attempt_count: Count
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    created_at: Timestamp
    payload: WebhookEvent
    attempts: list[WebhookAttempt]


assert DeliveryStatus.__args__ == DELIVERY_STATUSES  # type: ignore[attr-defined]


class WebhookDeliveryPage(Page[WebhookDelivery]):
    """One page of deliveries, newest first. Pass `next_cursor` back as `?cursor=` for the next."""
