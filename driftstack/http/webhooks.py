"""Routes of /v1/webhooks: endpoints, the event-type catalogue, deliveries, redelivery, test pings, rotation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from ..clock import parse_iso
from ..domain.errors import ValidationFailed
from ..domain.webhook_endpoint import EVENT_TYPES, MAX_DESCRIPTION, MAX_URL, SIGNATURE_SCHEMES
from ..webhooks.endpoints import NewEndpoint
from ..webhooks.event_types import catalogue_document
from .context import caller, services
from .pagination import cursor_of, limit_of, page_body
from .validation import Body

routes = web.RouteTableDef()

DELIVERY_STATUSES = ("pending", "delivering", "succeeded", "failed", "cancelled")
_CURSOR = "pass back a next_cursor exactly as received"


def _endpoint_id(request: web.Request) -> str:
    return request.match_info["endpoint_id"]


@routes.post("/v1/webhooks")
async def create_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    body = await Body.of(request)
    spec = NewEndpoint(
        url=body.string("url", required=True, max_len=MAX_URL) or "",
        event_types=body.string_list("event_types", choices=EVENT_TYPES, required=True) or [],
        description=body.string("description", max_len=MAX_DESCRIPTION),
        enabled=body.boolean("enabled", default=True),
        signature_scheme=body.string("signature_scheme", choices=SIGNATURE_SCHEMES) or "v1",
    )
    body.no_other_fields()
    endpoint = await services(request).webhooks.register(who, spec)
    return web.json_response(endpoint, status=201)


@routes.get("/v1/webhooks")
async def list_endpoints(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    cursor = cursor_of(request)
    after = None
    if cursor is not None:
        try:
            created_at, last_id = cursor
            after = (parse_iso(created_at), UUID(str(last_id)))
        except (TypeError, ValueError, AttributeError):
            raise ValidationFailed("cursor", _CURSOR) from None
    rows = await services(request).webhooks.page(who, limit=limit + 1, after=after)
    return web.json_response(page_body(rows, limit, lambda key: [key[0].isoformat(), str(key[1])]))


@routes.get("/v1/webhooks/event-types")
async def event_types(request: web.Request) -> web.Response:
    await caller(request, "read")
    return web.json_response({"data": catalogue_document()})


@routes.get("/v1/webhooks/{endpoint_id}")
async def get_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    return web.json_response(await services(request).webhooks.get(who, _endpoint_id(request)))


@routes.patch("/v1/webhooks/{endpoint_id}")
async def update_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    body = await Body.of(request)
    changes: dict[str, Any] = {}
    if body.has("url"):
        changes["url"] = body.string("url", required=True, max_len=MAX_URL)
    if body.has("event_types"):
        changes["event_types"] = body.string_list("event_types", choices=EVENT_TYPES, required=True)
    if body.has("description"):
        changes["description"] = body.string("description", max_len=MAX_DESCRIPTION)
    if body.has("enabled"):
        changes["enabled"] = body.boolean("enabled", default=True, required=True)
    body.no_other_fields()
    if not changes:
        raise ValidationFailed("body", "send at least one of url, event_types, description, enabled")
    return web.json_response(await services(request).webhooks.update(who, _endpoint_id(request), changes))


@routes.delete("/v1/webhooks/{endpoint_id}")
async def delete_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    await services(request).webhooks.delete(who, _endpoint_id(request))
    return web.Response(status=204)


@routes.post("/v1/webhooks/{endpoint_id}/rotate-secret")
async def rotate_secret(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    body = await Body.of(request, optional=True)
    scheme = body.string("signature_scheme", choices=SIGNATURE_SCHEMES)
    body.no_other_fields()
    return web.json_response(await services(request).webhooks.rotate(who, _endpoint_id(request), scheme))


@routes.post("/v1/webhooks/{endpoint_id}/test")
async def send_test(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    (await Body.of(request, optional=True)).no_other_fields()
    return web.json_response(await services(request).webhooks.send_test(who, _endpoint_id(request)))


@routes.get("/v1/webhooks/{endpoint_id}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    before = cursor_of(request)
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise ValidationFailed("cursor", _CURSOR)
    status = request.query.get("status") or None
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationFailed("status", f"one of {', '.join(DELIVERY_STATUSES)}")
    rows = await services(request).webhooks.deliveries(
        who, _endpoint_id(request), limit=limit + 1, before=before, status=status
    )
    return web.json_response(page_body(rows, limit, lambda key: key))


@routes.post("/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    (await Body.of(request, optional=True)).no_other_fields()
    delivery = await services(request).webhooks.redeliver(
        who, _endpoint_id(request), request.match_info["delivery_id"]
    )
    return web.json_response(delivery, status=202)
