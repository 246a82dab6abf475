"""Answers about the caller and the service: the account acted on, the audit log, health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ...domain.account import ROLES
from ...domain.api_key import SCOPES
from ...domain.tiers import TIERS
from .audit import ACTION_NAMES, RESOURCE_TYPES
from .base import Response, present
from .common import Page, Timestamp
from .session_answers import id_of

Tier = Literal[tuple(TIERS)]  # type: ignore[valid-type]


class CallingKey(Response):
    """The key the request was made with."""

    id: id_of("key", "The calling key.")  # type: ignore[valid-type]
    account_id: id_of("acc", "The account the key belongs to.")  # type: ignore[valid-type]
    scopes: list[Literal[SCOPES]]  # type: ignore[valid-type]


class AccountMe(Response):
    """The account acted on, its tier and caps, the caller's role on it, and the calling key."""

    id: id_of("acc", "The account acted on (the owner's under X-Driftstack-Account).")  # type: ignore[valid-type]
    name: str
    tier: Tier  # type: ignore[valid-type]
    concurrency: Annotated[int, Field(ge=1)] = Field(description="Live sessions allowed.")
    profile_cap: int | None = Field(description="null on the enterprise tier.")
    idle_timeout_s: float = Field(description="Idle sessions end after this.")
    role: Literal[("owner", *ROLES)]  # type: ignore[valid-type]
    api_key: CallingKey


class AuditEntry(Response):
    """One thing that happened to one of the account's resources."""

    id: id_of("aud", "The entry id.")  # type: ignore[valid-type]
    account_id: id_of("acc", "The account the resource belongs to.")  # type: ignore[valid-type]
    api_key_id: str | None = Field(description="The key that caused it, if any.")
    action: Literal[ACTION_NAMES]  # type: ignore[valid-type]
    resource_type: Literal[RESOURCE_TYPES]  # type: ignore[valid-type]
    resource_id: str = Field(examples=["ses_0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f"])
    payload: dict[str, Any] = Field(description="The event's facts (typed text: its length).")
    occurred_at: Timestamp


class AuditPage(Page[AuditEntry]):
    """One page of audit entries, newest first. Pass `next_cursor` back as `?cursor=` for the next."""


class Engine(Response):
    """A browser engine, and whether a session can ask for it (`"engine"` at create)."""

    engine: Literal["webkit", "chromium", "firefox"]
    default: bool = Field(description="Sessions that name no engine run on this one.")
    available: bool = Field(description="Installed here (started on a session's first ask).")
    description: str | None = Field(
        description="What runs it, once built (e.g. `WebKitGTK 2.50.6 (WebKitWebDriver)`)."
    )


class Browser(Response):
    """The browser this service drives by default, and every engine it offers."""

    available: bool
    description: str
    engines: list[Engine]


class StoreHealth(Response):
    """Whether the event store answers, and its head."""

    reachable: bool
    head: int | None = Field(description="The last event stored (null while unreachable).")
    error: str | None = Field(description="Why the store cannot be reached.")


class FailingEvent(Response):
    """The event a failing view cannot apply."""

    position: int | None
    topic: str | None


class ViewHealth(Response):
    """How far one view has got, and whether it follows the store."""

    status: Literal["following", "failing", "waiting_for_store"]
    position: int = Field(description="The last event the view holds.")
    behind: int | None = Field(description="Events stored that the view does not hold yet.")
    since: Timestamp = present(description="Since when the view is failing or waiting.")
    error: str = present(description="Why the view cannot apply its next event.")
    failing_event: FailingEvent = present()


class Health(Response):
    """Whether the service can serve: its store, each view's position, and its browser."""

    status: Literal["ok", "failing"]
    version: str
    browser: Browser
    store: StoreHealth
    views: dict[str, ViewHealth] = Field(
        description="Each view by name: `sessions_view`, `audit_log`, `accounts_view`, `profiles_view`, "
        "`webhook_outbox`."
    )


class Liveness(Response):
    """The process answers."""

    status: Literal["ok"]
    version: str


OpenApiDocument = Annotated[dict[str, Any], Field(description="This OpenAPI 3.1 document.")]
AsyncApiDocument = Annotated[
    dict[str, Any],
    Field(description="The AsyncAPI 3.0 document of the WebSocket protocol (`/v1/sessions/ws`)."),
]
