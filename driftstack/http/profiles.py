"""Routes of /v1/profiles: create, list, get, patch, delete, clone, and a profile's snapshots."""

from __future__ import annotations

from aiohttp import web

from ..access import Principal
from ..domain.profile import KEEP, Keep
from .answers import answer
from .context import caller, services
from .pagination import page_body, time_key
from .shapes.common import NoQuery, TimePage
from .shapes.profile_answers import Profile, ProfilePage, ProfileSnapshot, ProfileSnapshotPage
from .shapes.profiles import CloneProfile, CreateProfile, UpdateProfile
from .shapes.snapshots import CaptureSnapshot
from .validation import body_of, query_of

routes = web.RouteTableDef()


async def profile_writer(request: web.Request) -> Principal:
    """Profile writes need the `admin` scope, and a plain team member may not make them."""
    who = await caller(request, "admin")
    who.require_admin_role()
    query_of(request, NoQuery)
    return who


def _profile_id(request: web.Request) -> str:
    return request.match_info["profile_id"]


@routes.post("/v1/profiles")
async def create_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await body_of(request, CreateProfile)
    # 200, not 201: the profiles surface answers creation with 200 (seed 002, on purpose).
    profile = await services(request).profiles.create(who, body.name, body.archetype, body.description)
    return answer(Profile, profile)


@routes.get("/v1/profiles")
async def list_profiles(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, TimePage)
    rows = await services(request).profiles.page(who, limit=query.limit + 1, after=query.after)
    return answer(ProfilePage, page_body(rows, query.limit, time_key))


@routes.get("/v1/profiles/{profile_id}")
async def get_profile(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    return answer(Profile, await services(request).profiles.get(who, _profile_id(request)))


@routes.patch("/v1/profiles/{profile_id}")
async def update_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await body_of(request, UpdateProfile)
    description: str | Keep | None = body.description if "description" in body.model_fields_set else KEEP
    profile = await services(request).profiles.update(who, _profile_id(request), body.name, description)
    return answer(Profile, profile)


@routes.delete("/v1/profiles/{profile_id}")
async def delete_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    await services(request).profiles.delete(who, _profile_id(request))
    return web.Response(status=204)


@routes.post("/v1/profiles/{profile_id}/clone")
async def clone_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await body_of(request, CloneProfile, optional=True)
    clone = await services(request).profiles.clone(who, _profile_id(request), body.name, body.archetype)
    return answer(Profile, clone)


@routes.post("/v1/profiles/{profile_id}/snapshots")
async def capture_snapshot(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await body_of(request, CaptureSnapshot)
    snapshot = await services(request).profiles.capture(
        who, _profile_id(request), body.label, body.description
    )
    return answer(ProfileSnapshot, snapshot)


@routes.get("/v1/profiles/{profile_id}/snapshots")
async def list_profile_snapshots(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, TimePage)
    rows = await services(request).profiles.snapshots(
        who, limit=query.limit + 1, after=query.after, profile_id=_profile_id(request)
    )
    return answer(ProfileSnapshotPage, page_body(rows, query.limit, time_key))
