"""The reusable parts of the OpenAPI document (schemas, parameters, responses), derived from the code."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..domain.account import ROLES
from ..domain.api_key import KEY_PREFIX, SCOPES
from ..domain.archetypes import CATALOGUE, DEFAULT_ARCHETYPE, SLUG_PATTERN
from ..domain.behavior import BEHAVIORS
from ..domain.profile import DESCRIPTION_MAX, NAME_MAX
from ..domain.profile_snapshot import LABEL_MAX
from ..domain.tiers import TIERS
from ..projections.audit import ACTIONS
from ..projections.profiles import PROFILE_FIELDS, SNAPSHOT_FIELDS
from ..projections.sessions import FIELDS, new_session_document
from ..sessions import DOM_SNAPSHOT_CAP, PDF_CAP, SCREENSHOT_CAP, STATE_HTML_CAP
from ..settings import Settings
from .context import ACCOUNT_HEADER
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .problems import CONCURRENCY_RETRY_AFTER_S, PROBLEM_BASE, TYPES
from .sessions import MAX_TIMEOUT_MS, PURPOSES, RESERVED_PURPOSES, STATUSES, WAIT_UNTIL

Schema = dict[str, Any]

# The handlers spell these choices inline; tests/e2e/test_openapi.py checks them against the
# validation messages the running service gives, so they cannot drift apart unnoticed.
INTERACTION_TYPES = ("tap", "type", "scroll", "press")
SCROLL_DIRECTIONS = ("up", "down", "left", "right")
WAIT_KINDS = ("selector", "navigation", "duration")
CAPTURE_KINDS = ("screenshot", "pdf", "dom_snapshot")

MAX_SELECTOR = 2048
MAX_URL = 8192
MAX_TEXT = 100_000
MAX_KEY = 64
MAX_LABEL = 120
MAX_PIXELS = 100_000
MAX_METADATA_BYTES = 16_384
MAX_REQUEST_BYTES = 1024 * 1024  # aiohttp's client_max_size, set in app.py
AUDIT_RESOURCE_TYPES = tuple(dict.fromkeys(action.split(".")[0] for action in ACTIONS.values()))
_ACTION_TIMEOUT_MS = next(f.default for f in fields(Settings) if f.name == "action_timeout_ms")
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_EXAMPLE_UUID = UUID("0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f")


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def or_null(schema: Schema) -> Schema:
    """The schema, also allowing JSON null (enums list null too, as JSON Schema needs)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        widened = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            widened["enum"] = [*schema["enum"], None]
        return widened
    return {"anyOf": [schema, {"type": "null"}]}


def public_id(prefix: str, what: str) -> Schema:
    return {
        "type": "string",
        "pattern": f"^{prefix}_{_UUID}$",
        "description": what,
        "examples": [f"{prefix}_{_EXAMPLE_UUID}"],
    }


def _choices(values: Any) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _timeout(what: str) -> Schema:
    return or_null(
        {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_TIMEOUT_MS,
            "description": f"How long {what} may take, in ms (default: DRIFTSTACK_ACTION_TIMEOUT_MS, "
            f"{_ACTION_TIMEOUT_MS} unless the server sets it).",
        }
    )


def _selector(required: bool, what: str) -> Schema:
    schema: Schema = {"type": "string", "maxLength": MAX_SELECTOR, "description": what}
    return {**schema, "minLength": 1} if required else or_null(schema)


def _const(value: str) -> Schema:
    return {"type": "string", "const": value}


def _mapping(kinds: tuple[str, ...], variants: dict[str, Schema]) -> dict[str, str]:
    return {kind: f"#/components/schemas/{name}" for kind, name in zip(kinds, variants, strict=True)}


