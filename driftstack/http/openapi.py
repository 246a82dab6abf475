"""Route of /v1/openapi.json: the OpenAPI 3.1 document (filled in below)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()


@routes.get("/v1/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response({"openapi": "3.1.0", "info": {"title": "Driftstack", "version": "0.1.0"}, "paths": {}})
