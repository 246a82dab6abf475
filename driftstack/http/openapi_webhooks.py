"""The webhook part of the OpenAPI document: the /v1/webhooks routes, their schemas, and the webhooks sent."""

from __future__ import annotations

from typing import Any

from ..domain.webhook_endpoint import EVENT_TYPES, MAX_DESCRIPTION, MAX_URL, SIGNATURE_SCHEMES
from ..webhooks.event_types import CATALOGUE, TEST_EVENT_TYPE
from ..webhooks.transport import BODY_HEAD_BYTES
from .openapi_operations import json_answer, no_content, operation, param
from .openapi_schemas import Schema, _body, _page_of, or_null, public_id, ref
from .pagination import MAX_LIMIT
from .webhooks import DELIVERY_STATUSES

_SCHEMES = (
    "`v1` (default): HMAC-SHA256 with a `whsec_` secret shown once. `v1a`: Ed25519; the private key "
    "stays on the server and the endpoint shows its `whpk_` public key."
)


def _event_types(description: str) -> Schema:
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(EVENT_TYPES)},
        "minItems": 1,
        "description": description,
    }


def _url() -> Schema:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_URL,
        "pattern": "^https?://",
        "description": "Where deliveries are POSTed: an `https://` or `http://` URL whose host is a public "
        "address (loopback, private, link-local and metadata addresses answer 400 unless the operator sets "
        "`DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE`; checked again on every connection).",
    }


def _request_schemas() -> dict[str, Schema]:
    description = or_null({"type": "string", "maxLength": MAX_DESCRIPTION})
    return {
        "CreateWebhookEndpoint": _body(
            "CreateWebhookEndpoint",
            {
                "url": _url(),
                "event_types": _event_types("What to send (see `GET /v1/webhooks/event-types`)."),
                "description": description,
                "enabled": or_null({"type": "boolean", "default": True}),
                "signature_scheme": or_null(
                    {
                        "type": "string",
                        "enum": list(SIGNATURE_SCHEMES),
                        "default": "v1",
                        "description": _SCHEMES,
                    }
                ),
            },
            required=("url", "event_types"),
        ),
        "UpdateWebhookEndpoint": {
            **_body(
                "UpdateWebhookEndpoint",
                {
                    "url": _url(),
                    "event_types": _event_types("Replaces the list."),
                    "description": description,
                    "enabled": {
                        "type": "boolean",
                        "description": "`true` also clears `disabled_reason` and the days without success.",
                    },
                },
            ),
            "minProperties": 1,
        },
        "RotateWebhookSecret": _body(
            "RotateWebhookSecret",
            {
                "signature_scheme": or_null(
                    {
                        "type": "string",
                        "enum": list(SIGNATURE_SCHEMES),
                        "description": "Switch scheme with the rotation (default: keep the current one).",
                    }
                )
            },
        ),
        "NoFields": _body("NoFields", {}),
    }


def _endpoint_properties() -> dict[str, Schema]:
    timestamp = ref("Timestamp")
    return {
        "id": public_id("whep", "The endpoint id."),
        "account_id": public_id("acc", "The account it belongs to."),
        "url": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
        "description": or_null({"type": "string"}),
        "enabled": {"type": "boolean"},
        "disabled_reason": or_null(
            {
                "type": "string",
                "enum": ["gone", "failing"],
                "description": "Why Driftstack disabled it: `gone` (it answered 410), `failing` (no success "
                "for DRIFTSTACK_WEBHOOK_DISABLE_AFTER_S, 5 days by default). null when enabled or disabled "
                "by a client.",
            }
        ),
        "signature_scheme": {"type": "string", "enum": list(SIGNATURE_SCHEMES), "description": _SCHEMES},
        "public_key": or_null(
            {"type": "string", "pattern": "^whpk_", "description": "`v1a`: verify with this."}
        ),
        "previous_secret_expires_at": or_null(
            {**timestamp, "description": "After a rotation: the previous key signs too until then."}
        ),
        "created_at": timestamp,
        "updated_at": timestamp,
    }


def _object(description: str, properties: dict[str, Schema]) -> Schema:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _event_schema() -> Schema:
    examples = [t.example() for t in CATALOGUE.values()]
    return {
        "type": "object",
        "description": "The body of every delivery (signed as sent; verify before parsing). `id` is the "
        "`webhook-id` header: the same event keeps it across retries and redeliveries.",
        "properties": {
            "id": {"type": "string", "pattern": "^msg_", "description": "The message id."},
            "type": {"type": "string", "enum": [*EVENT_TYPES, TEST_EVENT_TYPE]},
            "created_at": {**ref("Timestamp"), "description": "When the event happened."},
            "data": {
                "type": "object",
                "description": "`session.*`: the session as `GET /v1/sessions/:id` showed it at that moment "
                "(with `metadata`, `status` and `reason`); `profile.*`: the profile as "
                "`GET /v1/profiles/:id` showed it, with its `account_id`.",
            },
        },
        "required": ["id", "type", "created_at", "data"],
        "additionalProperties": False,
        "examples": examples[:2],
    }