def _body(title: str, properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """A request body: unknown fields are refused (400 `<field>: is not a field of this request`)."""
    schema: Schema = {
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


_ARCHETYPES = "\n".join(f"- `{slug}`: {a.title}" for slug, a in CATALOGUE.items())

_SESSION_EXAMPLE = new_session_document(
    session_id=_EXAMPLE_UUID,
    account_id=f"acc_{_EXAMPLE_UUID}",
    api_key_id=f"key_{_EXAMPLE_UUID}",
    archetype=DEFAULT_ARCHETYPE,
    purpose=PURPOSES[0],
    label="login flow",
    metadata={"ticket": "SUP-42"},
    behavioral_profile=None,
    profile_id=None,
    created_at=datetime(2026, 5, 12, 12, 0, tzinfo=UTC),
)


def _request_schemas() -> dict[str, Schema]:
    return {
        "CreateSession": _body(
            "CreateSession",
            {
                "archetype": or_null(
                    {
                        "type": "string",
                        "maxLength": 60,
                        "pattern": SLUG_PATTERN.pattern,
                        "default": "default",
                        "description": "The device persona, a lowercase slug of 3 to 60 characters `[a-z0-9_]`. "
                        f"`default` (or an omitted field) means the account's default, `{DEFAULT_ARCHETYPE}`. "
                        "A well-formed slug outside the catalogue answers 400. The catalogue:\n"
                        + _ARCHETYPES,
                        "examples": ["default", *CATALOGUE],
                    }
                ),
                "purpose": or_null(
                    {
                        "type": "string",
                        "enum": list(PURPOSES),
                        "default": PURPOSES[0],
                        "description": f"The driver harness configuration. {_choices(RESERVED_PURPOSES)} are "
                        "reserved for Driftstack-internal operations and need the `admin` scope (else 403).",
                    }
                ),
                "label": or_null(
                    {
                        "type": "string",
                        "maxLength": MAX_LABEL,
                        "description": "A short name of your own, shown in dashboards and the audit log.",
                    }
                ),
                "metadata": or_null(
                    {
                        "type": "object",
                        "description": f"Any JSON object for your own bookkeeping, at most {MAX_METADATA_BYTES} "
                        "bytes once serialised.",
                    }
                ),
                "behavioral_profile": or_null(
                    {
                        "type": "string",
                        "enum": list(BEHAVIORS),
                        "description": "The pace of a simulated person: pauses before each action and between "
                        "keystrokes. Omitted: no pauses.",
                    }
                ),
                "profile_id": or_null(
                    {
                        "type": "string",
                        "maxLength": 64,
                        "pattern": "^prof_",
                        "description": "A profile (`prof_<uuid>`) to bind the session to: the browser starts "
                        "with the profile's cookies, localStorage and IndexedDB, and writes them back when the "
                        "session ends. The session runs as the profile's archetype (another explicit "
                        "`archetype` answers 400). While another session holds the profile this one stays "
                        "`creating`; past DRIFTSTACK_PROFILE_WAIT_S it ends `errored` (`reason: "
                        "profile_busy`). A deleted, unknown or another account's profile answers 404; a "
                        "malformed id 400.",
                    }
                ),
            },
        ),
        "Navigate": _body(
            "Navigate",
            {
                "url": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_URL,
                    "pattern": "^(https?://|about:blank$)",
                    "description": "An absolute `http://` or `https://` URL, or `about:blank`.",
                },
                "wait_until": or_null(
                    {
                        "type": "string",
                        "enum": list(WAIT_UNTIL),
                        "default": WAIT_UNTIL[0],
                        "description": "When the navigation counts as done. Wins over `wait_for` when both are sent.",
                    }
                ),
                "wait_for": or_null(
                    {
                        "type": "string",
                        "enum": list(WAIT_UNTIL),
                        "description": "The older name of `wait_until` (same values).",
                    }
                ),
                "timeout_ms": _timeout("the navigation"),
            },
            required=("url",),
        ),
        **_interaction_schemas(),
        **_wait_schemas(),
        "Capture": _body(
            "Capture",
            {
                "kind": {
                    "type": "string",
                    "enum": list(CAPTURE_KINDS),
                    "description": f"`screenshot` (PNG, at most {SCREENSHOT_CAP} bytes), `pdf` (at most "
                    f"{PDF_CAP} bytes; Chromium only) or `dom_snapshot` (serialised DOM, at most "
                    f"{DOM_SNAPSHOT_CAP} bytes). Over the cap: 413.",
                },
                "full_page": or_null(
                    {
                        "type": "boolean",
                        "default": False,
                        "description": "Screenshot the whole page rather than the viewport.",
                    }
                ),
            },
            required=("kind",),
        ),
    }


_NAME: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": NAME_MAX,
    # ECMA-262 and Python's `re` both read this; it spells out the Cc and common Cf characters.
    "pattern": r"^[^\s\x00-\x1f\x7f-\x9f\xad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+$",
    "description": f"Unique within the account (case-insensitively); 1 to {NAME_MAX} characters, no "
    "whitespace or control characters. Lowercase and hyphens recommended.",
    "examples": ["production"],
}
_DESCRIPTION: Schema = or_null(
    {
        "type": "string",
        "maxLength": DESCRIPTION_MAX,
        "description": f"Free-form, at most {DESCRIPTION_MAX} characters.",
    }
)
_ARCHETYPE: Schema = or_null(
    {
        "type": "string",
        "maxLength": 60,
        "pattern": SLUG_PATTERN.pattern,
        "description": f"A persona of the catalogue (see CreateSession); `default` is `{DEFAULT_ARCHETYPE}`.",
        "examples": ["default", *CATALOGUE],
    }
)


