"""Route of /v1/audit-log: what happened to the account's resources, newest first."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import ValidationFailed
from .context import caller, services
from .pagination import cursor_of, limit_of, page_body

routes = web.RouteTableDef()
FILTERS = ("resource_type", "resource_id", "action")


@routes.get("/v1/audit-log")
async def audit_log(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    limit = limit_of(request)
    before = cursor_of(request)
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise ValidationFailed("cursor", "pass back a next_cursor exactly as received")
    filters = {name: request.query[name] for name in FILTERS if request.query.get(name)}
    s = services(request)
    await s.consistency.settle(who.account_id, s.audit_progress)
    rows = await s.audit.page(who.account_id, limit=limit + 1, before=before, filters=filters)
    return web.json_response(page_body(rows, limit, lambda key: key))
