"""Routes of /v1/sessions: create, list, get, navigate, interact, wait, state, capture, destroy."""

from __future__ import annotations

from aiohttp import web

from ..access import Forbidden
from ..domain import ids
from ..domain.archetypes import SLUG_PATTERN
from ..domain.behavior import BEHAVIORS
from ..domain.errors import ValidationFailed
from ..sessions import Interaction, NewSession, WaitFor
from .context import caller, services
from .pagination import limit_of, page_body, time_cursor_of, time_key
from .validation import Body

routes = web.RouteTableDef()

PURPOSES = ("production_customer", "cumulative_rig_validation", "test_domain_probe")
RESERVED_PURPOSES = PURPOSES[1:]
STATUSES = ("creating", "ready", "busy", "destroyed", "errored")
WAIT_UNTIL = ("load", "domcontentloaded", "networkidle")
MAX_TIMEOUT_MS = 300_000


def _session_id(request: web.Request) -> str:
    return request.match_info["session_id"]


@routes.post("/v1/sessions")
async def create_session(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    body = await Body.of(request, optional=True)
    archetype = body.string("archetype", max_len=60) or "default"
    if archetype != "default" and not SLUG_PATTERN.match(archetype):
        raise ValidationFailed("archetype", "a lowercase slug of 3 to 60 characters [a-z0-9_]")
    purpose = body.string("purpose", choices=PURPOSES) or "production_customer"
    spec = NewSession(
        archetype=archetype,
        purpose=purpose,
        label=body.string("label", max_len=120),
        metadata=body.json_object("metadata", max_bytes=16_384),
        behavioral_profile=body.string("behavioral_profile", choices=tuple(BEHAVIORS)),
        profile_id=body.string("profile_id", max_len=64),
    )
    body.no_other_fields()
    if purpose in RESERVED_PURPOSES and "admin" not in who.scopes:
        raise Forbidden(f"purpose '{purpose}' is reserved for Driftstack-internal operations")
    if spec.profile_id is not None and ids.parse_public_id(ids.PROFILE, spec.profile_id) is None:
        raise ValidationFailed("profile_id", "a profile id (prof_…)")
    wait = request.query.get("wait", "false").lower() in ("1", "true", "yes")
    session = await services(request).sessions.create(who, spec, wait=wait)
    return web.json_response(session, status=201)


@routes.get("/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise ValidationFailed("status", f"one of {', '.join(STATUSES)}")
    after = time_cursor_of(request)
    rows = await services(request).sessions.list(who, limit=limit + 1, after=after, status=status)
    return web.json_response(page_body(rows, limit, time_key))


@routes.get("/v1/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    return web.json_response(await services(request).sessions.get(who, _session_id(request)))


@routes.delete("/v1/sessions/{session_id}")
async def destroy_session(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    await services(request).sessions.destroy(who, _session_id(request))
    return web.Response(status=204)


@routes.post("/v1/sessions/{session_id}/navigate")
async def navigate(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    body = await Body.of(request)
    url = body.string("url", required=True, max_len=8192) or ""
    if not url.startswith(("http://", "https://")) and url != "about:blank":
        raise ValidationFailed("url", "an absolute http:// or https:// URL")
    # Seed 000 calls it wait_for, seed 001 wait_until: both are accepted, wait_until wins.
    wait_for = body.string("wait_for", choices=WAIT_UNTIL)
    wait_until = body.string("wait_until", choices=WAIT_UNTIL) or wait_for or "load"
    timeout_ms = body.integer("timeout_ms", minimum=1, maximum=MAX_TIMEOUT_MS)
    body.no_other_fields()
    result = await services(request).sessions.navigate(who, _session_id(request), url, wait_until, timeout_ms)
    return web.json_response(result)


@routes.post("/v1/sessions/{session_id}/interact")
async def interact(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    body = await Body.of(request)
    kind = body.string("type", required=True, choices=("tap", "type", "scroll", "press"))
    interaction = Interaction(
        type=kind or "",
        selector=body.string("selector", required=kind == "tap", max_len=2048),
        text=body.string("text", required=kind == "type", max_len=100_000, nullable=False)
        if kind == "type"
        else None,
        direction=body.string("direction", choices=("up", "down", "left", "right")) or "down"
        if kind == "scroll"
        else None,
        pixels=body.integer("pixels", minimum=1, maximum=100_000, required=kind == "scroll")
        if kind == "scroll"
        else None,
        key=body.string("key", required=kind == "press", max_len=64) if kind == "press" else None,
        timeout_ms=body.integer("timeout_ms", minimum=1, maximum=MAX_TIMEOUT_MS),
    )
    body.no_other_fields()
    result = await services(request).sessions.interact(who, _session_id(request), interaction)
    return web.json_response(result)


@routes.post("/v1/sessions/{session_id}/wait")
async def wait(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    body = await Body.of(request)
    kind = body.string("kind", required=True, choices=("selector", "navigation", "duration"))
    wait_for = WaitFor(
        kind=kind or "",
        selector=body.string("selector", required=kind == "selector", max_len=2048)
        if kind == "selector"
        else None,
        timeout_ms=body.integer("timeout_ms", minimum=1, maximum=MAX_TIMEOUT_MS),
        duration_ms=body.integer(
            "duration_ms", minimum=0, maximum=MAX_TIMEOUT_MS, required=kind == "duration"
        )
        if kind == "duration"
        else None,
    )
    body.no_other_fields()
    result = await services(request).sessions.wait(who, _session_id(request), wait_for)
    return web.json_response(result)


@routes.get("/v1/sessions/{session_id}/state")
async def state(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    return web.json_response(await services(request).sessions.state(who, _session_id(request)))


@routes.post("/v1/sessions/{session_id}/capture")
async def capture(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    body = await Body.of(request)
    kind = body.string("kind", required=True, choices=("screenshot", "pdf", "dom_snapshot"))
    full_page = body.boolean("full_page", default=False)
    body.no_other_fields()
    result = await services(request).sessions.capture(who, _session_id(request), kind or "", full_page)
    return web.json_response(result)
