"""Routes of /v1/profiles: create, list, get, patch, delete, clone, and a profile's snapshots."""

from __future__ import annotations

from aiohttp import web

from ..access import Principal
from ..domain.archetypes import SLUG_PATTERN
from ..domain.errors import ValidationFailed
from ..domain.profile import DESCRIPTION_MAX, KEEP, NAME_MAX, Keep, check_name
from ..domain.profile_snapshot import LABEL_MAX, check_label
from .context import caller, services
from .pagination import limit_of, page_body, time_cursor_of, time_key
from .validation import Body

routes = web.RouteTableDef()


async def profile_writer(request: web.Request) -> Principal:
    """Profile writes need the `admin` scope, and a plain team member may not make them."""
    who = await caller(request, "admin")
    who.require_admin_role()
    return who


def _profile_id(request: web.Request) -> str:
    return request.match_info["profile_id"]


def name_of(body: Body, *, required: bool) -> str | None:
    name = body.string("name", required=required, max_len=NAME_MAX, nullable=False)
    if name is not None:
        check_name(name)
    return name


def archetype_of(body: Body) -> str | None:
    archetype = body.string("archetype", max_len=60)
    if archetype is not None and archetype != "default" and not SLUG_PATTERN.match(archetype):
        raise ValidationFailed("archetype", "a lowercase slug of 3 to 60 characters [a-z0-9_]")
    return archetype


def description_of(body: Body) -> str | None:
    return body.string("description", max_len=DESCRIPTION_MAX)


@routes.post("/v1/profiles")
async def create_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await Body.of(request)
    name = name_of(body, required=True) or ""
    archetype = archetype_of(body)
    description = description_of(body)
    body.no_other_fields()
    # 200, not 201: the profiles surface answers creation with 200 (seed 002, on purpose).
    return web.json_response(await services(request).profiles.create(who, name, archetype, description))


@routes.get("/v1/profiles")
async def list_profiles(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    rows = await services(request).profiles.page(who, limit=limit + 1, after=time_cursor_of(request))
    return web.json_response(page_body(rows, limit, time_key))


@routes.get("/v1/profiles/{profile_id}")
async def get_profile(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    return web.json_response(await services(request).profiles.get(who, _profile_id(request)))


@routes.patch("/v1/profiles/{profile_id}")
async def update_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await Body.of(request)
    if body.has("archetype"):
        raise ValidationFailed(
            "archetype", "cannot change; clone the profile with a new archetype, then delete this one"
        )
    name = name_of(body, required=False)
    description: str | Keep | None = description_of(body) if body.has("description") else KEEP
    body.no_other_fields()
    profile = await services(request).profiles.update(who, _profile_id(request), name, description)
    return web.json_response(profile)


@routes.delete("/v1/profiles/{profile_id}")
async def delete_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    await services(request).profiles.delete(who, _profile_id(request))
    return web.Response(status=204)


@routes.post("/v1/profiles/{profile_id}/clone")
async def clone_profile(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await Body.of(request, optional=True)
    name = name_of(body, required=False)
    archetype = archetype_of(body)
    body.no_other_fields()
    clone = await services(request).profiles.clone(who, _profile_id(request), name, archetype)
    return web.json_response(clone)


@routes.post("/v1/profiles/{profile_id}/snapshots")
async def capture_snapshot(request: web.Request) -> web.Response:
    who = await profile_writer(request)
    body = await Body.of(request)
    label = body.string("label", required=True, max_len=LABEL_MAX) or ""
    check_label(label)
    description = description_of(body)
    body.no_other_fields()
    snapshot = await services(request).profiles.capture(who, _profile_id(request), label, description)
    return web.json_response(snapshot)


@routes.get("/v1/profiles/{profile_id}/snapshots")
async def list_profile_snapshots(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    rows = await services(request).profiles.snapshots(
        who, limit=limit + 1, after=time_cursor_of(request), profile_id=_profile_id(request)
    )
    return web.json_response(page_body(rows, limit, time_key))
