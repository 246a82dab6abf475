"""What happened in a session, readable after it ends: its action log, navigations and health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ...drivers.base import CONSOLE_LEVELS, CONSOLE_MESSAGE_CAP, RESOURCE_TYPES
from .base import Query, Response, integer
from .common import DEFAULT_LIMIT, Limit, Page, PositionCursor, Timestamp
from .sessions import Status

Count = Annotated[int, Field(ge=0)]
# `evaluate` is the WebSocket's (REST has no script action).
ActionType = Literal["navigate", "interact", "wait", "state", "capture", "evaluate"]


class OldestFirst(Query):
    """Oldest first; `cursor` continues after the last entry of the previous page."""

    limit: Limit = DEFAULT_LIMIT
    cursor: PositionCursor | None = None

    @property
    def after(self) -> int:
        return 0 if self.cursor is None else int(self.cursor)


class ConsoleQuery(OldestFirst):
    """Oldest first, optionally one level only."""

    level: Literal[CONSOLE_LEVELS] | None = Field(  # type: ignore[valid-type]
        default=None, description="Only entries of this level."
    )


class ConsoleEntry(Response):
    """A console call of the page, or an error it did not catch (`level: error`)."""

    level: Literal[CONSOLE_LEVELS]  # type: ignore[valid-type]
    message: str = Field(description=f"Cut at {CONSOLE_MESSAGE_CAP} characters.")
    at: Timestamp = Field(description="When the service heard of it (UTC).")
    url: str | None = Field(description="The page or script it came from, when the engine says.")
    line: int | None = Field(description="Its line in that script, when the engine says.")


class ConsoleLog(Page[ConsoleEntry]):
    """One page of the console log, oldest first."""


HttpStatus = integer(100, 999, from_text=True, description="Only requests answered with this HTTP status.")


class NetworkQuery(OldestFirst):
    """Oldest first, optionally one status only, or only failed (or only answered) requests."""

    status: HttpStatus | None = None  # type: ignore[valid-type]
    failed: Literal["true", "false"] | None = Field(
        default=None, description="`true`: only requests that got no response; `false`: only those that did."
    )

    @property
    def failed_only(self) -> bool | None:
        return None if self.failed is None else self.failed == "true"


class NetworkRequest(Response):
    """A request the page made, once it finished or failed. Never its headers, body or cookies."""

    url: str
    method: str
    status: int | None = Field(description="The HTTP status it was answered with; null when it failed.")
    resource_type: Literal[RESOURCE_TYPES]  # type: ignore[valid-type]
    duration_ms: Count | None
    byte_size: Count | None = Field(description="The response body's size, when the engine knows it.")
    at: Timestamp = Field(description="When the service heard it finished or failed (UTC).")
    failure: str | None = Field(description="The engine's words for why it failed.")
    refused: bool = Field(
        description="The egress refused its address (not public, and not opened by the operator)."
    )


class NetworkLog(Page[NetworkRequest]):
    """One page of the network log, oldest first."""


class ActionError(Response):
    """Why an action failed: the same `reason` and message its problem answer carried."""

    reason: str = Field(description="e.g. `timeout`, `selector_not_found`, `navigation_failed`.")
    message: str


class Action(Response):
    """One action the session ran, failed ones included."""

    id: Annotated[str, Field(pattern="^act_[0-9a-f-]{36}$", description="The action's id.")]
    type: ActionType
    at: Timestamp = Field(description="When it finished (UTC).")
    success: bool
    details: dict[str, Any] = Field(
        description="What was asked: a navigation's `url` (and, done, `final_url`, `http_status`); an "
        "interaction's `type`, `selector`, `key`, `direction`, `pixels` (typed text never: `text_length`); "
        "a wait's `kind` and its parameters; a capture's `kind`, `full_page`, `byte_size`."
    )
    duration_ms: Count
    error: ActionError | None = Field(description="Why it failed; null when it succeeded.")


class ActionLog(Page[Action]):
    """One page of the action log, oldest first."""

    total: Count = Field(description="Every action of the session, on every page.")


class Navigation(Response):
    """A page the session's browser landed on."""

    url: str
    title: str
    http_status: int | None = Field(description="The main document's status, for a `navigate`; else null.")
    at: Timestamp
    action_id: Annotated[str, Field(pattern="^act_[0-9a-f-]{36}$")] | None = Field(
        description="The action that led there (a navigate, or the tap or key that followed a link); null "
        "when the page moved by itself (its script, a timed redirect)."
    )


class NavigationHistory(Page[Navigation]):
    """One page of the navigation history, oldest first."""

    total: Count


class SessionHealth(Response):
    """Whether the session's browser answers now."""

    status: Literal["healthy", "unresponsive", "ended"] = Field(
        description="`healthy`: its browser answered a trivial script within 1 s. `unresponsive`: it did "
        "not (still starting, or stuck in a long action). `ended`: the session is destroyed or errored."
    )
    session_status: Status
    browser_responsive: bool
    current_url: str | None
    uptime_ms: Count = Field(description="Since its creation; for an ended session, its whole life.")
