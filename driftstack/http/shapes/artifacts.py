"""Artifacts: the captures a session kept, and the query of their signed download links."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Query, Response, text
from .common import Page, TimePage, Timestamp

ArtifactId = Annotated[str, Field(pattern="^art_[0-9a-f-]{36}$", description="The artifact's id.")]


class Artifact(Response):
    """A kept capture: its bytes download from `url` without a key until `url_expires_at`."""

    id: ArtifactId
    session_id: Annotated[str, Field(pattern="^ses_[0-9a-f-]{36}$")]
    kind: Literal["screenshot", "pdf", "dom_snapshot"]
    content_type: str = Field(description="`image/png`, `application/pdf` or `text/html; charset=utf-8`.")
    byte_size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="Of the bytes, hex.")
    created_at: Timestamp
    url: str = Field(
        description="A signed link to the bytes, served by this service: no bearer key needed. Altered, "
        "or past `url_expires_at`, it answers 403. Reading the artifact again gives a fresh one."
    )
    url_expires_at: Timestamp


class ArtifactPage(Page[Artifact]):
    pass


class ArtifactList(TimePage):
    """Newest first."""


class SignedLink(Query):
    """The query a signed link carries: when it expires (Unix seconds) and its HMAC signature.

    Any text is taken here, so that a link altered in any way answers the one 403, not a 400."""

    expires: text(max_length=32, description="Unix seconds, as the link says.")  # type: ignore[valid-type]
    signature: text(max_length=128, description="The link's signature, as the link says.")  # type: ignore[valid-type]
