"""Session answers: the session resource, its page, the page state and each action's result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, TypeAdapter

from ...actions import STATE_HTML_CAP
from ...domain.archetypes import DEFAULT_ARCHETYPE, SLUG_PATTERN
from ...projections.sessions import FIELDS, new_session_document
from .base import Response, present, public_id_pattern
from .common import Page, Timestamp
from .sessions import MAX_LABEL, PURPOSES, Behavior, Capture, Interaction, Purpose, Status, Wait

# The kinds a result names are the kinds its request declares.
INTERACTION_TYPES = tuple(TypeAdapter(Interaction).json_schema()["discriminator"]["mapping"])
WAIT_KINDS = tuple(TypeAdapter(Wait).json_schema()["discriminator"]["mapping"])
CAPTURE_KINDS = tuple(Capture.model_json_schema()["properties"]["kind"]["enum"])

_EXAMPLE_UUID = UUID("0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f")
EXAMPLE = new_session_document(
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

Count = Annotated[int, Field(ge=0)]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN.pattern)]


def id_of(prefix: str, description: str) -> Any:
    return Annotated[
        str,
        Field(
            pattern=public_id_pattern(prefix),
            description=description,
            examples=[f"{prefix}_{_EXAMPLE_UUID}"],
        ),
    ]


class Session(Response):
    """A browser session: a flat object, no envelope."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: id_of("ses", "The session id.")  # type: ignore[valid-type]
    account_id: id_of("acc", "The account the session belongs to.")  # type: ignore[valid-type]
    api_key_id: id_of("key", "The key that created it.")  # type: ignore[valid-type]
    status: Status = Field(
        description="`creating` → `ready` (⇄ `busy` while an action runs) → `destroyed`; `errored` is "
        "an abnormal, terminal end."
    )
    archetype: Slug = Field(description="The persona it runs as (`default` resolved to its slug).")
    purpose: Purpose
    label: Annotated[str, Field(max_length=MAX_LABEL)] | None
    metadata: dict[str, Any] | None
    behavioral_profile: Behavior | None  # type: ignore[valid-type]
    profile_id: id_of("prof", "The profile it runs on.") | None = Field(  # type: ignore[valid-type]
        description="The profile it runs on, if any."
    )
    socket_client: Literal["standard", "browser"] | None = Field(
        description="The WebSocket client that drives it (`GET /v1/sessions/ws`): `browser` (a real browser, "
        "like any session) or `standard` (HTTP fetches, no browser: it takes no concurrency slot, and the "
        "REST actions answer 409); null for a session made over REST."
    )
    reason: str | None = Field(
        description="Why it ended, once `destroyed` or `errored`: e.g. `client_request`, `idle_timeout`, "
        "`socket_closed` (its WebSocket dropped), "
        "`provisioning_failed`, `provisioning_timeout`, `browser_crashed`, `service_stopped`, "
        "`service_restarted`, `profile_busy` (its profile stayed held by another session too long), "
        "`profile_deleted`."
    )
    engine: Literal["webkit", "chromium", "firefox"] | None = Field(
        description="The browser engine it runs on, once `ready`."
    )
    engine_version: str | None = Field(description="That browser's version, as it reports it.")
    tap_kind: Literal["touch", "click"] | None = Field(
        description="What a `tap` is on its browser: `touch` (a touch event sequence: Chromium and "
        "Playwright's WebKit with a touch persona) or `click` (mouse events: WebKitGTK has no touch input, "
        "and personas without touch)."
    )
    current_url: str | None = Field(description="Where the page was at the last action.")
    title: str | None = Field(description="The page title at the last action.")
    action_count: Count = Field(description="Actions run, failed ones included.")
    screenshot_count: Count
    duration_ms: Count = Field(description="From its creation to its end, or to now while it lives.")
    created_at: Timestamp
    updated_at: Timestamp = Field(description="The last status change.")
    last_state_at: Timestamp | None = Field(
        description="The last navigate / interact / wait / state / capture acknowledgement."
    )
    destroyed_at: Timestamp | None = Field(description="When it became `destroyed` or `errored`.")


assert tuple(Session.model_fields) == FIELDS, "the resource declares the view's fields, in order"


class SessionPage(Page[Session]):
    """One page of sessions, newest first. Pass `next_cursor` back as `?cursor=` for the next."""


class NavigateResult(Response):
    """Where the navigation ended; the session is ready again."""

    status: Literal["ready"]
    current_url: str = Field(description="Where the navigation ended (after redirects).")
    title: str
    http_status: int | None = Field(description="null without an HTTP response.")
    duration_ms: Count


class InteractResult(Response):
    """The interaction is done; the session is ready again."""

    status: Literal["ready"]
    type: Literal[INTERACTION_TYPES]  # type: ignore[valid-type]
    duration_ms: Count


class WaitResult(Response):
    """The wait is over; the session is ready again."""

    status: Literal["ready"]
    kind: Literal[WAIT_KINDS]  # type: ignore[valid-type]
    duration_ms: Count


class Viewport(Response):
    """The page's viewport in CSS pixels (empty when the browser reports none)."""

    width: int = present()
    height: int = present()


class Cookie(Response):
    """A cookie of the session's browser context, as the browser reports it (it may add members, such
    as `partitionKey`)."""

    model_config = ConfigDict(extra="allow")

    name: str
    value: str
    domain: str
    path: str
    expires: float = Field(description="Unix seconds; -1 for a session cookie.")
    httpOnly: bool
    secure: bool
    sameSite: Literal["Strict", "Lax", "None"]


class PageState(Response):
    """The page as it is now: a checkpoint without a screenshot."""

    url: str
    title: str
    html: str = Field(description=f"The DOM HTML, cut at {STATE_HTML_CAP} bytes.")
    html_truncated: bool
    viewport: Viewport
    cookies: list[Cookie]
    byte_size: Count = Field(description="The full HTML's size.")
    duration_ms: Count


class CaptureResult(Response):
    """The captured bytes, inline."""

    kind: Literal[CAPTURE_KINDS]  # type: ignore[valid-type]
    data: str = Field(description="The bytes, base64-encoded (the DOM snapshot's UTF-8 HTML too).")
    encoding: Literal["base64"] = Field(description="Always `base64`, as seed 001 says.")
    byte_size: Count = Field(description="Size of the decoded bytes.")
    duration_ms: Count
    artifact_id: Annotated[str, Field(pattern="^art_[0-9a-f-]{36}$")] | None = Field(
        description="The artifact it was kept as (`GET /v1/artifacts/{artifact_id}`); null with `keep: false`."
    )
