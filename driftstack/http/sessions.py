"""Routes of /v1/sessions: create, list, get, navigate, interact, wait, state, capture, destroy.

What happened in a session (its actions, navigations, network, health) is read in `inspection`.
"""

from __future__ import annotations

from aiohttp import web

from ..access import Forbidden
from ..actions import Interaction, WaitFor
from ..sessions import NewSession
from .answers import answer
from .context import caller, services
from .pagination import page_body, time_key
from .shapes import sessions as shapes
from .shapes.common import NoQuery
from .shapes.session_answers import (
    CaptureResult,
    InteractResult,
    NavigateResult,
    PageState,
    Session,
    SessionPage,
    WaitResult,
)
from .validation import body_of, query_of

routes = web.RouteTableDef()


def _session_id(request: web.Request) -> str:
    return request.match_info["session_id"]


@routes.post("/v1/sessions")
async def create_session(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query = query_of(request, shapes.CreateSessionQuery)
    body = await body_of(request, shapes.CreateSession, optional=True)
    purpose = body.purpose or "production_customer"
    if purpose in shapes.RESERVED_PURPOSES and "admin" not in who.scopes:
        raise Forbidden(f"purpose '{purpose}' is reserved for Driftstack-internal operations")
    spec = NewSession(
        archetype=body.archetype or "default",
        purpose=purpose,
        label=body.label,
        metadata=body.metadata,
        behavioral_profile=body.behavioral_profile,
        profile_id=body.profile_id,
        proxy=body.proxy,
        engine=body.engine,
        initial_url=body.initial_url,
        viewport=(body.viewport.width, body.viewport.height) if body.viewport is not None else None,
    )
    session = await services(request).sessions.create(who, spec, wait=query.wait)
    return answer(Session, session, status=201)


@routes.get("/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, shapes.SessionList)
    rows = await services(request).sessions.list(
        who, limit=query.limit + 1, after=query.after, status=query.status
    )
    return answer(SessionPage, page_body(rows, query.limit, time_key))


@routes.get("/v1/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    return answer(Session, await services(request).sessions.get(who, _session_id(request)))


@routes.delete("/v1/sessions/{session_id}")
async def destroy_session(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query_of(request, NoQuery)
    await services(request).sessions.destroy(who, _session_id(request))
    return web.Response(status=204)


@routes.post("/v1/sessions/{session_id}/navigate")
async def navigate(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query_of(request, NoQuery)
    body = await body_of(request, shapes.Navigate)
    result = await services(request).actions.navigate(
        who, _session_id(request), body.url, body.until, body.timeout_ms
    )
    return answer(NavigateResult, result)


@routes.post("/v1/sessions/{session_id}/interact")
async def interact(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query_of(request, NoQuery)
    body = await body_of(request, shapes.Interaction)
    match body:
        case shapes.TapInteraction():
            interaction = Interaction(type="tap", selector=body.selector, timeout_ms=body.timeout_ms)
        case shapes.TypeInteraction():
            interaction = Interaction(
                type="type", selector=body.selector, text=body.text, timeout_ms=body.timeout_ms
            )
        case shapes.ScrollInteraction():
            interaction = Interaction(
                type="scroll",
                selector=body.selector,
                direction=body.direction or "down",
                pixels=body.pixels,
                timeout_ms=body.timeout_ms,
            )
        case shapes.PressInteraction():
            interaction = Interaction(
                type="press", selector=body.selector, key=body.key, timeout_ms=body.timeout_ms
            )
    result = await services(request).actions.interact(who, _session_id(request), interaction)
    return answer(InteractResult, result)


@routes.post("/v1/sessions/{session_id}/wait")
async def wait(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query_of(request, NoQuery)
    body = await body_of(request, shapes.Wait)
    match body:
        case shapes.SelectorWait():
            wait_for = WaitFor(kind="selector", selector=body.selector, timeout_ms=body.timeout_ms)
        case shapes.NavigationWait():
            wait_for = WaitFor(kind="navigation", timeout_ms=body.timeout_ms)
        case shapes.DurationWait():
            # Seed 000 sends only timeout_ms: for a duration it is how long to sleep.
            wait_for = WaitFor(kind="duration", timeout_ms=body.timeout_ms, duration_ms=body.sleep_ms)
    result = await services(request).actions.wait(who, _session_id(request), wait_for)
    return answer(WaitResult, result)


@routes.get("/v1/sessions/{session_id}/state")
async def state(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    return answer(PageState, await services(request).actions.state(who, _session_id(request)))


@routes.post("/v1/sessions/{session_id}/capture")
async def capture(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query_of(request, NoQuery)
    body = await body_of(request, shapes.Capture)
    result = await services(request).actions.capture(
        who, _session_id(request), body.kind, bool(body.full_page), keep=body.keep is not False
    )
    return answer(CaptureResult, result)
