"""Routes of /v1/profile-snapshots: every snapshot of the account, one snapshot, restore, delete."""

from __future__ import annotations

from aiohttp import web

from .context import caller, services
from .pagination import limit_of, page_body, time_cursor_of, time_key
from .profiles import name_of, profile_writer
from .validation import Body

routes = web.RouteTableDef()


def _snapshot_id(request: web.Request) -> str:
    return request.match_info["snapshot_id"]


@routes.get("/v1/profile-snapshots")
async def list_snapshots(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    rows = await services(request).profiles.snapshots(who, limit=limit + 1, after=time_cursor_of(request))
    return web.json_response(page_body(rows, limit, time_key))


@routes.get("/v1/profile-snapshots/{snapshot_id}")
async def get_snapshot(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    return web.json_response(await services(request).profiles.snapshot(who, _snapshot_id(request)))


@routes.post("/v1/profile-snapshots/{snapshot_id}/restore")
async def restore_snapshot(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await Body.of(request)
    name = name_of(body, required=True) or ""
    body.no_other_fields()
    return web.json_response(await services(request).profiles.restore(who, _snapshot_id(request), name))


@routes.delete("/v1/profile-snapshots/{snapshot_id}")
async def delete_snapshot(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    await services(request).profiles.delete_snapshot(who, _snapshot_id(request))
    return web.Response(status=204)