def _profile_request_schemas() -> dict[str, Schema]:
    return {
        "CreateProfile": _body(
            "CreateProfile",
            {"name": _NAME, "archetype": _ARCHETYPE, "description": _DESCRIPTION},
            required=("name",),
        ),
        "UpdateProfile": _body(
            "UpdateProfile",
            {
                "name": _NAME,
                "description": {**_DESCRIPTION, "description": "null clears it; absent keeps it."},
            },
        ),
        "CloneProfile": _body(
            "CloneProfile",
            {
                "name": {**_NAME, "description": "Absent: `NAME (copy)`, `NAME (copy 2)` … (copy 99)."},
                "archetype": {**_ARCHETYPE, "description": "Absent: the source's archetype."},
            },
        ),
        "CaptureSnapshot": _body(
            "CaptureSnapshot",
            {
                "label": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": LABEL_MAX,
                    "pattern": "^[^\\x00-\\x1f\\x7f]*\\S[^\\x00-\\x1f\\x7f]*$",
                    "examples": ["before-iOS-26-rollout"],
                },
                "description": _DESCRIPTION,
            },
            required=("label",),
        ),
        "RestoreSnapshot": _body("RestoreSnapshot", {"name": _NAME}, required=("name",)),
    }


def _profile_response_schemas() -> Schema:
    timestamp, maybe_timestamp = ref("Timestamp"), or_null(ref("Timestamp"))
    profile: dict[str, Schema] = {
        "id": public_id("prof", "The profile id."),
        "name": {"type": "string", "maxLength": NAME_MAX},
        "archetype": {"type": "string", "pattern": SLUG_PATTERN.pattern, "description": "Sticky for life."},
        "description": or_null({"type": "string", "maxLength": DESCRIPTION_MAX}),
        "last_used_at": {
            **maybe_timestamp,
            "description": "When a session last started on it; null until then.",
        },
        "created_at": timestamp,
        "updated_at": timestamp,
    }
    snapshot: dict[str, Schema] = {
        "id": public_id("psnap", "The snapshot id."),
        "parent_profile_id": {
            **or_null(public_id("prof", "The profile it was taken of.")),
            "description": "null once that profile is deleted.",
        },
        "parent_name": {"type": "string", "description": "The parent's name at capture."},
        "parent_archetype": {"type": "string", "description": "The parent's archetype at capture."},
        "label": {"type": "string", "maxLength": LABEL_MAX},
        "description": or_null({"type": "string", "maxLength": DESCRIPTION_MAX}),
        "captured_at": timestamp,
    }
    assert tuple(profile) == PROFILE_FIELDS and tuple(snapshot) == SNAPSHOT_FIELDS
    return {
        "Profile": {
            "type": "object",
            "description": "A persistent browser identity. Its browser state is not exposed.",
            "properties": profile,
            "required": list(PROFILE_FIELDS),
            "additionalProperties": False,
        },
        "ProfilePage": _page_of("Profile", "profiles"),
        "ProfileSnapshot": {
            "type": "object",
            "description": "An immutable copy of a profile's name, archetype and browser state.",
            "properties": snapshot,
            "required": list(SNAPSHOT_FIELDS),
            "additionalProperties": False,
        },
        "ProfileSnapshotPage": _page_of("ProfileSnapshot", "snapshots"),
    }


