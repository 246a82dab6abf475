"""Routes that read what happened in a session: its actions, navigations, console, network, egress and health."""

from __future__ import annotations

from aiohttp import web

from .answers import answer
from .context import caller, services
from .pagination import page_body, position_key
from .shapes.common import NoQuery
from .shapes.egress import EgressLog
from .shapes.inspection import (
    ActionLog,
    ConsoleLog,
    ConsoleQuery,
    NavigationHistory,
    NetworkLog,
    NetworkQuery,
    OldestFirst,
    SessionHealth,
)
from .validation import query_of

routes = web.RouteTableDef()


def _session_id(request: web.Request) -> str:
    return request.match_info["session_id"]


@routes.get("/v1/sessions/{session_id}/actions")
async def session_actions(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, OldestFirst)
    log = await services(request).inspection.actions(
        who, _session_id(request), after=query.after, limit=query.limit + 1
    )
    return answer(ActionLog, {**page_body(log["rows"], query.limit, position_key), "total": log["total"]})


@routes.get("/v1/sessions/{session_id}/navigations")
async def session_navigations(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, OldestFirst)
    history = await services(request).inspection.navigations(
        who, _session_id(request), after=query.after, limit=query.limit + 1
    )
    body = {**page_body(history["rows"], query.limit, position_key), "total": history["total"]}
    return answer(NavigationHistory, body)


@routes.get("/v1/sessions/{session_id}/console")
async def session_console(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, ConsoleQuery)
    rows = await services(request).inspection.console(
        who, _session_id(request), after=query.after, limit=query.limit + 1, level=query.level
    )
    return answer(ConsoleLog, page_body(rows, query.limit, position_key))


@routes.get("/v1/sessions/{session_id}/network")
async def session_network(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, NetworkQuery)
    rows = await services(request).inspection.network(
        who,
        _session_id(request),
        after=query.after,
        limit=query.limit + 1,
        status=query.status,
        failed=query.failed_only,
    )
    return answer(NetworkLog, page_body(rows, query.limit, position_key))


@routes.get("/v1/sessions/{session_id}/egress")
async def session_egress(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, OldestFirst)
    log = await services(request).inspection.egress(
        who, _session_id(request), after=query.after, limit=query.limit + 1
    )
    return answer(EgressLog, {**page_body(log["rows"], query.limit, position_key), "totals": log["totals"]})


@routes.get("/v1/sessions/{session_id}/health")
async def session_health(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    return answer(SessionHealth, await services(request).inspection.health(who, _session_id(request)))
