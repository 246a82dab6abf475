"""Route of /healthz: is the service up, and which browser does it drive."""

from __future__ import annotations

from aiohttp import web

from .. import __version__
from .context import services

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    driver = services(request).driver
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "browser": {"available": driver.available, "description": driver.description},
        }
    )