def _interaction_schemas() -> dict[str, Schema]:
    timeout = _timeout("finding the element")
    variants = {
        "TapInteraction": _body(
            "TapInteraction",
            {
                "type": _const("tap"),
                "selector": _selector(True, "The element to tap (a click where the persona has no touch)."),
                "timeout_ms": timeout,
            },
            required=("type", "selector"),
        ),
        "TypeInteraction": _body(
            "TypeInteraction",
            {
                "type": _const("type"),
                "selector": _selector(False, "The element to type into; omitted: the focused element."),
                "text": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_TEXT,
                    "description": "Typed keystroke by keystroke. The audit log keeps only its length.",
                },
                "timeout_ms": timeout,
            },
            required=("type", "text"),
        ),
        "ScrollInteraction": _body(
            "ScrollInteraction",
            {
                "type": _const("scroll"),
                "selector": _selector(False, "The element to scroll; omitted: the window."),
                "direction": or_null({"type": "string", "enum": list(SCROLL_DIRECTIONS), "default": "down"}),
                "pixels": {"type": "integer", "minimum": 1, "maximum": MAX_PIXELS},
                "timeout_ms": timeout,
            },
            required=("type", "pixels"),
        ),
        "PressInteraction": _body(
            "PressInteraction",
            {
                "type": _const("press"),
                "selector": _selector(
                    False, "The element to press the key on; omitted: the focused element."
                ),
                "key": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_KEY,
                    "description": "A key name as Playwright spells it, e.g. `Enter`, `ArrowDown`, `Control+A`.",
                },
                "timeout_ms": timeout,
            },
            required=("type", "key"),
        ),
    }
    return {
        **variants,
        "Interaction": {
            "description": "One interaction; `type` says which, and which other fields it takes.",
            "oneOf": [ref(name) for name in variants],
            "discriminator": {
                "propertyName": "type",
                "mapping": _mapping(INTERACTION_TYPES, variants),
            },
        },
    }


def _wait_schemas() -> dict[str, Schema]:
    timeout = _timeout("the wait")
    variants = {
        "SelectorWait": _body(
            "SelectorWait",
            {
                "kind": _const("selector"),
                "selector": _selector(True, "Waits until an element matching it is visible."),
                "timeout_ms": timeout,
            },
            required=("kind", "selector"),
        ),
        "NavigationWait": _body(
            "NavigationWait",
            {
                "kind": _const("navigation"),
                "timeout_ms": timeout,
            },
            required=("kind",),
        ),
        "DurationWait": _body(
            "DurationWait",
            {
                "kind": _const("duration"),
                "duration_ms": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_TIMEOUT_MS,
                    "description": "How long to sleep; counts toward your minute-meter.",
                },
                "timeout_ms": timeout,
            },
            required=("kind", "duration_ms"),
        ),
    }
    return {
        **variants,
        "Wait": {
            "description": "What to wait for; `kind` says which, and which other fields it takes.",
            "oneOf": [ref(name) for name in variants],
            "discriminator": {
                "propertyName": "kind",
                "mapping": _mapping(WAIT_KINDS, variants),
            },
        },
    }


