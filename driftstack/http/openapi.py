"""Route of /v1/openapi.json: the OpenAPI 3.1 document of every route, built once from the code."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aiohttp import web

from .. import __version__
from ..domain.archetypes import DEFAULT_ARCHETYPE
from ..domain.session import IDLE_TIMEOUT
from ..projections.audit import ACTIONS
from . import openapi_webhooks
from .audit import FILTERS
from .context import ACCOUNT_HEADER
from .openapi_operations import json_answer, operation, param
from .openapi_schemas import AUDIT_RESOURCE_TYPES, components
from .sessions import STATUSES

routes = web.RouteTableDef()

# What every call on a live session can meet besides its own validation.
_ON_A_SESSION = ("not-found", "session-timeout", "session-destroyed", "driver-error")


def _session_paths() -> dict[str, Any]:
    session_id = (param("SessionId"),)
    return {
        "/v1/sessions": {
            "post": operation(
                "createSession",
                "Create a session",
                "Starts a browser session and answers at once with `status: creating`; the browser is "
                "ready within seconds. With `?wait=true` it answers once the session is `ready` (or "
                f"`errored`), still 201. `archetype` defaults to `{DEFAULT_ARCHETYPE}`. Each tier caps "
                "the sessions live at once (`creating`, `ready`, `busy`): past the cap, 429 with "
                "`Retry-After`.",
                tag="sessions",
                scope="write",
                body="CreateSession",
                body_required=False,
                parameters=(
                    {
                        "name": "wait",
                        "in": "query",
                        "required": False,
                        "description": "`true` (also `1`, `yes`): answer once the session is ready or errored.",
                        "schema": {"type": "boolean", "default": False},
                    },
                ),
                ok=json_answer(
                    "Session", "The session: `creating`; `ready`/`errored` with `?wait=true`.", "201"
                ),
                problems=("not-found", "concurrency-limit", "driver-not-integrated"),
            ),
            "get": operation(
                "listSessions",
                "List sessions",
                "The account's sessions, newest first, cursor-paginated, optionally of one status.",
                tag="sessions",
                scope="read",
                parameters=(
                    param("Limit"),
                    param("Cursor"),
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "description": "Only sessions in this status.",
                        "schema": {"type": "string", "enum": list(STATUSES)},
                    },
                ),
                ok=json_answer("SessionPage", "A page of sessions."),
                problems=("validation-failed",),
            ),
        },
        "/v1/sessions/{session_id}": {
            "parameters": list(session_id),
            "get": operation(
                "getSession",
                "Get a session",
                "One session, in any status.",
                tag="sessions",
                scope="read",
                ok=json_answer("Session", "The session."),
                problems=("not-found",),
            ),
            "delete": operation(
                "destroySession",
                "Destroy a session",
                "Tears the session down and frees its slot. Idempotent: an already destroyed (or errored) "
                "session answers 204 too.",
                tag="sessions",
                scope="write",
                ok={
                    "204": {
                        "description": "Destroyed.",
                        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
                    }
                },
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/navigate": {
            "parameters": list(session_id),
            "post": operation(
                "navigateSession",
                "Navigate",
                "Loads a URL and waits until `wait_until` (or its older name `wait_for`). A navigation "
                "that fails (DNS, TLS, network, timeout) answers 502 and leaves the session ready.",
                tag="sessions",
                scope="write",
                body="Navigate",
                ok=json_answer("NavigateResult", "Where the navigation ended."),
                problems=_ON_A_SESSION,
            ),
        },
        "/v1/sessions/{session_id}/interact": {
            "parameters": list(session_id),
            "post": operation(
                "interactWithSession",
                "Interact",
                "Taps, types, scrolls or presses a key, paced by the session's `behavioral_profile`.",
                tag="sessions",
                scope="write",
                body="Interaction",
                ok=json_answer("InteractResult", "Done."),
                problems=_ON_A_SESSION,
            ),
        },
        "/v1/sessions/{session_id}/wait": {
            "parameters": list(session_id),
            "post": operation(
                "waitInSession",
                "Wait",
                "Waits for a selector to be visible, for the next navigation, or for a duration.",
                tag="sessions",
                scope="write",
                body="Wait",
                ok=json_answer("WaitResult", "Done waiting."),
                problems=_ON_A_SESSION,
            ),
        },
        "/v1/sessions/{session_id}/state": {
            "parameters": list(session_id),
            "get": operation(
                "getSessionState",
                "Read the page state",
                "The page's URL, title, DOM HTML, viewport and cookies: a checkpoint without a screenshot.",
                tag="sessions",
                scope="read",
                ok=json_answer("PageState", "The page as it is now."),
                problems=_ON_A_SESSION,
            ),
        },
        "/v1/sessions/{session_id}/capture": {
            "parameters": list(session_id),
            "post": operation(
                "captureSession",
                "Capture",
                "A screenshot (PNG) or PDF, base64-encoded inline, or a DOM snapshot as text. A capture "
                "over its cap answers 413 with `limit` and `byte_size`.",
                tag="sessions",
                scope="write",
                body="Capture",
                ok=json_answer("CaptureResult", "The captured bytes."),
                problems=_ON_A_SESSION,
            ),
        },
    }


def _other_paths() -> dict[str, Any]:
    filters: dict[str, dict[str, Any]] = {
        "resource_type": {"type": "string", "enum": list(AUDIT_RESOURCE_TYPES)},
        "resource_id": {"type": "string", "examples": ["ses_0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"]},
        "action": {"type": "string", "enum": list(ACTIONS.values())},
    }
    return {
        "/v1/audit-log": {
            "get": operation(
                "listAuditLog",
                "Read the audit log",
                "What happened to the account's resources (sessions, the account, its keys), newest "
                f"first. A session destroyed after sitting idle shows `reason: {IDLE_TIMEOUT}`.",
                tag="audit",
                scope="read",
                parameters=(
                    param("Limit"),
                    param("Cursor"),
                    *(
                        {
                            "name": name,
                            "in": "query",
                            "required": False,
                            "description": f"Only entries with this `{name}` (empty: no filter).",
                            "schema": filters[name],
                        }
                        for name in FILTERS
                    ),
                ),
                ok=json_answer("AuditPage", "A page of audit entries."),
                problems=("validation-failed",),
            ),
        },
        "/v1/account/me": {
            "get": operation(
                "getAccountMe",
                "The calling account",
                f"The account acted on (the owner's under `{ACCOUNT_HEADER}`), its tier, caps and idle "
                "timeout, the caller's role on it, and the calling key.",
                tag="account",
                scope="read",
                ok=json_answer("AccountMe", "The account."),
            ),
        },
        "/healthz": {
            "get": operation(
                "getHealth",
                "Health",
                "Whether the service is up and which browser it drives (no key).",
                tag="meta",
                scope=None,
                ok=json_answer("Health", "Up."),
            ),
        },
        "/v1/openapi.json": {
            "get": operation(
                "getOpenApiDocument",
                "This document",
                "The OpenAPI 3.1 document of the API (no key needed).",
                tag="meta",
                scope=None,
                ok=json_answer("OpenApiDocument", "The document."),
            ),
        },
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document; built on first use, the same object after (treat it as read-only)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Driftstack",
            "version": __version__,
            "summary": "Remote browser sessions over HTTP.",
            "description": "Create a browser session (a device persona), drive it (navigate, interact, "
            "wait), read it (state), capture it (screenshot, PDF, DOM snapshot) and destroy it; receive "
            "signed webhooks when sessions end. "
            "Authenticate with `Authorization: Bearer ds_live_…`. Lists are cursor-paginated "
            "(`{data, has_more, next_cursor}`). Every error is `application/problem+json` (see the "
            "`Problem` schema for every type).",
        },
        "tags": [
            {"name": "sessions", "description": "Browser sessions and the actions on them."},
            {"name": "webhooks", "description": "Signed webhooks: endpoints, event types, deliveries."},
            {"name": "audit", "description": "The audit log."},
            {"name": "account", "description": "The calling account."},
            {"name": "meta", "description": "Health and this document."},
        ],
        "security": [{"bearer": []}],
        "paths": {**_session_paths(), **openapi_webhooks.paths(), **_other_paths()},
        "webhooks": openapi_webhooks.outgoing(),
        "components": _components(),
    }


def _components() -> dict[str, Any]:
    parts = components()
    parts["schemas"].update(openapi_webhooks.schemas())
    parts["parameters"].update(openapi_webhooks.parameters())
    return parts


@cache
def _documentjson_answer() -> str:
    return json.dumps(document())


@routes.get("/v1/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(text=_documentjson_answer(), content_type="application/json")
