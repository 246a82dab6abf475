"""Problem details (RFC 9457): the one place a failure becomes an HTTP answer."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..access import Forbidden, Unauthorized
from ..actions import CaptureTooLarge
from ..artifacts import LinkRefused
from ..consistency import ViewLagging
from ..domain.archetypes import UnknownArchetype
from ..domain.errors import (
    ConcurrencyLimitReached,
    Conflict,
    NotFound,
    SessionGone,
    SessionTimedOut,
    TierLimitReached,
    ValidationFailed,
)
from ..drivers.base import DriverError, DriverUnavailable
from ..egress import NavigationRefused
from ..store import unreachable
from .validation import RequestInvalid

PROBLEM_BASE = "https://driftstack.dev/problems/"
CONTENT_TYPE = "application/problem+json"
CONCURRENCY_RETRY_AFTER_S = 5
# A view catches up in milliseconds; a store is reconnected to within about a second of its return.
VIEW_LAGGING_RETRY_AFTER_S = 1
STORE_UNAVAILABLE_RETRY_AFTER_S = 2

# slug → (status, title): every problem type the API answers with.
TYPES: dict[str, tuple[int, str]] = {
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "egress-refused": (403, "Egress refused"),
    "link-refused": (403, "Link refused"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "session-timeout": (408, "Session idle timeout"),
    "conflict": (409, "Conflict"),
    "session-destroyed": (410, "Session destroyed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "upgrade-required": (426, "Upgrade required"),
    "validation-failed": (400, "Validation failed"),
    "concurrency-limit": (429, "Concurrency limit"),
    "tier-limit": (429, "Tier limit"),
    "internal-error": (500, "Internal error"),
    "driver-error": (502, "Driver error"),
    "driver-not-integrated": (503, "Driver not integrated"),
    "store-unavailable": (503, "Store unavailable"),
    "view-lagging": (503, "View lagging"),
}


def problem(
    slug: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> web.Response:
    status, title = TYPES[slug]
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
    }
    return web.Response(status=status, text=json.dumps(body), content_type=CONTENT_TYPE, headers=headers)


class UpgradeRequired(Exception):
    """A plain request to a route that only upgrades to a WebSocket."""


def from_exception(error: Exception, instance: str) -> web.Response | None:
    """The problem for a known error type, or None for a bug."""
    match error:
        case UpgradeRequired():
            return problem(
                "upgrade-required",
                "this route upgrades to a WebSocket: connect with a WebSocket client",
                instance=instance,
                headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            )
        case Unauthorized():
            return problem(
                "unauthorized",
                str(error),
                instance=instance,
                headers={"WWW-Authenticate": 'Bearer realm="driftstack"'},
            )
        case Forbidden():
            return problem("forbidden", str(error), instance=instance)
        case LinkRefused():
            return problem("link-refused", str(error), instance=instance)
        case NotFound():
            return problem("not-found", f"no {error.resource} {error.resource_id}", instance=instance)
        case SessionTimedOut():
            return problem(
                "session-timeout",
                f"session {error.session_id} was destroyed after sitting idle past its timeout",
                instance=instance,
                session_status=error.status,
                reason=error.reason,
            )
        case SessionGone():
            return problem(
                "session-destroyed",
                f"{error}; create a new session",
                instance=instance,
                session_status=error.status,
                reason=error.reason,
            )
        case ConcurrencyLimitReached():
            return problem(
                "concurrency-limit",
                f"{error}; destroy a session or wait for one to end",
                instance=instance,
                headers={"Retry-After": str(CONCURRENCY_RETRY_AFTER_S)},
                limit=error.limit,
                current=error.current,
                resource="session",
                tier=error.tier,
            )
        case TierLimitReached():
            return problem(
                "tier-limit",
                f"{error}; delete one or move to a larger tier",
                instance=instance,
                limit=error.limit,
                current=error.current,
                resource=error.resource,
                tier=error.tier,
            )
        case RequestInvalid():
            return problem(
                "validation-failed",
                str(error),
                instance=instance,
                errors=[{"field": field, "message": message} for field, message in error.errors],
            )
        case ValidationFailed():
            return problem(
                "validation-failed",
                str(error),
                instance=instance,
                errors=[{"field": error.field, "message": error.message}],
            )
        case UnknownArchetype():
            return problem(
                "validation-failed",
                f"archetype: no persona named '{error}'",
                instance=instance,
                errors=[{"field": "archetype", "message": "unknown archetype"}],
            )
        case Conflict():
            return problem("conflict", str(error), instance=instance)
        case CaptureTooLarge():
            return problem(
                "payload-too-large",
                str(error),
                instance=instance,
                limit=error.limit,
                byte_size=error.byte_size,
            )
        case DriverUnavailable():
            return problem(
                "driver-not-integrated",
                f"no usable browser: {error}",
                instance=instance,
                install=getattr(error, "hint", None),
            )
        case NavigationRefused():
            return problem(
                "egress-refused",
                error.detail,
                instance=instance,
                host=error.host,
                port=error.port,
                setting="DRIFTSTACK_EGRESS_ALLOW",
            )
        case DriverError():
            # Driftstack's sentence and reason; the engine's own line only as a hint beside them.
            return problem(
                "driver-error",
                error.detail,
                instance=instance,
                reason=error.reason.value,
                engine_message=error.engine_message,
            )
        case ViewLagging():
            return problem(
                "view-lagging",
                str(error),
                instance=instance,
                headers={"Retry-After": str(VIEW_LAGGING_RETRY_AFTER_S)},
                view=error.view,
                view_position=error.position,
                write_position=error.wanted,
            )
        case _ if unreachable(error):
            return problem(
                "store-unavailable",
                "the event store cannot be reached; retry shortly",
                instance=instance,
                headers={"Retry-After": str(STORE_UNAVAILABLE_RETRY_AFTER_S)},
            )
    return None
