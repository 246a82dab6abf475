"""Webhook endpoint requests: register, change, rotate the secret; the deliveries list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from ...domain.webhook_endpoint import EVENT_TYPES, MAX_DESCRIPTION, MAX_URL, SIGNATURE_SCHEMES
from .base import UNSAFE, Request, refused_at, text
from .common import PositionPage

DELIVERY_STATUSES = ("pending", "delivering", "succeeded", "failed", "cancelled")

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Scheme = Literal[SIGNATURE_SCHEMES]  # type: ignore[valid-type]
DeliveryStatus = Literal[DELIVERY_STATUSES]  # type: ignore[valid-type]
SCHEMES = (
    "`v1` (default): HMAC-SHA256 with a `whsec_` secret shown once. `v1a`: Ed25519; the private key "
    "stays on the server and the endpoint shows its `whpk_` public key."
)


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))  # repeats are dropped, the order is kept


EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, description="What to send (see `GET /v1/webhooks/event-types`)."),
    AfterValidator(_distinct),
]


def _ipv6() -> str:
    """RFC 3986's IPv6address as a regex (IPv4-embedding forms included)."""
    h16 = "[0-9A-Fa-f]{1,4}"
    octet = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"
    forms = [rf"(?:{h16}:){{6}}{ls32}", rf"::(?:{h16}:){{5}}{ls32}"]
    for before, after in ((0, 4), (1, 3), (2, 2), (3, 1)):
        forms.append(rf"(?:(?:{h16}:){{0,{before}}}{h16})?::(?:{h16}:){{{after}}}{ls32}")
    forms += [
        rf"(?:(?:{h16}:){{0,4}}{h16})?::{ls32}",
        rf"(?:(?:{h16}:){{0,5}}{h16})?::{h16}",
        rf"(?:(?:{h16}:){{0,6}}{h16})?::",
    ]
    return "(?:" + "|".join(forms) + ")"


# The host as the webhook client sends it: DNS labels (an internationalised name in its ASCII,
# `xn--` form), or a bracketed IPv6 address; no user info, no #fragment. Exactly what the domain's
# URL check admits, so the document refuses what the service refuses.
_LABEL = "[A-Za-z0-9_-]{1,63}"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[{_ipv6()}\])"
Url = text(
    min_length=1,
    max_length=MAX_URL,
    pattern=rf"^https?://{_HOST}(?::{_PORT})?(?:[/?][^#{UNSAFE}]*)?$",
    message="an absolute http:// or https:// URL with a DNS name (its ASCII form) or an IP address, "
    "no user info, no #fragment",
    description="Where deliveries are POSTed: an `https://` or `http://` URL whose host is a public "
    "address (loopback, private, link-local and metadata addresses answer 400 unless the operator sets "
    "`DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE`; checked again on every connection).",
)
Description = text(max_length=MAX_DESCRIPTION)


class CreateWebhookEndpoint(Request):
    url: Url
    event_types: EventTypes
    description: Description | None = None
    enabled: bool | None = Field(None, description="Default true.")
    signature_scheme: Scheme | None = Field(None, description=SCHEMES)


def _at_least_one(schema: dict[str, Any]) -> None:
    schema["minProperties"] = 1


class UpdateWebhookEndpoint(Request):
    """Only the fields sent change."""

    model_config = ConfigDict(json_schema_extra=_at_least_one)
    url: Url = None  # type: ignore[assignment]
    event_types: EventTypes = Field(None, description="Replaces the list.")  # type: ignore[assignment]
    description: Description | None = None
    enabled: bool = Field(  # type: ignore[assignment]
        None, description="`true` also clears `disabled_reason` and the days without success."
    )

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateWebhookEndpoint:
        if not self.model_fields_set:
            raise refused_at("body", "send at least one of url, event_types, description, enabled")
        return self


class RotateWebhookSecret(Request):
    signature_scheme: Scheme | None = Field(
        None, description="Switch scheme with the rotation (default: keep the current one)."
    )


class NoFields(Request):
    """A body with nothing in it: `{}` or none at all."""


class DeliveryList(PositionPage):
    status: DeliveryStatus | None = Field(None, description="Only deliveries in this status.")
