"""Route of /v1/account/me: the calling account, its tier and caps."""

from __future__ import annotations

from aiohttp import web

from ..domain.tiers import TIERS
from .answers import answer
from .context import caller, services
from .shapes.account_answers import AccountMe
from .shapes.common import NoQuery
from .validation import query_of

routes = web.RouteTableDef()


@routes.get("/v1/account/me")
async def me(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    s = services(request)
    idle = s.settings.idle_timeout_s or TIERS[who.tier].idle_timeout_s
    return answer(
        AccountMe,
        {
            "id": who.account_id,
            "name": who.account_name,
            "tier": who.tier,
            "concurrency": who.concurrency,
            # Enterprise caps are negotiated: the reference documents show them as null.
            "profile_cap": None if who.tier == "enterprise" else who.profile_cap,
            "idle_timeout_s": idle,
            "role": who.role,
            "api_key": {"id": who.api_key_id, "account_id": who.key_account_id, "scopes": sorted(who.scopes)},
        },
    )
