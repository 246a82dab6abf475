"""Routes of /v1/profile-snapshots: every snapshot of the account, one snapshot, restore, delete."""

from __future__ import annotations

from aiohttp import web

from .answers import answer
from .context import caller, services
from .pagination import page_body, time_key
from .profiles import profile_writer
from .shapes.common import NoQuery, TimePage
from .shapes.profile_answers import Profile, ProfileSnapshot, ProfileSnapshotPage
from .shapes.snapshots import RestoreSnapshot
from .validation import body_of, query_of

routes = web.RouteTableDef()


def _snapshot_id(request: web.Request) -> str:
    return request.match_info["snapshot_id"]


@routes.get("/v1/profile-snapshots")
async def list_snapshots(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, TimePage)
    rows = await services(request).profiles.snapshots(who, limit=query.limit + 1, after=query.after)
    return answer(ProfileSnapshotPage, page_body(rows, query.limit, time_key))


@routes.get("/v1/profile-snapshots/{snapshot_id}")
async def get_snapshot(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    return answer(ProfileSnapshot, await services(request).profiles.snapshot(who, _snapshot_id(request)))


@routes.post("/v1/profile-snapshots/{snapshot_id}/restore")
async def restore_snapshot(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await body_of(request, RestoreSnapshot)
    return answer(Profile, await services(request).profiles.restore(who, _snapshot_id(request), body.name))


@routes.delete("/v1/profile-snapshots/{snapshot_id}")
async def delete_snapshot(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    await services(request).profiles.delete_snapshot(who, _snapshot_id(request))
    return web.Response(status=204)
