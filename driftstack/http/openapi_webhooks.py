"""The webhook part of the OpenAPI document: the /v1/webhooks routes, their parameters, and the webhooks sent."""

from __future__ import annotations

from typing import Any

from ..webhooks.event_types import CATALOGUE, PING, TEST_EVENT_TYPE
from .openapi_components import public_id, ref
from .openapi_operations import json_answer, links_to, no_content, operation, param
from .shapes import webhooks as shapes
from .shapes.common import MAX_LIMIT, TimePage
from .shapes.webhook_answers import PROFILE_EVENT_TYPES, SESSION_EVENT_TYPES


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
                body=shapes.CreateWebhookEndpoint,
                ok=json_answer("NewWebhookEndpoint", "The endpoint, with its secret.", "201"),
                links=links_to(
                    "endpoint_id",
                    "getWebhookEndpoint",
                    "updateWebhookEndpoint",
                    "rotateWebhookSecret",
                    "testWebhookEndpoint",
                    "listWebhookDeliveries",
                    "deleteWebhookEndpoint",
                ),
            ),
            "get": operation(
                "listWebhookEndpoints",
                "List webhook endpoints",
                "The account's endpoints, newest first, cursor-paginated. Secrets are never shown.",
                tag="webhooks",
                scope="read",
                query=TimePage,
                ok=json_answer("WebhookEndpointPage", "A page of endpoints."),
                problems=("validation-failed",),
            ),
        },
        "/v1/webhooks/event-types": {
            "get": operation(
                "listWebhookEventTypes",
                "List webhook event types",
                "Every type an endpoint can subscribe to, with a description and an example payload, "
                f"then `{TEST_EVENT_TYPE}` (`subscribable: false`): the ping only the test route sends.",
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
                body=shapes.UpdateWebhookEndpoint,
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
                body=shapes.RotateWebhookSecret,
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
                body=shapes.NoFields,
                body_required=False,
                ok=json_answer("WebhookDelivery", "The ping's delivery, attempted."),
                links=links_to("delivery_id", "redeliverWebhook", endpoint_id="endpoint_id"),
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
                query=shapes.DeliveryList,
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
                body=shapes.NoFields,
                body_required=False,
                ok=json_answer("WebhookDelivery", "The delivery, due now.", "202"),
                problems=("not-found", "conflict"),
            ),
        },
    }


def _payload(event_type: str) -> str:
    if event_type in SESSION_EVENT_TYPES:
        return "SessionEvent"
    if event_type in PROFILE_EVENT_TYPES:
        return "ProfileEvent"
    if event_type == TEST_EVENT_TYPE:
        return "PingEvent"
    raise LookupError(f"no payload is declared for {event_type}")


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
                    "content": {"application/json": {"schema": ref(_payload(name)), "example": t.example()}},
                },
                "responses": {
                    "2XX": {
                        "description": "Delivered. Any other answer (3xx included) is retried; 410 disables."
                        if t.subscribable
                        else "Delivered. The ping is one attempt, never retried (a redeliver sends it again)."
                    }
                },
            }
        }
        for name, t in ((t.name, t) for t in (*CATALOGUE.values(), PING))
    }
