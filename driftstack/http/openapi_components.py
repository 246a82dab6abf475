"""The reusable parts of the OpenAPI document: schemas, parameters, headers and problem answers."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ..actions import DOM_SNAPSHOT_CAP, PDF_CAP, SCREENSHOT_CAP
from ..domain.api_key import KEY_PREFIX, SCOPES
from .context import ACCOUNT_HEADER, TENANT_HEADER
from .openapi_shapes import ANSWERS, BODIES, problem_name, schemas
from .problems import CONCURRENCY_RETRY_AFTER_S, PROBLEM_BASE, TYPES
from .shapes.base import SAFE_TEXT, documented
from .shapes.problem_answers import component_name
from .shapes.session_answers import id_of
from .shapes.sessions import MAX_LABEL

Schema = dict[str, Any]

MAX_REQUEST_BYTES = 1024 * 1024  # aiohttp's client_max_size, set in app.py
_EXAMPLE_ID = "0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"


def ref(name: str) -> Schema:
    """A reference to a declared shape's schema (a name nothing declares is a bug, caught here)."""
    if name not in ANSWERS and name not in BODIES:
        raise LookupError(f"{name} is not a declared shape")
    return {"$ref": f"#/components/schemas/{name}"}


def public_id(prefix: str, what: str) -> Schema:
    schema: Schema = TypeAdapter(id_of(prefix, what)).json_schema()
    return schema


def _choices(values: Any) -> str:
    return ", ".join(f"`{v}`" for v in values)


# slug → (when the API answers it, example detail, example extension members)
PROBLEMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "unauthorized": (
        "No bearer key, or one Driftstack does not know.",
        "send 'Authorization: Bearer ds_live_…'",
        {},
    ),
    "forbidden": (
        "The key lacks the scope this operation needs, a reserved `purpose` without `admin`, or "
        f"`{ACCOUNT_HEADER}` names an account the key's account is not a member of.",
        "this key lacks the 'write' scope",
        {},
    ),
    "not-found": (
        "No such resource on this account (another account's session answers the same).",
        f"no session ses_{_EXAMPLE_ID}",
        {},
    ),
    "method-not-allowed": ("The path exists, the method does not.", "PUT is not allowed on /v1/sessions", {}),
    "session-timeout": (
        "The session was destroyed after sitting idle past its tier's idle timeout; create a new one.",
        f"session ses_{_EXAMPLE_ID} was destroyed after sitting idle past its timeout",
        {"session_status": "destroyed", "reason": "idle_timeout"},
    ),
    "conflict": (
        "The request conflicts with the resource's current state: a profile name already taken in the "
        "account, no free automatic clone name, or deleting a profile a live session holds.",
        "a profile named 'production' already exists in this account",
        {},
    ),
    "session-destroyed": (
        "The session is destroyed or errored and takes no further action; create a new one.",
        f"session ses_{_EXAMPLE_ID} is destroyed (client_request); create a new session",
        {"session_status": "destroyed", "reason": "client_request"},
    ),
    "payload-too-large": (
        f"The request body is over {MAX_REQUEST_BYTES} bytes, or a capture is over its cap "
        f"({SCREENSHOT_CAP} bytes for a screenshot, {PDF_CAP} for a PDF, {DOM_SNAPSHOT_CAP} for a "
        "DOM snapshot).",
        f"the screenshot is 4400000 bytes; the cap is {SCREENSHOT_CAP} bytes",
        {"limit": SCREENSHOT_CAP, "byte_size": 4_400_000},
    ),
    "unsupported-media-type": ("The body is not JSON.", "send application/json", {}),
    "validation-failed": (
        "A query parameter or body field is invalid; `errors` names it.",
        f"label: at most {MAX_LABEL} characters",
        {"errors": [{"field": "label", "message": f"at most {MAX_LABEL} characters"}]},
    ),
    "concurrency-limit": (
        "Every concurrent-session slot of the tier is taken; retry after `Retry-After` seconds "
        "or destroy a session.",
        "2 of 2 concurrent sessions are in use on tier api_starter; destroy a session or wait for one to end",
        {"limit": 2, "current": 2, "resource": "session", "tier": "api_starter"},
    ),
    "tier-limit": (
        "The account is at its tier's profile cap; delete a profile or move to a larger tier.",
        "10 of 10 profiles allowed on tier api_starter exist; delete one or move to a larger tier",
        {"limit": 10, "current": 10, "resource": "profile", "tier": "api_starter"},
    ),
    "internal-error": (
        "An unexpected error; it has been logged.",
        "an unexpected error; it has been logged",
        {},
    ),
    "egress-refused": (
        "The navigation (its URL, or a redirect on the way) leads to an address that is not public — "
        "loopback, private, link-local (cloud metadata), CGNAT, multicast or unspecified — and the "
        "operator has not opened it. The session stays ready.",
        "could not navigate to http://169.254.169.254/: 169.254.169.254, a link-local address, is "
        "not a public address; the operator opens it with DRIFTSTACK_EGRESS_ALLOW=169.254.169.254:80 (or "
        "DRIFTSTACK_EGRESS_ALLOW_PRIVATE=1)",
        {"host": "169.254.169.254", "port": 80, "setting": "DRIFTSTACK_EGRESS_ALLOW"},
    ),
    "upgrade-required": (
        "The route upgrades to a WebSocket, and the request did not ask for one (`Connection: Upgrade`, "
        "`Upgrade: websocket`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`).",
        "this route upgrades to a WebSocket: connect with a WebSocket client",
        {},
    ),
    "link-refused": (
        "An artifact's download link was altered (its signature does not match) or has expired; read the "
        "artifact again for a fresh `url`.",
        "the link has expired: read the artifact again for a fresh url",
        {},
    ),
    "driver-error": (
        "The browser failed the action (navigation, timeout, crash): `reason` says which. After a "
        "failed navigation the session stays ready for a retry.",
        "could not navigate to http://shop.invalid/: the host name does not resolve",
        {"reason": "dns_failed", "engine_message": "net::ERR_NAME_NOT_RESOLVED at http://shop.invalid/"},
    ),
    "driver-not-integrated": (
        "No usable browser on this server; `install` says what to install or configure.",
        "no usable browser: browser executable not found",
        {"install": "apt-get install chromium"},
    ),
    "store-unavailable": (
        "PostgreSQL cannot be reached; retry after `Retry-After` seconds.",
        "the event store cannot be reached; retry shortly",
        {},
    ),
    "view-lagging": (
        "The write is stored, but the view this read answers from does not hold it yet (or cannot apply an "
        "event before it: see `/healthz`); read again after `Retry-After` seconds rather than repeating a write.",
        "the write is stored, but view profiles_view holds events up to 1200 and the write is event 1201:"
        " it cannot apply event 1201; retry the read shortly",
        {"view": "profiles_view", "view_position": 1200, "write_position": 1201},
    ),
}


