"""Session requests: create, list, navigate, interact, wait and capture."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from ...domain.archetypes import CATALOGUE, DEFAULT_ARCHETYPE
from ...domain.behavior import BEHAVIORS
from .base import UNSAFE, Query, Request, integer, public_id_pattern, refused, refused_at, text
from .common import Metadata, TimePage

PURPOSES = ("production_customer", "cumulative_rig_validation", "test_domain_probe")
RESERVED_PURPOSES = PURPOSES[1:]
STATUSES = ("creating", "ready", "busy", "destroyed", "errored")
WAIT_UNTIL = ("load", "domcontentloaded", "networkidle")
ARCHETYPES = ("default", *CATALOGUE)
# An action holds its request open at most this long: a client that needs longer loops, and no
# request outlives a proxy's or a fuzzer's read timeout.
MAX_TIMEOUT_MS = 60_000
MAX_LABEL = 120
MAX_URL = 8192
MAX_SELECTOR = 2048
MAX_TEXT = 100_000
MAX_KEY = 64
MAX_PIXELS = 100_000

Purpose = Literal["production_customer", "cumulative_rig_validation", "test_domain_probe"]
Status = Literal["creating", "ready", "busy", "destroyed", "errored"]
WaitUntil = Literal["load", "domcontentloaded", "networkidle"]
Behavior = Literal[tuple(BEHAVIORS)]  # type: ignore[valid-type]
assert Purpose.__args__ == PURPOSES and Status.__args__ == STATUSES and WaitUntil.__args__ == WAIT_UNTIL


def _known(slug: str) -> str:
    if slug not in ARCHETYPES:
        raise refused(f"no persona named '{slug}' (one of {', '.join(ARCHETYPES)})")
    return slug


_PERSONAS = "\n".join(f"- `{slug}`: {a.title}" for slug, a in CATALOGUE.items())
Archetype = Annotated[
    str,
    AfterValidator(_known),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(ARCHETYPES),
            "description": "A device persona of the catalogue; `default` (or an omitted field) means "
            f"`{DEFAULT_ARCHETYPE}`:\n{_PERSONAS}",
        }
    ),
]

Milliseconds = integer(
    1,
    MAX_TIMEOUT_MS,
    description="How long it may take, in ms (default: DRIFTSTACK_ACTION_TIMEOUT_MS).",
)
Label = text(max_length=MAX_LABEL, description="A short name of your own, shown in the audit log.")
Url = text(
    min_length=1,
    max_length=MAX_URL,
    pattern=rf"^(?:https?://[^{UNSAFE}]*|about:blank)$",
    message="an absolute http:// or https:// URL",
    description="An absolute `http://` or `https://` URL, or `about:blank`.",
)
Selector = text(min_length=1, max_length=MAX_SELECTOR, description="A CSS selector.")
ProfileId = text(
    pattern=public_id_pattern("prof"),
    message="a profile id (prof_…)",
    description="A profile (`prof_<uuid>`) to bind the session to: the browser starts with the "
    "profile's cookies, localStorage and IndexedDB and writes them back when the session ends. The "
    "session runs as the profile's archetype: an explicit `archetype` other than the profile's (or "
    "`default`) answers 409 `conflict`. An unknown, deleted or another account's profile answers 404.",
)

ProxyName = text(
    min_length=1,
    max_length=40,
    pattern=r"^[a-z0-9_-]+$",
    message="a proxy name of [a-z0-9_-]",
    description="The name of an upstream proxy the operator offers (`DRIFTSTACK_PROXIES`; the service's own "
    "document lists its names): everything the session's browser sends goes out through it. A name the "
    "operator has not defined answers 400. Omitted: straight out of Driftstack's egress.",
)


VIEWPORT_WIDTH = (200, 3840)
VIEWPORT_HEIGHT = (200, 4320)


class ViewportSize(Request):
    """A viewport in CSS pixels; the persona's device scale and user agent stay."""

    width: integer(*VIEWPORT_WIDTH, description="CSS pixels.")  # type: ignore[valid-type]
    height: integer(*VIEWPORT_HEIGHT, description="CSS pixels.")  # type: ignore[valid-type]