def _session_schema() -> Schema:
    timestamp, maybe_timestamp = ref("Timestamp"), or_null(ref("Timestamp"))
    properties: dict[str, Schema] = {
        "id": public_id("ses", "The session id."),
        "account_id": public_id("acc", "The account the session belongs to."),
        "api_key_id": public_id("key", "The key that created it."),
        "status": {
            "type": "string",
            "enum": list(STATUSES),
            "description": "`creating` → `ready` (⇄ `busy` while an action runs) → `destroyed`; "
            "`errored` is an abnormal, terminal end.",
        },
        "archetype": {
            "type": "string",
            "pattern": SLUG_PATTERN.pattern,
            "description": "The persona it runs as (`default` resolved to its slug).",
        },
        "purpose": {"type": "string", "enum": list(PURPOSES)},
        "label": or_null({"type": "string", "maxLength": MAX_LABEL}),
        "metadata": or_null({"type": "object"}),
        "behavioral_profile": or_null({"type": "string", "enum": list(BEHAVIORS)}),
        "profile_id": or_null({"type": "string", "description": "The profile it runs on, if any."}),
        "reason": or_null(
            {
                "type": "string",
                "description": "Why it ended, once `destroyed` or `errored`: e.g. `client_request`, "
                "`idle_timeout`, `provisioning_failed`, `provisioning_timeout`, `browser_crashed`, "
                "`service_stopped`, `service_restarted`, `profile_busy` (its profile stayed held by "
                "another session too long), `profile_deleted`.",
            }
        ),
        "current_url": or_null({"type": "string", "description": "Where the page was at the last action."}),
        "title": or_null({"type": "string", "description": "The page title at the last action."}),
        "action_count": {
            "type": "integer",
            "minimum": 0,
            "description": "Actions run, failed ones included.",
        },
        "screenshot_count": {"type": "integer", "minimum": 0},
        "created_at": timestamp,
        "updated_at": {**timestamp, "description": "The last status change."},
        "last_state_at": {
            **maybe_timestamp,
            "description": "The last navigate / interact / wait / state / capture acknowledgement.",
        },
        "destroyed_at": {**maybe_timestamp, "description": "When it became `destroyed` or `errored`."},
    }
    return {
        "type": "object",
        "description": "A browser session: a flat object, no envelope.",
        "properties": properties,
        "required": list(FIELDS),
        "additionalProperties": False,
        "examples": [_SESSION_EXAMPLE],
    }


def _page_of(item: str, what: str) -> Schema:
    return {
        "type": "object",
        "description": f"One page of {what}, newest first. "
        "Pass `next_cursor` back as `?cursor=` for the next.",
        "properties": {
            "data": {"type": "array", "items": ref(item), "maxItems": MAX_LIMIT},
            "has_more": {"type": "boolean"},
            "next_cursor": or_null({"type": "string", "description": "Opaque; null on the last page."}),
        },
        "required": ["data", "has_more", "next_cursor"],
        "additionalProperties": False,
    }


def _done(extra: dict[str, Schema], required: tuple[str, ...]) -> Schema:
    """An action's answer: the session is ready again, and how long the action took."""
    return {
        "type": "object",
        "properties": {
            "status": {"type": "string", "const": "ready"},
            **extra,
            "duration_ms": {"type": "integer", "minimum": 0},
        },
        "required": ["status", *required, "duration_ms"],
        "additionalProperties": False,
    }


