"""Routes of /healthz (can the service serve: its store, its views, its browser) and /livez (is it running)."""

from __future__ import annotations

from aiohttp import web

from .. import __version__
from ..health import ServiceHealth
from .answers import answer
from .context import services
from .shapes.account_answers import Health, Liveness

routes = web.RouteTableDef()

HEALTH = web.AppKey("health", ServiceHealth)


@routes.get("/livez")
async def livez(request: web.Request) -> web.Response:
    """200 while the process answers at all, whatever its store: what a supervisor restarts on."""
    return answer(Liveness, {"status": "ok", "version": __version__})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """503 while the store cannot be reached or a view is stuck on an event: what a balancer routes on."""
    driver = services(request).driver
    healthy, report = await request.app[HEALTH].report()
    return answer(
        Health,
        {
            "status": "ok" if healthy else "failing",
            "version": __version__,
            "browser": {
                "available": driver.available,
                "description": driver.description,
                "engines": driver.offered(),
            },
            **report,
        },
        status=200 if healthy else 503,
    )