class CreateSession(Request):
    archetype: Archetype | None = None
    purpose: Purpose | None = Field(
        None,
        description=f"The driver harness configuration; {', '.join(RESERVED_PURPOSES)} need the `admin` "
        "scope (else 403). Omitted: production_customer.",
    )
    label: Label | None = None
    metadata: Metadata | None = None
    behavioral_profile: Behavior | None = Field(
        None, description="The pace of a simulated person. Omitted: no pauses."
    )
    profile_id: ProfileId | None = None
    proxy: ProxyName | None = None
    initial_url: Url | None = Field(  # type: ignore[valid-type]
        None,
        description="Navigated right after the session is ready, by the creating key, and recorded like any "
        "navigation; one that fails leaves the session ready with the failure in its audit log. With "
        "`?wait=true` the answer comes once it is done.",
    )
    viewport: ViewportSize | None = Field(
        None,
        description=f"Overrides the persona's viewport (width {VIEWPORT_WIDTH[0]} to {VIEWPORT_WIDTH[1]}, height "
        f"{VIEWPORT_HEIGHT[0]} to {VIEWPORT_HEIGHT[1]}); its device scale and user agent stay. Such a session "
        "opens its own page (no warm one).",
    )
    engine: Literal["webkit", "chromium", "firefox"] | None = Field(
        None,
        description="The browser engine to run on. Omitted: the service's default. This service's own "
        "document lists only the engines installed on it (`/healthz` too); another is refused with 400.",
    )


class CreateSessionQuery(Query):
    wait: bool = Field(False, description="Answer once the session is ready or errored (still 201).")


class SessionList(TimePage):
    status: Status | None = Field(None, description="Only sessions in this status.")


class Navigate(Request):
    url: Url
    # Seed 000 calls it wait_for, seed 001 wait_until: both are accepted, wait_until wins.
    wait_until: WaitUntil | None = Field(
        None, description="When the navigation counts as done (default load)."
    )
    wait_for: WaitUntil | None = Field(None, description="The older name of `wait_until`.")
    timeout_ms: Milliseconds | None = None

    @property
    def until(self) -> str:
        return self.wait_until or self.wait_for or "load"


class TapInteraction(Request):
    type: Literal["tap"]
    selector: Selector
    timeout_ms: Milliseconds | None = None


class TypeInteraction(Request):
    type: Literal["type"]
    selector: Selector | None = Field(None, description="Omitted: the focused element.")
    text: text(min_length=1, max_length=MAX_TEXT, description="Typed keystroke by keystroke.")  # type: ignore[valid-type]
    timeout_ms: Milliseconds | None = None


class ScrollInteraction(Request):
    type: Literal["scroll"]
    selector: Selector | None = Field(None, description="Omitted: the window.")
    direction: Literal["up", "down", "left", "right"] | None = Field(None, description="Default down.")
    pixels: integer(1, MAX_PIXELS)  # type: ignore[valid-type]
    timeout_ms: Milliseconds | None = None


class PressInteraction(Request):
    type: Literal["press"]
    selector: Selector | None = Field(None, description="Omitted: the focused element.")
    key: text(  # type: ignore[valid-type]
        min_length=1, max_length=MAX_KEY, description="A key name, e.g. `Enter`, `ArrowDown`, `Control+A`."
    )
    timeout_ms: Milliseconds | None = None


Interaction = Annotated[
    TapInteraction | TypeInteraction | ScrollInteraction | PressInteraction, Field(discriminator="type")
]


class SelectorWait(Request):
    kind: Literal["selector"]
    selector: Selector
    timeout_ms: Milliseconds | None = None


class NavigationWait(Request):
    kind: Literal["navigation"]
    timeout_ms: Milliseconds | None = None


def _one_of_the_lengths(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [
        {"required": ["duration_ms"], "properties": {"duration_ms": {"type": "integer"}}},
        {"required": ["timeout_ms"], "properties": {"timeout_ms": {"type": "integer"}}},
    ]


class DurationWait(Request):
    """Sleeps `duration_ms`, or `timeout_ms` (seed 000's spelling) when only that is sent."""

    model_config = ConfigDict(json_schema_extra=_one_of_the_lengths)
    kind: Literal["duration"]
    duration_ms: integer(0, MAX_TIMEOUT_MS) | None = Field(  # type: ignore[valid-type]
        None, description="How long to sleep, in ms; wins over `timeout_ms`."
    )
    timeout_ms: Milliseconds | None = Field(
        None, description="How long to sleep when `duration_ms` is absent."
    )

    @model_validator(mode="after")
    def _has_a_length(self) -> DurationWait:
        if self.duration_ms is None and self.timeout_ms is None:
            raise refused_at("duration_ms", "is required (or timeout_ms)")
        return self

    @property
    def sleep_ms(self) -> int:
        return self.duration_ms if self.duration_ms is not None else self.timeout_ms or 0


Wait = Annotated[SelectorWait | NavigationWait | DurationWait, Field(discriminator="kind")]


class Capture(Request):
    kind: Literal["screenshot", "pdf", "dom_snapshot"]
    full_page: bool | None = Field(None, description="Screenshot the whole page, not the viewport.")
    keep: bool | None = Field(
        None,
        description="Keep the capture as an artifact, downloadable after the session ends (default true); "
        "`false` only answers it.",
    )