def _response_schemas() -> dict[str, Schema]:
    return {
        "Timestamp": {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
            "examples": ["2026-05-12T12:00:00.000Z"],
        },
        "Session": _session_schema(),
        "SessionPage": _page_of("Session", "sessions"),
        "NavigateResult": _done(
            {
                "current_url": {
                    "type": "string",
                    "description": "Where the navigation ended (after redirects).",
                },
                "title": {"type": "string"},
                "http_status": or_null({"type": "integer", "description": "null without an HTTP response."}),
            },
            ("current_url", "title", "http_status"),
        ),
        "InteractResult": _done({"type": {"type": "string", "enum": list(INTERACTION_TYPES)}}, ("type",)),
        "WaitResult": _done({"kind": {"type": "string", "enum": list(WAIT_KINDS)}}, ("kind",)),
        "PageState": {
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "title": {"type": "string"},
                "html": {"type": "string", "description": f"The DOM HTML, cut at {STATE_HTML_CAP} bytes."},
                "html_truncated": {"type": "boolean"},
                "viewport": {
                    "type": "object",
                    "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
                },
                "cookies": {"type": "array", "items": ref("Cookie")},
                "byte_size": {"type": "integer", "minimum": 0, "description": "The full HTML's size."},
                "duration_ms": {"type": "integer", "minimum": 0},
            },
            "required": [
                "url",
                "title",
                "html",
                "html_truncated",
                "viewport",
                "cookies",
                "byte_size",
                "duration_ms",
            ],
            "additionalProperties": False,
        },
        "Cookie": {
            "type": "object",
            "description": "A cookie of the session's browser context.",
            "properties": {
                "name": {"type": "string"},
                "value": {"type": "string"},
                "domain": {"type": "string"},
                "path": {"type": "string"},
                "expires": {"type": "number", "description": "Unix seconds; -1 for a session cookie."},
                "httpOnly": {"type": "boolean"},
                "secure": {"type": "boolean"},
                "sameSite": {"type": "string", "enum": ["Strict", "Lax", "None"]},
            },
            "required": ["name", "value", "domain", "path"],
        },
        "CaptureResult": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": list(CAPTURE_KINDS)},
                "data": {"type": "string", "description": "The bytes, encoded as `encoding` says."},
                "encoding": {
                    "type": "string",
                    "enum": ["base64", "utf-8"],
                    "description": "`utf-8` (plain text) for `dom_snapshot`, else `base64`.",
                },
                "byte_size": {"type": "integer", "minimum": 0, "description": "Size of the decoded bytes."},
                "duration_ms": {"type": "integer", "minimum": 0},
            },
            "required": ["kind", "data", "encoding", "byte_size", "duration_ms"],
            "additionalProperties": False,
        },
        "AuditEntry": {
            "type": "object",
            "description": "One thing that happened to one of the account's resources.",
            "properties": {
                "id": {"type": "string", "pattern": f"^aud_{_UUID}$"},
                "account_id": public_id("acc", "The account the resource belongs to."),
                "api_key_id": or_null({"type": "string", "description": "The key that caused it, if any."}),
                "action": {"type": "string", "enum": list(ACTIONS.values())},
                "resource_type": {"type": "string", "enum": list(AUDIT_RESOURCE_TYPES)},
                "resource_id": {"type": "string", "examples": [f"ses_{_EXAMPLE_UUID}"]},
                "payload": {"type": "object", "description": "The event's facts (typed text: its length)."},
                "occurred_at": ref("Timestamp"),
            },
            "required": [
                "id",
                "account_id",
                "api_key_id",
                "action",
                "resource_type",
                "resource_id",
                "payload",
                "occurred_at",
            ],
            "additionalProperties": False,
        },
        "AuditPage": _page_of("AuditEntry", "audit entries"),
        "AccountMe": {
            "type": "object",
            "properties": {
                "id": public_id("acc", "The account acted on (the owner's under X-Driftstack-Account)."),
                "name": {"type": "string"},
                "tier": {"type": "string", "enum": list(TIERS)},
                "concurrency": {"type": "integer", "minimum": 1, "description": "Live sessions allowed."},
                "profile_cap": or_null({"type": "integer", "description": "null on the enterprise tier."}),
                "idle_timeout_s": {"type": "number", "description": "Idle sessions end after this."},
                "role": {"type": "string", "enum": ["owner", *ROLES]},
                "api_key": {
                    "type": "object",
                    "properties": {
                        "id": public_id("key", "The calling key."),
                        "account_id": public_id("acc", "The account the key belongs to."),
                        "scopes": {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}},
                    },
                    "required": ["id", "account_id", "scopes"],
                    "additionalProperties": False,
                },
            },
            "required": [
                "id",
                "name",
                "tier",
                "concurrency",
                "profile_cap",
                "idle_timeout_s",
                "role",
                "api_key",
            ],
            "additionalProperties": False,
        },
        "Health": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "const": "ok"},
                "version": {"type": "string"},
                "browser": {
                    "type": "object",
                    "properties": {"available": {"type": "boolean"}, "description": {"type": "string"}},
                    "required": ["available", "description"],
                },
            },
            "required": ["status", "version", "browser"],
        },
        "OpenApiDocument": {"type": "object", "description": "This OpenAPI 3.1 document."},
        "Problem": _problem_schema(),
        "FieldError": {
            "type": "object",
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            "required": ["field", "message"],
        },
    }


def _member(kind: str, description: str) -> Schema:
    return {"type": kind, "description": description}


