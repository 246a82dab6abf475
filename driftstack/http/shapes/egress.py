"""The egress log of a session: each connection the egress carried or refused for it, oldest first."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Response
from .common import Page

Count = Annotated[int, Field(ge=0)]


class EgressConnection(Response):
    """One connection the egress carried or refused for the session."""

    seq: int = Field(ge=1, description="Its place in the session's log.")
    at: str = Field(description="When the browser asked for it (UTC).")
    kind: Literal["tunnel", "http"] = Field(
        description="`tunnel`: a CONNECT (https://, wss://): host and port only, the rest is encrypted. "
        "`http`: a plain http:// request: method, URL and status too."
    )
    host: str
    port: int = Field(ge=1, le=65535)
    method: str | None
    url: str | None
    address: str | None = Field(description="The address connected to, or refused.")
    status: int | None = Field(description="The HTTP status of a plain request's answer.")
    bytes_sent: Count = Field(description="From the browser towards the site.")
    bytes_received: Count
    duration_ms: Count | None
    refused: bool = Field(description="The egress refused it: the address is not public.")
    reason: str | None = Field(description="Why it was refused, or failed.")
    error: str | None = Field(
        description="A connection that could not be made: `dns_failed`, `connection_refused`, "
        "`host_unreachable` or `timeout`."
    )
    upstream: str | None = Field(description="The named upstream proxy it went through.")


class EgressTotals(Response):
    """Over every connection of the session, including those past the kept entries."""

    connections: Count
    refused: Count
    bytes_sent: Count
    bytes_received: Count


class EgressLog(Page[EgressConnection]):
    """One page of the session's egress log, oldest first, and the session's totals."""

    totals: EgressTotals
