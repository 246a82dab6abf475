"""API key requests and answers: mint a key, the key as listed, the new key with its secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ...domain.api_key import (
    KEY_PREFIX,
    LIFETIME_MESSAGE,
    LIFETIME_PATTERN,
    NAME_MAX,
    SCOPES,
    parse_lifetime,
)
from .base import Request, Response, public_id, text
from .common import Page, Timestamp

Scope = Literal[SCOPES]  # type: ignore[valid-type]


def _distinct(values: list[str]) -> list[str]:
    return sorted(set(values))  # as the key stores them


Scopes = Annotated[
    list[Scope],
    Field(min_length=1, description="What the key may do; a key can mint only scopes it has itself."),
    AfterValidator(_distinct),
]
Lifetime = text(
    pattern=LIFETIME_PATTERN,
    message=LIFETIME_MESSAGE,
    description="How long the key works: 1 to 9999 minutes, hours or days (`90m`, `12h`, `30d`). "
    "Omitted: until revoked.",
    examples=["30d"],
)
KeyName = text(max_length=NAME_MAX, description="Your name for the key.")


class CreateApiKey(Request):
    scopes: Scopes
    name: KeyName | None = None  # type: ignore[valid-type]
    expires_in: Lifetime | None = None  # type: ignore[valid-type]

    @property
    def lifetime(self) -> timedelta | None:
        return parse_lifetime(self.expires_in) if self.expires_in is not None else None


class ApiKey(Response):
    """An API key of the account. Its secret is shown only once, when it is minted."""

    id: public_id("key", "The key id.")  # type: ignore[valid-type]
    account_id: public_id("acc", "The account it belongs to.")  # type: ignore[valid-type]
    name: str | None
    scopes: list[Scope]
    created_at: Timestamp
    expires_at: Timestamp | None = Field(description="When it stops working; null: never.")
    last_used_at: Timestamp | None = Field(
        description="When it last authenticated a request, to within ten minutes; null: never."
    )
    revoked_at: Timestamp | None = Field(description="When it was revoked; null: it was not.")


class NewApiKey(ApiKey):
    """The key just minted, with its secret: shown here once, never again."""

    key: Annotated[str, Field(pattern=f"^{KEY_PREFIX}", description="The bearer key. Store it now.")]


class ApiKeyPage(Page[ApiKey]):
    """One page of the account's keys, newest first. Pass `next_cursor` back as `?cursor=` for the next."""
