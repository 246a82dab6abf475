"""Routes of /v1/webhooks: endpoints, the event-type catalogue, deliveries, redelivery, test pings, rotation."""

from __future__ import annotations

from aiohttp import web

from ..webhooks.endpoints import NewEndpoint
from ..webhooks.event_types import catalogue_document
from .answers import answer
from .context import caller, services
from .pagination import page_body, position_key, time_key
from .shapes.common import NoQuery, TimePage
from .shapes.webhook_answers import (
    NewWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookEndpoint,
    WebhookEndpointPage,
    WebhookEventTypeList,
)
from .shapes.webhooks import (
    CreateWebhookEndpoint,
    DeliveryList,
    NoFields,
    RotateWebhookSecret,
    UpdateWebhookEndpoint,
)
from .validation import body_of, query_of

routes = web.RouteTableDef()


def _endpoint_id(request: web.Request) -> str:
    return request.match_info["endpoint_id"]


@routes.post("/v1/webhooks")
async def create_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    body = await body_of(request, CreateWebhookEndpoint)
    spec = NewEndpoint(
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=True if body.enabled is None else body.enabled,
        signature_scheme=body.signature_scheme or "v1",
    )
    endpoint = await services(request).webhooks.register(who, spec)
    return answer(NewWebhookEndpoint, endpoint, status=201)


@routes.get("/v1/webhooks")
async def list_endpoints(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, TimePage)
    rows = await services(request).webhooks.page(who, limit=query.limit + 1, after=query.after)
    return answer(WebhookEndpointPage, page_body(rows, query.limit, time_key))


# An endpoint's routes match only endpoint ids, so a method /v1/webhooks/event-types does not have
# answers 405 there instead of reaching an endpoint's handler with "event-types" for its id.
@routes.get("/v1/webhooks/event-types")
async def event_types(request: web.Request) -> web.Response:
    await caller(request, "read")
    query_of(request, NoQuery)
    return answer(WebhookEventTypeList, {"data": catalogue_document()})


@routes.get("/v1/webhooks/{endpoint_id:whep_[^/]*}")
async def get_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    return answer(WebhookEndpoint, await services(request).webhooks.get(who, _endpoint_id(request)))


@routes.patch("/v1/webhooks/{endpoint_id:whep_[^/]*}")
async def update_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    body = await body_of(request, UpdateWebhookEndpoint)
    changes = body.model_dump(include=body.model_fields_set)
    return answer(
        WebhookEndpoint, await services(request).webhooks.update(who, _endpoint_id(request), changes)
    )


@routes.delete("/v1/webhooks/{endpoint_id:whep_[^/]*}")
async def delete_endpoint(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    await services(request).webhooks.delete(who, _endpoint_id(request))
    return web.Response(status=204)


@routes.post("/v1/webhooks/{endpoint_id:whep_[^/]*}/rotate-secret")
async def rotate_secret(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    body = await body_of(request, RotateWebhookSecret, optional=True)
    return answer(
        NewWebhookEndpoint,
        await services(request).webhooks.rotate(who, _endpoint_id(request), body.signature_scheme),
    )


@routes.post("/v1/webhooks/{endpoint_id:whep_[^/]*}/test")
async def send_test(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    await body_of(request, NoFields, optional=True)
    return answer(WebhookDelivery, await services(request).webhooks.send_test(who, _endpoint_id(request)))


@routes.get("/v1/webhooks/{endpoint_id:whep_[^/]*}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, DeliveryList)
    rows = await services(request).webhooks.deliveries(
        who, _endpoint_id(request), limit=query.limit + 1, before=query.before, status=query.status
    )
    return answer(WebhookDeliveryPage, page_body(rows, query.limit, position_key))


@routes.post("/v1/webhooks/{endpoint_id:whep_[^/]*}/deliveries/{delivery_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    await body_of(request, NoFields, optional=True)
    delivery = await services(request).webhooks.redeliver(
        who, _endpoint_id(request), request.match_info["delivery_id"]
    )
    return answer(WebhookDelivery, delivery, status=202)