def schemas() -> dict[str, Schema]:
    endpoint = _endpoint_properties()
    secret = or_null(
        {
            "type": "string",
            "pattern": "^whsec_",
            "description": "`v1`: the signing secret, shown only here and after a rotation (null for `v1a`).",
        }
    )
    maybe_timestamp = or_null(ref("Timestamp"))
    return {
        **_request_schemas(),
        "WebhookEndpoint": _object("Where an account's events are sent.", endpoint),
        "NewWebhookEndpoint": _object(
            "The endpoint with its new secret (create and rotate only).", {**endpoint, "secret": secret}
        ),
        "WebhookEndpointPage": _page_of("WebhookEndpoint", "webhook endpoints"),
        "WebhookEvent": _event_schema(),
        "WebhookEventType": _object(
            "A type an endpoint can subscribe to.",
            {
                "type": {"type": "string", "enum": list(EVENT_TYPES)},
                "description": {"type": "string"},
                "example": ref("WebhookEvent"),
            },
        ),
        "WebhookEventTypeList": _object(
            "Every subscribable type.",
            {"data": {"type": "array", "items": ref("WebhookEventType")}},
        ),
        "WebhookAttempt": _object(
            "One try at sending a delivery.",
            {
                "attempted_at": ref("Timestamp"),
                "response_status": or_null({"type": "integer", "description": "null: no HTTP answer."}),
                "duration_ms": {"type": "integer", "minimum": 0},
                "response_body": or_null(
                    {"type": "string", "description": f"The first {BODY_HEAD_BYTES} bytes of the answer."}
                ),
                "error": or_null(
                    {"type": "string", "description": "Timeout, refused address, connection failure…"}
                ),
            },
        ),
        "WebhookDelivery": _object(
            "One message for one endpoint, with every attempt so far.",
            {
                "id": public_id("dlv", "The delivery id."),
                "endpoint_id": public_id("whep", "The endpoint."),
                "message_id": {"type": "string", "pattern": "^msg_", "description": "The `webhook-id`."},
                "event_type": {"type": "string", "enum": [*EVENT_TYPES, TEST_EVENT_TYPE]},
                "status": {
                    "type": "string",
                    "enum": list(DELIVERY_STATUSES),
                    "description": "`pending` (due at `next_attempt_at`), `delivering` (an attempt under "
                    "way), `succeeded` (a 2xx answer), `failed` (every scheduled attempt failed; redeliver "
                    "to try again), `cancelled` (the endpoint was deleted).",
                },
                "attempt_count": {"type": "integer", "minimum": 0},
                "next_attempt_at": maybe_timestamp,
                "last_attempt_at": maybe_timestamp,
                "created_at": ref("Timestamp"),
                "payload": ref("WebhookEvent"),
                "attempts": {"type": "array", "items": ref("WebhookAttempt")},
            },
        ),
        "WebhookDeliveryPage": _page_of("WebhookDelivery", "deliveries"),
    }


def parameters() -> dict[str, Any]:
    return {
        "EndpointId": {
            "name": "endpoint_id",
            "in": "path",
            "required": True,
            "description": "A webhook endpoint id; a malformed, unknown or deleted one answers 404.",
            "schema": public_id("whep", "A webhook endpoint id."),
        },
        "DeliveryId": {
            "name": "delivery_id",
            "in": "path",
            "required": True,
            "description": "A delivery id of that endpoint; anything else answers 404.",
            "schema": public_id("dlv", "A delivery id."),
        },
    }