def _problem_schema() -> Schema:
    table = "\n".join(f"| {status} | `{slug}` | {title} |" for slug, (status, title) in TYPES.items())
    return {
        "type": "object",
        "description": "Problem details (RFC 9457). `type` is "
        f"`{PROBLEM_BASE}<slug>`; `title` and `status` follow from it:\n\n"
        "| status | type | title |\n|---|---|---|\n" + table,
        "properties": {
            "type": {"type": "string", "format": "uri", "enum": [PROBLEM_BASE + slug for slug in TYPES]},
            "title": {"type": "string"},
            "status": {"type": "integer", "enum": sorted({status for status, _ in TYPES.values()})},
            "detail": {"type": "string", "description": "What went wrong, in words a person can act on."},
            "instance": or_null({"type": "string", "description": "The request path."}),
            "errors": {
                "type": "array",
                "items": ref("FieldError"),
                "description": "`validation-failed`: the field to fix and why.",
            },
            "limit": _member(
                "integer", "`concurrency-limit`, `tier-limit`: the cap; `payload-too-large`: bytes allowed."
            ),
            "current": _member(
                "integer", "`concurrency-limit`: sessions live now; `tier-limit`: profiles now."
            ),
            "resource": {
                **_member("string", "`concurrency-limit`, `tier-limit`: what is capped."),
                "enum": ["session", "profile"],
            },
            "tier": {
                **_member("string", "`concurrency-limit`, `tier-limit`: the account's tier."),
                "enum": list(TIERS),
            },
            "byte_size": _member("integer", "`payload-too-large`: the capture's size."),
            "session_status": {
                **_member("string", "`session-destroyed`, `session-timeout`."),
                "enum": list(STATUSES),
            },
            "reason": or_null(
                _member(
                    "string",
                    "`session-destroyed`/`session-timeout`: why the session ended; `driver-error`: `timeout`, "
                    "`navigation_failed`, `crashed`, `closed`, `unsupported`, `invalid_argument`, "
                    "`action_failed` or `unavailable`.",
                )
            ),
            "install": or_null(_member("string", "`driver-not-integrated`: what to install or set.")),
        },
        "required": ["type", "title", "status", "detail", "instance"],
        # Each type has exactly one status and title.
        "allOf": [
            {
                "if": {"properties": {"type": {"const": PROBLEM_BASE + slug}}, "required": ["type"]},
                "then": {"properties": {"status": {"const": status}, "title": {"const": title}}},
            }
            for slug, (status, title) in TYPES.items()
        ],
    }


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
        f"no session ses_{_EXAMPLE_UUID}",
        {},
    ),
    "method-not-allowed": ("The path exists, the method does not.", "PUT is not allowed on /v1/sessions", {}),
    "session-timeout": (
        "The session was destroyed after sitting idle past its tier's idle timeout; create a new one.",
        f"session ses_{_EXAMPLE_UUID} was destroyed after sitting idle past its timeout",
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
        f"session ses_{_EXAMPLE_UUID} is destroyed (client_request); create a new session",
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
    "driver-error": (
        "The browser failed the action (navigation, timeout, crash): `reason` says which. After a "
        "failed navigation the session stays ready for a retry.",
        "navigate: timed out after 30000 ms",
        {"reason": "timeout"},
    ),
    "driver-not-integrated": (
        "No usable browser on this server; `install` says what to install or configure.",
        "no usable browser: browser executable not found",
        {"install": "apt-get install chromium"},
    ),
}


def response_name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


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
        "content": {"application/problem+json": {"schema": ref("Problem"), "example": example}},
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
        "schemas": {
            **_request_schemas(),
            **_profile_request_schemas(),
            **_response_schemas(),
            **_profile_response_schemas(),
        },
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
            "ActingAccount": {
                "name": ACCOUNT_HEADER,
                "in": "header",
                "required": False,
                "description": "Act on a team owner's account that the key's account is a member of "
                "(members read and write the owner's sessions and read its profiles; only admin members "
                "write its profiles). Not a member: 403.",
                "schema": public_id("acc", "The owner's account id."),
            },
            "RequestId": {
                "name": "X-Request-Id",
                "in": "header",
                "required": False,
                "description": "Your id for this request; echoed back and logged (generated when absent).",
                "schema": {"type": "string"},
            },
            "Limit": {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size, 1 to {MAX_LIMIT}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
            "Cursor": {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The previous page's `next_cursor`, exactly as received.",
                "schema": {"type": "string"},
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