def response_name(slug: str) -> str:
    return component_name(slug)


def _problem_response(slug: str) -> Schema:
    status, title = TYPES[slug]
    when, detail, extensions = PROBLEMS[slug]
    headers: dict[str, Schema] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    if slug == "unauthorized":
        headers["WWW-Authenticate"] = {"schema": {"type": "string", "const": 'Bearer realm="driftstack"'}}
    if slug == "concurrency-limit":
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    example = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/v1/sessions",
        **extensions,
    }
    return {
        "description": f"{title} (`{slug}`): {when}",
        "headers": headers,
        "content": {"application/problem+json": {"schema": ref(problem_name(slug)), "example": example}},
    }


def problem_answer(slugs: tuple[str, ...]) -> Schema:
    """An operation's answer for one status: that type's answer, or, when several types share the
    status there (two kinds of 503), any one of them (each keeps its own schema)."""
    if len(slugs) == 1:
        return {"$ref": f"#/components/responses/{response_name(slugs[0])}"}
    each = [_problem_response(slug) for slug in slugs]
    headers = {name: h for name, h in each[0]["headers"].items() if all(name in e["headers"] for e in each)}
    return {
        "description": " Or ".join(e["description"] for e in each),
        "headers": headers,
        "content": {
            "application/problem+json": {"schema": {"oneOf": [ref(problem_name(slug)) for slug in slugs]}}
        },
    }


def components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": f"{KEY_PREFIX}…",
                "description": f"An API key, `Authorization: Bearer {KEY_PREFIX}…`, issued by an operator "
                f"(`driftstack keys create`). Scopes: {_choices(SCOPES)}; each operation names the one it "
                "needs (`x-required-scope`).",
            },
        },
        "schemas": dict(schemas()),
        "parameters": {
            "SessionId": {
                "name": "session_id",
                "in": "path",
                "required": True,
                "description": "A session id; a malformed or unknown one answers 404.",
                "schema": public_id("ses", "A session id."),
            },
            "ProfileId": {
                "name": "profile_id",
                "in": "path",
                "required": True,
                "description": "A profile id; a malformed, unknown, deleted or another account's one answers 404.",
                "schema": public_id("prof", "A profile id."),
            },
            "SnapshotId": {
                "name": "snapshot_id",
                "in": "path",
                "required": True,
                "description": "A snapshot id; a malformed, unknown or another account's one answers 404.",
                "schema": public_id("psnap", "A snapshot id."),
            },
            "ArtifactId": {
                "name": "artifact_id",
                "in": "path",
                "required": True,
                "description": "An artifact id; a malformed, unknown, deleted or another account's one answers 404.",
                "schema": public_id("art", "An artifact id."),
            },
            "ActingAccount": {
                "name": ACCOUNT_HEADER,
                "in": "header",
                "required": False,
                "description": "Act on a team owner's account that the key's account is a member of "
                "(members read and write the owner's sessions and read its profiles; only admin members "
                "write its profiles). Not a member: 403.",
                "schema": public_id("acc", "The owner's account id."),
            },
            "TenantId": {
                "name": TENANT_HEADER,
                "in": "header",
                "required": False,
                "description": f"The WebSocket's name for `{ACCOUNT_HEADER}` (seed 004's examples send it); it "
                "wins where both are sent.",
                "schema": public_id("acc", "The owner's account id."),
            },
            "RequestId": {
                "name": "X-Request-Id",
                "in": "header",
                "required": False,
                "description": "Your id for this request; echoed back and logged (generated when absent).",
                "schema": {"type": "string", "pattern": documented(SAFE_TEXT)},
            },
        },
        "headers": {
            "X-Request-Id": {
                "description": "The request's id (yours from `X-Request-Id`, else `req_…`).",
                "schema": {"type": "string"},
            },
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0, "examples": [CONCURRENCY_RETRY_AFTER_S]},
            },
        },
        "responses": {response_name(slug): _problem_response(slug) for slug in TYPES},
    }