def paths() -> dict[str, Any]:
    one = (param("EndpointId"),)
    return {
        "/v1/webhooks": {
            "post": operation(
                "createWebhookEndpoint",
                "Register a webhook endpoint",
                "Registers where to send which events. The answer carries the signing `secret` "
                "(`whsec_…`, `v1`) once; a `v1a` endpoint shows its `public_key` instead. Deliveries are "
                "signed to the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, "
                "`webhook-signature`).",
                tag="webhooks",
                scope="admin",
                body="CreateWebhookEndpoint",
                ok=json_answer("NewWebhookEndpoint", "The endpoint, with its secret.", "201"),
            ),
            "get": operation(
                "listWebhookEndpoints",
                "List webhook endpoints",
                "The account's endpoints, newest first, cursor-paginated. Secrets are never shown.",
                tag="webhooks",
                scope="read",
                parameters=(param("Limit"), param("Cursor")),
                ok=json_answer("WebhookEndpointPage", "A page of endpoints."),
                problems=("validation-failed",),
            ),
        },
        "/v1/webhooks/event-types": {
            "get": operation(
                "listWebhookEventTypes",
                "List webhook event types",
                "Every type an endpoint can subscribe to, with a description and an example payload. "
                f"`{TEST_EVENT_TYPE}` is sent only by the test route.",
                tag="webhooks",
                scope="read",
                ok=json_answer("WebhookEventTypeList", "The catalogue."),
            ),
        },
        "/v1/webhooks/{endpoint_id}": {
            "parameters": list(one),
            "get": operation(
                "getWebhookEndpoint",
                "Get a webhook endpoint",
                "One endpoint (another account's answers 404).",
                tag="webhooks",
                scope="read",
                ok=json_answer("WebhookEndpoint", "The endpoint."),
                problems=("not-found",),
            ),
            "patch": operation(
                "updateWebhookEndpoint",
                "Update a webhook endpoint",
                "Changes any of `url`, `event_types`, `description`, `enabled`. A new URL is checked as at "
                "registration. Events stored while an endpoint is disabled are not queued for it.",
                tag="webhooks",
                scope="admin",
                body="UpdateWebhookEndpoint",
                ok=json_answer("WebhookEndpoint", "The endpoint as it is now."),
                problems=("not-found",),
            ),
            "delete": operation(
                "deleteWebhookEndpoint",
                "Delete a webhook endpoint",
                "Stops deliveries to it (pending ones are cancelled). Deleting it again answers 404.",
                tag="webhooks",
                scope="admin",
                ok=no_content("Deleted."),
                problems=("not-found",),
            ),
        },
        "/v1/webhooks/{endpoint_id}/rotate-secret": {
            "parameters": list(one),
            "post": operation(
                "rotateWebhookSecret",
                "Rotate the signing secret",
                "A new key signs from now on, and the previous one signs beside it (both signatures in "
                "`webhook-signature`) for a grace period (DRIFTSTACK_WEBHOOK_ROTATION_GRACE_S, 24 h by "
                "default), so receivers can switch without losing a delivery. The answer shows the new "
                "secret once.",
                tag="webhooks",
                scope="admin",
                body="RotateWebhookSecret",
                body_required=False,
                ok=json_answer("NewWebhookEndpoint", "The endpoint, with its new secret."),
                problems=("not-found",),
            ),
        },
        "/v1/webhooks/{endpoint_id}/test": {
            "parameters": list(one),
            "post": operation(
                "testWebhookEndpoint",
                "Send a test ping",
                f"Sends a signed `{TEST_EVENT_TYPE}` to the endpoint now (enabled or not), once, and "
                "answers with the delivery and its attempt.",
                tag="webhooks",
                scope="admin",
                body="NoFields",
                body_required=False,
                ok=json_answer("WebhookDelivery", "The ping's delivery, attempted."),
                problems=("not-found",),
            ),
        },
        "/v1/webhooks/{endpoint_id}/deliveries": {
            "parameters": list(one),
            "get": operation(
                "listWebhookDeliveries",
                "List deliveries",
                f"The endpoint's deliveries, newest first (at most {MAX_LIMIT} a page), each with its "
                "attempts: time, response status, latency, the first bytes of the answer or the error.",
                tag="webhooks",
                scope="read",
                parameters=(
                    param("Limit"),
                    param("Cursor"),
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "description": "Only deliveries in this status.",
                        "schema": {"type": "string", "enum": list(DELIVERY_STATUSES)},
                    },
                ),
                ok=json_answer("WebhookDeliveryPage", "A page of deliveries."),
                problems=("validation-failed", "not-found"),
            ),
        },
        "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver": {
            "parameters": [*one, param("DeliveryId")],
            "post": operation(
                "redeliverWebhook",
                "Redeliver",
                "Sends the delivery again (same `webhook-id` and body) on a fresh retry schedule, whatever "
                "its status. A delivery whose attempt is under way answers 409.",
                tag="webhooks",
                scope="admin",
                body="NoFields",
                body_required=False,
                ok=json_answer("WebhookDelivery", "The delivery, due now.", "202"),
                problems=("not-found", "conflict"),
            ),
        },
    }


def outgoing() -> dict[str, Any]:
    """The OpenAPI 3.1 `webhooks` object: the requests Driftstack sends to endpoints."""
    header = {"in": "header", "required": True, "schema": {"type": "string"}}
    parameters = [
        {**header, "name": "webhook-id", "description": "The message id (`msg_…`): an idempotency key."},
        {**header, "name": "webhook-timestamp", "description": "Unix seconds of this attempt (signed)."},
        {
            **header,
            "name": "webhook-signature",
            "description": "Space-separated `v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519>` over "
            "`{webhook-id}.{webhook-timestamp}.{body}`; two during a rotation's grace period.",
        },
    ]
    return {
        name: {
            "post": {
                "operationId": f"webhook_{name.replace('.', '_')}",
                "summary": name,
                "description": t.description,
                "tags": ["webhooks"],
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("WebhookEvent"), "example": t.example()}},
                },
                "responses": {
                    "2XX": {
                        "description": "Delivered. Any other answer (3xx included) is retried; 410 disables."
                    }
                },
            }
        }
        for name, t in CATALOGUE.items()
    }
