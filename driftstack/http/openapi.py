"""Route of /v1/openapi.json: the OpenAPI 3.1 document of every route, built once from the code."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aiohttp import web

from .. import __version__
from ..domain.archetypes import DEFAULT_ARCHETYPE
from ..domain.profile import COPY_LIMIT
from ..domain.session import IDLE_TIMEOUT
from ..projections.audit import ACTIONS
from . import openapi_webhooks
from .audit import FILTERS
from .context import ACCOUNT_HEADER
from .openapi_operations import json_answer, no_content, operation, param
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
                body="CreateProfile",
                ok=json_answer("Profile", "The profile."),
                problems=("conflict", "tier-limit"),
            ),
            "get": operation(
                "listProfiles",
                "List profiles",
                "The account's profiles, `created_at` descending then `id` descending, cursor-paginated.",
                tag="profiles",
                scope="read",
                parameters=(param("Limit"), param("Cursor")),
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
                body="UpdateProfile",
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
                body="CloneProfile",
                body_required=False,
                ok=json_answer("Profile", "The clone."),
                problems=("not-found", "conflict", "tier-limit"),
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
                body="CaptureSnapshot",
                ok=json_answer("ProfileSnapshot", "The snapshot."),
                problems=("not-found",),
            ),
            "get": operation(
                "listProfileSnapshots",
                "List a profile's snapshots",
                "Newest first, cursor-paginated.",
                tag="snapshots",
                scope="read",
                parameters=(param("Limit"), param("Cursor")),
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
                parameters=(param("Limit"), param("Cursor")),
                ok=json_answer("ProfileSnapshotPage", "A page of snapshots."),
                problems=("validation-failed",),
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
                body="RestoreSnapshot",
                ok=json_answer("Profile", "The new profile."),
                problems=("not-found", "conflict", "tier-limit"),
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
                "What happened to the account's resources (sessions, profiles, snapshots, the account, its "
                f"keys), newest first. A session destroyed after sitting idle shows `reason: {IDLE_TIMEOUT}`; "
                "`profile.created` shows where a profile came from (`cloned_from`, `restored_from_snapshot`).",
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
            "wait), read it (state), capture it (screenshot, PDF, DOM snapshot) and destroy it. Bind it "
            "to a profile to keep cookies, localStorage and IndexedDB from one session to the next; "
            "receive signed webhooks when sessions end. "
            "Authenticate with `Authorization: Bearer ds_live_…`. Lists are cursor-paginated "
            "(`{data, has_more, next_cursor}`). Every error is `application/problem+json` (see the "
            "`Problem` schema for every type).",
        },
        "tags": [
            {"name": "sessions", "description": "Browser sessions and the actions on them."},
            {"name": "profiles", "description": "Persistent browser identities sessions can run on."},
            {"name": "snapshots", "description": "Immutable point-in-time copies of profiles."},
            {"name": "webhooks", "description": "Signed webhooks: endpoints, event types, deliveries."},
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
            **_other_paths(),
        },
        "webhooks": openapi_webhooks.outgoing(),
        "components": _components(),
    }


def _components() -> dict[str, Any]:
    parts = components()
    parts["schemas"].update(openapi_webhooks.schemas())
    parts["parameters"].update(openapi_webhooks.parameters())
    return parts


@cache
def _document_json() -> str:
    return json.dumps(document())


@routes.get("/v1/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(text=_document_json(), content_type="application/json")
