"""The WebhookEndpoint aggregate: where an account wants events sent, which ones, and how they are signed."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.domain import Aggregate, event
from yarl import URL

from .errors import NotFound, ValidationFailed

# Every type an endpoint can subscribe to. The profile types are listed ahead of the profiles
# API, so an endpoint can subscribe to them before they are first sent.
EVENT_TYPES = (
    "session.created",
    "session.ready",
    "session.completed",
    "session.failed",
    "profile.created",
    "profile.deleted",
)
# Standard Webhooks signature identifiers: `v1` HMAC-SHA256 with a shared `whsec_` secret,
# `v1a` Ed25519 with a `whsk_` key that never leaves the server (subscribers get the `whpk_`).
SIGNATURE_SCHEMES = ("v1", "v1a")
MAX_URL = 2048
MAX_DESCRIPTION = 500
UPDATABLE = ("url", "event_types", "description", "enabled")
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")


@dataclass(frozen=True)
class SigningKey:
    """One key of an endpoint: its scheme, its secret (`whsec_…` or `whsk_…`) and, for v1a, the public key."""

    scheme: str
    secret: str
    public_key: str | None = None


def check_url(url: str) -> str:
    """The URL's own rules; whether its host is a public address is checked where DNS is (webhooks/)."""
    if len(url) > MAX_URL:
        raise ValidationFailed("url", f"at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ValidationFailed("url", "not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed("url", "an absolute https:// or http:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("url", "must not carry a user name or password")
    if parts.fragment:
        raise ValidationFailed("url", "must not carry a #fragment")
    _check_host(url)
    return url


def _check_host(url: str) -> None:
    """The host as the webhook client will send it and ask DNS for: an IP literal, or a name whose
    IDNA (ASCII) form is made of DNS labels. yarl encodes it exactly as aiohttp's client does."""
    try:
        host = URL(url).raw_host or ""
    except ValueError:  # UnicodeError among them: a name IDNA cannot encode
        raise ValidationFailed("url", "the host is not a name IDNA can encode (RFC 5891)") from None
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    name = host.removesuffix(".")
    # No bound on the whole name's length: the API's documented pattern can carry none, and a name
    # DNS cannot hold simply never resolves (a failed delivery), as an unknown name does.
    if not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise ValidationFailed(
            "url",
            "the host is not a DNS name: labels of 1 to 63 letters, digits, '-' or '_'",
        )


def check_event_types(event_types: list[str]) -> list[str]:
    if not event_types:
        raise ValidationFailed("event_types", "at least one event type")
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            "event_types", f"unknown event type '{unknown[0]}' (see GET /v1/webhooks/event-types)"
        )
    return list(dict.fromkeys(event_types))


def check_description(description: str | None) -> str | None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ValidationFailed("description", f"at most {MAX_DESCRIPTION} characters")
    return description


class WebhookEndpoint(Aggregate):
    """An endpoint is enabled or disabled until it is deleted; a deleted endpoint takes no command.

    Its secrets live in its events, which the event store encrypts; the previous key keeps
    signing beside the new one for a grace period after a rotation.
    """

    class Registered(Aggregate.Created):
        account_id: str
        api_key_id: str | None
        url: str
        event_types: list[str]
        description: str | None
        enabled: bool
        signature_scheme: str
        secret: str
        public_key: str | None

    class Updated(Aggregate.Event):
        api_key_id: str | None
        changes: dict[str, Any]

    class SecretRotated(Aggregate.Event):
        api_key_id: str | None
        signature_scheme: str
        secret: str
        public_key: str | None
        previous_valid_until: str  # ISO 8601: the previous key signs too until then

    class Disabled(Aggregate.Event):
        reason: str  # gone (the endpoint answered 410) | failing (no success for too long)
        detail: str

    class Deleted(Aggregate.Event):
        api_key_id: str | None

    @event(Registered)
    def __init__(
        self,
        account_id: str,
        api_key_id: str | None,
        url: str,
        event_types: list[str],
        description: str | None,
        enabled: bool,
        signature_scheme: str,
        secret: str,
        public_key: str | None,
    ) -> None:
        self.account_id = account_id
        self.url = url
        self.event_types = event_types
        self.description = description
        self.enabled = enabled
        self.disabled_reason: str | None = None
        self.deleted = False
        self.key = SigningKey(signature_scheme, secret, public_key)
        self.previous_key: SigningKey | None = None
        self.previous_valid_until: str | None = None

    @classmethod
    def register(
        cls,
        account_id: str,
        api_key_id: str | None,
        url: str,
        event_types: list[str],
        description: str | None,
        enabled: bool,
        key: SigningKey,
    ) -> WebhookEndpoint:
        if key.scheme not in SIGNATURE_SCHEMES:
            raise ValidationFailed("signature_scheme", f"one of {', '.join(SIGNATURE_SCHEMES)}")
        return cls(
            account_id=account_id,
            api_key_id=api_key_id,
            url=check_url(url),
            event_types=check_event_types(event_types),
            description=check_description(description),
            enabled=enabled,
            signature_scheme=key.scheme,
            secret=key.secret,
            public_key=key.public_key,
        )

    @property
    def public_id(self) -> str:
        return f"whep_{self.id}"

    def _check_exists(self) -> None:
        if self.deleted:
            raise NotFound("webhook endpoint", self.public_id)

    def update(self, api_key_id: str | None, changes: dict[str, Any]) -> bool:
        """True when something changed; sending the current values again records nothing."""
        self._check_exists()
        checks: dict[str, Callable[[Any], Any]] = {
            "url": check_url,
            "event_types": check_event_types,
            "description": check_description,
            "enabled": bool,
        }
        checked = {name: checks[name](value) for name, value in changes.items() if name in UPDATABLE}
        changed = {name: value for name, value in checked.items() if getattr(self, name) != value}
        if not changed:
            return False
        self._updated(api_key_id=api_key_id, changes=changed)
        return True

    @event(Updated)
    def _updated(self, api_key_id: str | None, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        if changes.get("enabled"):
            self.disabled_reason = None

    def rotate(self, api_key_id: str | None, key: SigningKey, previous_valid_until: str) -> None:
        self._check_exists()
        if key.scheme not in SIGNATURE_SCHEMES:
            raise ValidationFailed("signature_scheme", f"one of {', '.join(SIGNATURE_SCHEMES)}")
        self._secret_rotated(
            api_key_id=api_key_id,
            signature_scheme=key.scheme,
            secret=key.secret,
            public_key=key.public_key,
            previous_valid_until=previous_valid_until,
        )

    @event(SecretRotated)
    def _secret_rotated(
        self,
        api_key_id: str | None,
        signature_scheme: str,
        secret: str,
        public_key: str | None,
        previous_valid_until: str,
    ) -> None:
        # Only the key being replaced keeps signing: a key rotated out earlier stops at once.
        self.previous_key = self.key
        self.previous_valid_until = previous_valid_until
        self.key = SigningKey(signature_scheme, secret, public_key)

    def disable(self, reason: str, detail: str) -> bool:
        """True when this disabled it; an endpoint already disabled (or deleted) stays as it is."""
        if self.deleted or not self.enabled:
            return False
        self._disabled(reason=reason, detail=detail)
        return True

    @event(Disabled)
    def _disabled(self, reason: str, detail: str) -> None:
        self.enabled = False
        self.disabled_reason = reason

    def delete(self, api_key_id: str | None) -> None:
        self._check_exists()
        self._deleted(api_key_id=api_key_id)

    @event(Deleted)
    def _deleted(self, api_key_id: str | None) -> None:
        self.deleted = True
        self.enabled = False
