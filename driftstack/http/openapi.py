"""Route of /v1/openapi.json: the OpenAPI 3.1 document of every route, built once from the code."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from aiohttp import web

from .. import __version__
from ..domain.archetypes import DEFAULT_ARCHETYPE
from ..domain.profile import COPY_LIMIT
from ..domain.session import IDLE_TIMEOUT
from . import openapi_webhooks
from .context import ACCOUNT_HEADER, services
from .openapi_components import components
from .openapi_operations import json_answer, links_to, no_content, operation, param
from .shapes import api_keys, profiles, sessions, snapshots
from .shapes.artifacts import ArtifactList, SignedLink
from .shapes.audit import AuditQuery
from .shapes.base import public_id_pattern
from .shapes.common import TimePage
from .shapes.inspection import ConsoleQuery, NetworkQuery, OldestFirst

routes = web.RouteTableDef()
_EXAMPLE_KEY = "key_0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"

# What every call on a live session can meet besides its own validation.
_SESSION_OPERATIONS = (
    "getSession",
    "navigateSession",
    "interactWithSession",
    "waitInSession",
    "getSessionState",
    "captureSession",
    "destroySession",
)
_PROFILE_OPERATIONS = (
    "getProfile",
    "updateProfile",
    "cloneProfile",
    "captureProfileSnapshot",
    "listProfileSnapshots",
    "deleteProfile",
)
_SNAPSHOT_OPERATIONS = ("getSnapshot", "restoreSnapshot", "deleteSnapshot")
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
                body=sessions.CreateSession,
                body_required=False,
                query=sessions.CreateSessionQuery,
                ok=json_answer(
                    "Session", "The session: `creating`; `ready`/`errored` with `?wait=true`.", "201"
                ),
                problems=("not-found", "conflict", "concurrency-limit", "driver-not-integrated"),
                links=links_to("session_id", *_SESSION_OPERATIONS),
            ),
            "get": operation(
                "listSessions",
                "List sessions",
                "The account's sessions, newest first, cursor-paginated, optionally of one status.",
                tag="sessions",
                scope="read",
                query=sessions.SessionList,
                ok=json_answer("SessionPage", "A page of sessions."),
                problems=("validation-failed",),
            ),
        },
        "/v1/sessions/ws": {
            "get": operation(
                "openSessionSocket",
                "Drive a session over a WebSocket",
                "Upgrades to a WebSocket that drives one session with the JSON frames of seed 004: an `open` "
                "frame (`client`: `standard` HTTP fetches or a real `browser` session), then `goto`, `click`, "
                "`fill`, `content`, `evaluate`, `screenshot`, `close`, each answered in order, and `error` / "
                "`fatal` frames. The frames, their schemas and the error codes are in the AsyncAPI document "
                "(`GET /v1/asyncapi.json`). `X-Tenant-Id` names the account to act on, like "
                "`X-Driftstack-Account`. Without a valid key the upgrade is refused before any frame; a "
                "request that does not ask for the upgrade answers 426.",
                tag="sessions",
                scope="write",
                ok={
                    "101": {"description": "Switching Protocols: the socket is open; send the `open` frame."}
                },
                problems=("upgrade-required",),
                extra_parameters=("TenantId",),
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
                ok=no_content("Destroyed."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/navigate": {
            "parameters": list(session_id),
            "post": operation(
                "navigateSession",
                "Navigate",
                "Loads a URL and waits until `wait_until` (or its older name `wait_for`). A navigation "
                "that fails (DNS, TLS, network, timeout) answers 502 and leaves the session ready. The "
                "browser reaches only public addresses: a URL (or a redirect) to any other answers 403 "
                "`egress-refused`, naming the host and the operator's setting that would open it.",
                tag="sessions",
                scope="write",
                body=sessions.Navigate,
                ok=json_answer("NavigateResult", "Where the navigation ended."),
                problems=(*_ON_A_SESSION, "egress-refused"),
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
                body=sessions.Interaction,
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
                body=sessions.Wait,
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
        "/v1/sessions/{session_id}/network": {
            "parameters": list(session_id),
            "get": operation(
                "listSessionNetwork",
                "Read the network log",
                "Every request the session's page made, once it finished or failed, oldest first: URL, "
                "method, status, resource type, how long, the response's size, why it failed and whether "
                "the egress refused its address. Never headers, bodies or cookies. `status` keeps one "
                "status, `failed=true` the requests that got no response. Kept after the session ends: "
                "its last 5,000 requests (older ones are dropped first).",
                tag="inspection",
                scope="read",
                query=NetworkQuery,
                ok=json_answer("NetworkLog", "A page of the network log."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/egress": {
            "parameters": list(session_id),
            "get": operation(
                "getSessionEgress",
                "Read the egress log",
                "Every connection the session's browser made through Driftstack's egress, oldest first: "
                "host and port (a `tunnel` for https:// and wss://), method, URL and status for plain "
                "http://, bytes each way, how long, and whether the egress refused it and why. The last "
                "2,000 entries are kept; `totals` counts all of them. Held by the node that runs the "
                "session, while it runs and for its last 1,000 ended sessions; empty elsewhere.",
                tag="inspection",
                scope="read",
                query=OldestFirst,
                ok=json_answer("EgressLog", "A page of the egress log, and the session's totals."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/actions": {
            "parameters": list(session_id),
            "get": operation(
                "listSessionActions",
                "Read the action log",
                "Every navigate, interaction, wait, state read and capture the session ran, failed ones "
                "included, oldest first: its type, when it finished, whether it succeeded, what was asked "
                "(typed text never, only its length), how long it took and, failed, why. `total` counts "
                "them all. Kept after the session ends.",
                tag="inspection",
                scope="read",
                query=OldestFirst,
                ok=json_answer("ActionLog", "A page of the action log, and the total."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/navigations": {
            "parameters": list(session_id),
            "get": operation(
                "listSessionNavigations",
                "Read the navigation history",
                "Every page the session's browser landed on, oldest first: by a `navigate` (with the main "
                "document's HTTP status), by an interaction or wait after which the page was elsewhere (a "
                "link tapped, a form submitted), or by itself (its script, a timed redirect: `action_id` "
                "null). Kept after the session ends.",
                tag="inspection",
                scope="read",
                query=OldestFirst,
                ok=json_answer("NavigationHistory", "A page of the navigation history, and the total."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/console": {
            "parameters": list(session_id),
            "get": operation(
                "listSessionConsole",
                "Read the console log",
                "The page's console calls and the errors it did not catch, oldest first, from the session's "
                "start; `level` keeps one level. Kept after the session ends: its last 5,000 entries (older "
                "ones are dropped first), each message cut at 4,096 characters.",
                tag="inspection",
                scope="read",
                query=ConsoleQuery,
                ok=json_answer("ConsoleLog", "A page of the console log."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/artifacts": {
            "parameters": list(session_id),
            "get": operation(
                "listSessionArtifacts",
                "List the session's artifacts",
                "Every capture the session kept (all, unless a capture said `keep: false`), newest first, "
                "each with a signed `url` its bytes download from without a key. Kept after the session "
                "ends, until deleted or past the retention (`DRIFTSTACK_ARTIFACT_RETENTION_DAYS`, default 30).",
                tag="artifacts",
                scope="read",
                query=ArtifactList,
                ok=json_answer("ArtifactPage", "A page of artifacts, newest first."),
                problems=("not-found",),
            ),
        },
        "/v1/sessions/{session_id}/health": {
            "parameters": list(session_id),
            "get": operation(
                "getSessionHealth",
                "Check the session's health",
                "Whether the session's browser answers a trivial script within 1 s, with the session's "
                "status, current URL and uptime. An ended session answers 200 with `status: ended`.",
                tag="inspection",
                scope="read",
                ok=json_answer("SessionHealth", "The session's health now."),
                problems=("not-found",),
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
                body=sessions.Capture,
                ok=json_answer("CaptureResult", "The captured bytes."),
                problems=_ON_A_SESSION,
            ),
        },
    }


_PROFILE_WRITE = (
    "A plain team member acting on an owner's account (`X-Driftstack-Account`) cannot write its "
    "profiles (403); an admin member can."
)


def _profile_paths() -> dict[str, Any]:
    profile_id = (param("ProfileId"),)
    return {
        "/v1/profiles": {
            "post": operation(
                "createProfile",
                "Create a profile",
                "A named, persistent browser identity: cookies, localStorage and IndexedDB carry from one "
                "session on it to the next. Answers 200 (not 201). `archetype` defaults to "
                f"`{DEFAULT_ARCHETYPE}` and never changes afterwards. A name already used in the account "
                "(compared case-insensitively) answers 409; past the tier's profile cap, 429 `tier-limit` "
                f"with `limit`, `current`, `resource: profile` and `tier`. {_PROFILE_WRITE}",
                tag="profiles",
                scope="admin",
                body=profiles.CreateProfile,
                ok=json_answer("Profile", "The profile."),
                problems=("conflict", "tier-limit"),
                links=links_to("profile_id", *_PROFILE_OPERATIONS),
            ),
            "get": operation(
                "listProfiles",
                "List profiles",
                "The account's profiles, `created_at` descending then `id` descending, cursor-paginated.",
                tag="profiles",
                scope="read",
                query=TimePage,
                ok=json_answer("ProfilePage", "A page of profiles."),
                problems=("validation-failed",),
            ),
        },
        "/v1/profiles/{profile_id}": {
            "parameters": list(profile_id),
            "get": operation(
                "getProfile",
                "Get a profile",
                "One profile; another account's answers 404 like a missing one.",
                tag="profiles",
                scope="read",
                ok=json_answer("Profile", "The profile."),
                problems=("not-found",),
            ),
            "patch": operation(
                "updateProfile",
                "Rename or redescribe a profile",
                "Both fields optional; `description: null` clears it. `archetype` cannot change (400): "
                f"clone the profile with a new archetype instead. {_PROFILE_WRITE}",
                tag="profiles",
                scope="admin",
                body=profiles.UpdateProfile,
                ok=json_answer("Profile", "The profile as it is now."),
                problems=("not-found", "conflict"),
            ),
            "delete": operation(
                "deleteProfile",
                "Delete a profile",
                "Deletes the profile and its browser state; its snapshots stay, restorable, with "
                "`parent_profile_id: null`. First 204, then 404. A profile a live session holds answers "
                f"409 until the session ends. {_PROFILE_WRITE}",
                tag="profiles",
                scope="admin",
                ok=no_content("Deleted."),
                problems=("not-found", "conflict"),
            ),
        },
        "/v1/profiles/{profile_id}/clone": {
            "parameters": list(profile_id),
            "post": operation(
                "cloneProfile",
                "Clone a profile",
                "A new profile with the source's archetype (or the one given: repin by cloning) and "
                "description, and a fresh browser state. Without `name` it is named `NAME (copy)`, "
                f"`NAME (copy 2)` … up to `(copy {COPY_LIMIT})`, then 409. The audit entry "
                f"`profile.created` carries `payload.cloned_from`. Cap and name rules as create. {_PROFILE_WRITE}",
                tag="profiles",
                scope="admin",
                body=profiles.CloneProfile,
                body_required=False,
                ok=json_answer("Profile", "The clone."),
                problems=("not-found", "conflict", "tier-limit"),
                links=links_to("profile_id", *_PROFILE_OPERATIONS),
            ),
        },
        "/v1/profiles/{profile_id}/snapshots": {
            "parameters": list(profile_id),
            "post": operation(
                "captureProfileSnapshot",
                "Snapshot a profile",
                "Freezes the profile's name, archetype and browser state (as its last session wrote it "
                f"back) under a new `psnap_` id. The snapshot never changes. {_PROFILE_WRITE}",
                tag="snapshots",
                scope="admin",
                body=snapshots.CaptureSnapshot,
                ok=json_answer("ProfileSnapshot", "The snapshot."),
                problems=("not-found",),
                links=links_to("snapshot_id", *_SNAPSHOT_OPERATIONS),
            ),
            "get": operation(
                "listProfileSnapshots",
                "List a profile's snapshots",
                "Newest first, cursor-paginated.",
                tag="snapshots",
                scope="read",
                query=TimePage,
                ok=json_answer("ProfileSnapshotPage", "A page of snapshots."),
                problems=("validation-failed", "not-found"),
            ),
        },
    }


def _snapshot_paths() -> dict[str, Any]:
    snapshot_id = (param("SnapshotId"),)
    return {
        "/v1/profile-snapshots": {
            "get": operation(
                "listSnapshots",
                "List every snapshot",
                "Every snapshot of the account across its profiles (deleted ones' included), newest first.",
                tag="snapshots",
                scope="read",
                query=TimePage,
                ok=json_answer("ProfileSnapshotPage", "A page of snapshots."),
                problems=("validation-failed",),
            ),
        },
        "/v1/artifacts/{artifact_id}": {
            "parameters": [param("ArtifactId")],
            "get": operation(
                "getArtifact",
                "Get an artifact",
                "One kept capture, with a fresh signed `url` (valid for `DRIFTSTACK_ARTIFACT_URL_TTL_S`, "
                "default 15 minutes).",
                tag="artifacts",
                scope="read",
                ok=json_answer("Artifact", "The artifact."),
                problems=("not-found",),
            ),
            "delete": operation(
                "deleteArtifact",
                "Delete an artifact",
                "Deletes the artifact and its bytes; its links stop working. First 204, then 404. The audit "
                "log records `artifact.deleted`.",
                tag="artifacts",
                scope="write",
                ok=no_content("Deleted."),
                problems=("not-found",),
            ),
        },
        "/v1/artifacts/{artifact_id}/content": {
            "parameters": [param("ArtifactId")],
            "get": operation(
                "getArtifactContent",
                "Download an artifact",
                "The artifact's bytes, through the signed link its `url` gives: no bearer key, the link is "
                "the grant. An altered link or one past its expiry answers 403 `link-refused`; a deleted "
                "artifact 404.",
                tag="artifacts",
                scope=None,
                query=SignedLink,
                ok={
                    "200": {
                        "description": "The bytes, as `Content-Type` says.",
                        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
                        "content": {
                            kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in ("image/png", "application/pdf", "text/html")
                        },
                    }
                },
                problems=("link-refused", "not-found"),
            ),
        },
        "/v1/profile-snapshots/{snapshot_id}": {
            "parameters": list(snapshot_id),
            "get": operation(
                "getSnapshot",
                "Get a snapshot",
                "One snapshot.",
                tag="snapshots",
                scope="read",
                ok=json_answer("ProfileSnapshot", "The snapshot."),
                problems=("not-found",),
            ),
            "delete": operation(
                "deleteSnapshot",
                "Delete a snapshot",
                f"Deletes the snapshot and its copy of the browser state. First 204, then 404. {_PROFILE_WRITE}",
                tag="snapshots",
                scope="admin",
                ok=no_content("Deleted."),
                problems=("not-found",),
            ),
        },
        "/v1/profile-snapshots/{snapshot_id}/restore": {
            "parameters": list(snapshot_id),
            "post": operation(
                "restoreSnapshot",
                "Restore a snapshot as a new profile",
                "A NEW profile with the snapshot's archetype, its description (else the parent's at "
                "capture) and its browser state; the parent is not modified, even if renamed or deleted. "
                "Answers 200. Counts against the profile cap (429) and 409s on a taken name. The audit "
                f"entry `profile.created` carries `payload.restored_from_snapshot`. {_PROFILE_WRITE}",
                tag="snapshots",
                scope="admin",
                body=snapshots.RestoreSnapshot,
                ok=json_answer("Profile", "The new profile."),
                problems=("not-found", "conflict", "tier-limit"),
                links=links_to("profile_id", *_PROFILE_OPERATIONS),
            ),
        },
    }


def _key_paths() -> dict[str, Any]:
    own = (
        "Only the account's own keys: a member acting on an owner's account (`X-Driftstack-Account`) "
        "answers 403."
    )
    return {
        "/v1/api-keys": {
            "get": operation(
                "listApiKeys",
                "List the account's keys",
                "Every key of the account, revoked and expired ones included, newest first, "
                f"cursor-paginated. Never a secret, never a hash. {own}",
                tag="api-keys",
                scope="admin",
                query=TimePage,
                ok=json_answer("ApiKeyPage", "A page of keys."),
            ),
            "post": operation(
                "createApiKey",
                "Mint a key",
                "A new key on the account, with at most the scopes of the calling key (asking for "
                "more answers 403) and, with `expires_in`, a lifetime. The secret is in this answer "
                f"only: Driftstack keeps its SHA-256 hash. Audited as `api_key.created`. {own}",
                tag="api-keys",
                scope="admin",
                body=api_keys.CreateApiKey,
                ok=json_answer("NewApiKey", "The key, with its secret.", "201"),
                links=links_to("key_id", "revokeApiKey"),
            ),
        },
        "/v1/api-keys/{key_id}": {
            "parameters": [
                {
                    "name": "key_id",
                    "in": "path",
                    "required": True,
                    "description": "A key id; a malformed, unknown or another account's one answers 404.",
                    "schema": {
                        "type": "string",
                        "pattern": public_id_pattern("key"),
                        "examples": [_EXAMPLE_KEY],
                    },
                }
            ],
            "delete": operation(
                "revokeApiKey",
                "Revoke a key",
                "The key answers 401 from then on, on every node: this answers once that holds. "
                "Idempotent: a revoked key answers 204 again. A key may revoke itself. Audited as "
                f"`api_key.revoked`. {own}",
                tag="api-keys",
                scope="admin",
                ok=no_content("Revoked."),
                problems=("not-found",),
            ),
        },
    }


def _other_paths() -> dict[str, Any]:
    return {
        "/v1/audit-log": {
            "get": operation(
                "listAuditLog",
                "Read the audit log",
                "What happened to the account's resources (sessions, profiles, snapshots, the account, its "
                f"keys), newest first. A session destroyed after sitting idle shows `reason: {IDLE_TIMEOUT}`; "
                "`profile.created` shows where a profile came from (`cloned_from`, `restored_from_snapshot`).",
                tag="audit",
                scope="read",
                query=AuditQuery,
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
                "Whether the service can serve: its store, each view's position, and which browser it "
                "drives (no key). 503 while the store cannot be reached or a view is failing.",
                tag="meta",
                scope=None,
                ok={
                    **json_answer("Health", "The store answers and every view follows it."),
                    **json_answer("Health", "The store cannot be reached, or a view is failing.", "503"),
                },
            ),
        },
        "/livez": {
            "get": operation(
                "getLiveness",
                "Liveness",
                "200 whenever the process answers at all, whatever its store (no key).",
                tag="meta",
                scope=None,
                ok=json_answer("Liveness", "The process is running."),
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
        "/v1/asyncapi.json": {
            "get": operation(
                "getAsyncApiDocument",
                "The WebSocket protocol's document",
                "The AsyncAPI 3.0 document of `GET /v1/sessions/ws`: every frame, its schema and the error "
                "codes (no key needed).",
                tag="meta",
                scope=None,
                ok=json_answer("AsyncApiDocument", "The document."),
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
            "wait), read it (state), capture it (screenshot, PDF, DOM snapshot) and destroy it. Bind it "
            "to a profile to keep cookies, localStorage and IndexedDB from one session to the next; "
            "receive signed webhooks when sessions end. "
            "Authenticate with `Authorization: Bearer ds_live_…`. Lists are cursor-paginated "
            "(`{data, has_more, next_cursor}`). Every error is `application/problem+json` (see the "
            "`Problem` schema for every type). No string anywhere in a request (body at any depth, "
            "query, path, header) may hold NUL or a lone surrogate (`\\ud800` to `\\udfff` escapes): 400 "
            "`validation-failed` naming the field. JSON bodies nest at most 32 deep.",
        },
        "tags": [
            {"name": "sessions", "description": "Browser sessions and the actions on them."},
            {
                "name": "artifacts",
                "description": "Captures kept after the session, with signed download links.",
            },
            {
                "name": "inspection",
                "description": "What happened in a session: actions, navigations, network, health.",
            },
            {"name": "profiles", "description": "Persistent browser identities sessions can run on."},
            {"name": "snapshots", "description": "Immutable point-in-time copies of profiles."},
            {"name": "webhooks", "description": "Signed webhooks: endpoints, event types, deliveries."},
            {"name": "api-keys", "description": "The account's own API keys: list, mint, revoke."},
            {"name": "audit", "description": "The audit log."},
            {"name": "account", "description": "The calling account."},
            {"name": "meta", "description": "Health and this document."},
        ],
        "security": [{"bearer": []}],
        "paths": {
            **_session_paths(),
            **_profile_paths(),
            **_snapshot_paths(),
            **openapi_webhooks.paths(),
            **_key_paths(),
            **_other_paths(),
        },
        "webhooks": openapi_webhooks.outgoing(),
        "components": _components(),
    }


def _components() -> dict[str, Any]:
    parts = components()
    parts["parameters"].update(openapi_webhooks.parameters())
    return parts


@cache
def _document_json(proxies: tuple[str, ...], engines: tuple[str, ...]) -> str:
    return json.dumps(as_offered(document(), proxies, engines))


def as_offered(doc: dict[str, Any], proxies: tuple[str, ...], engines: tuple[str, ...]) -> dict[str, Any]:
    """The document as this service answers it: `proxy` takes exactly the names its operator offers (none:
    only null) and `engine` the engines installed here, so a client, or a fuzzer, knows what is valid here."""
    doc = copy.deepcopy(doc)
    properties = doc["components"]["schemas"]["CreateSession"]["properties"]
    for name, offered in (("proxy", proxies), ("engine", engines)):
        schema = properties[name]
        named = schema["anyOf"][0]
        choices: dict[str, Any] = {"type": "string", "enum": list(offered)} if offered else {"not": {}}
        schema["anyOf"][0] = {k: v for k, v in named.items() if k == "description"} | choices
    return doc


@routes.get("/v1/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    proxies = tuple(sorted(services(request).sessions.egress.upstreams))
    engines = services(request).driver.installed()
    return web.Response(text=_document_json(proxies, engines), content_type="application/json")
