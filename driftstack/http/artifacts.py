"""Routes of the artifacts a session kept: list them, read, delete, and download through a signed link."""

from __future__ import annotations

from aiohttp import web

from .answers import answer
from .context import caller, services
from .pagination import page_body, time_key
from .shapes.artifacts import Artifact, ArtifactList, ArtifactPage, SignedLink
from .shapes.common import NoQuery
from .validation import query_of

routes = web.RouteTableDef()


def _base(request: web.Request) -> str:
    """Where links point: the operator's public address, else the one this request came to."""
    return services(request).settings.public_url or f"{request.scheme}://{request.host}"


@routes.get("/v1/sessions/{session_id}/artifacts")
async def list_artifacts(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query = query_of(request, ArtifactList)
    rows = await services(request).artifacts.list(
        who, request.match_info["session_id"], base=_base(request), limit=query.limit + 1, after=query.after
    )
    return answer(ArtifactPage, page_body(rows, query.limit, time_key))


@routes.get("/v1/artifacts/{artifact_id}")
async def get_artifact(request: web.Request) -> web.Response:
    who = await caller(request, "read")
    query_of(request, NoQuery)
    artifact = await services(request).artifacts.get(
        who, request.match_info["artifact_id"], base=_base(request)
    )
    return answer(Artifact, artifact)


@routes.delete("/v1/artifacts/{artifact_id}")
async def delete_artifact(request: web.Request) -> web.Response:
    who = await caller(request, "write")
    query_of(request, NoQuery)
    await services(request).artifacts.delete(who, request.match_info["artifact_id"])
    return web.Response(status=204)


@routes.get("/v1/artifacts/{artifact_id}/content")
async def artifact_content(request: web.Request) -> web.Response:
    link = query_of(request, SignedLink)
    data, content_type = await services(request).artifacts.content(
        request.match_info["artifact_id"], link.expires, link.signature
    )
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            # The link is a grant to whoever holds it: no shared cache keeps the bytes past it.
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
