"""Routes of /v1/api-keys: an account lists, mints and revokes its own keys (with an admin key)."""

from __future__ import annotations

from aiohttp import web

from .answers import answer
from .context import caller, services
from .pagination import page_body, time_key
from .shapes.api_keys import ApiKeyPage, CreateApiKey, NewApiKey
from .shapes.common import NoQuery, TimePage
from .validation import body_of, query_of

routes = web.RouteTableDef()


@routes.get("/v1/api-keys")
async def list_keys(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query = query_of(request, TimePage)
    rows = await services(request).keys.page(who, limit=query.limit + 1, after=query.after)
    return answer(ApiKeyPage, page_body(rows, query.limit, time_key))


@routes.post("/v1/api-keys")
async def create_key(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    body: CreateApiKey = await body_of(request, CreateApiKey)
    key = await services(request).keys.mint(who, body.scopes, body.name, body.lifetime)
    return answer(NewApiKey, key, status=201)


@routes.delete("/v1/api-keys/{key_id}")
async def revoke_key(request: web.Request) -> web.Response:
    who = await caller(request, "admin")
    query_of(request, NoQuery)
    await services(request).keys.revoke(who, request.match_info["key_id"])
    return web.Response(status=204)
