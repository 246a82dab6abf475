"""Route of /v1/audit-log: what happened to the account's resources, newest first."""

from __future__ import annotations

from aiohttp import web

from .answers import answer
from .context import caller, services
from .pagination import page_body, position_key
from .shapes.account_answers import AuditPage
from .shapes.audit import AuditQuery
from .validation import query_of

routes = web.RouteTableDef()


@routes.get("/v1/audit-log")
async def audit_log(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, AuditQuery)
    s = services(request)
    await s.consistency.settle(who.account_id, s.audit_progress)
    rows = await s.audit.page(
        who.account_id, limit=query.limit + 1, before=query.before, filters=query.filters
    )
    return answer(AuditPage, page_body(rows, query.limit, position_key))
