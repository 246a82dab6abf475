"""How W3C WebDriver failures and WebKit's load errors become DriverErrors with a `Reason`.

WebDriver names its failures with the specification's error codes; a page load that fails reaches
the driver only through the shell's side channel, as WebKit's (libsoup's) error sentence. Both are
read here, once.
"""

from __future__ import annotations

from driftstack.drivers.base import ENGINE_MESSAGE_MAX, DriverError, Reason
from driftstack.drivers.webdriver_client import WebDriverFailure

_BY_CODE: dict[str, Reason] = {
    "no such element": Reason.SELECTOR_NOT_FOUND,
    "invalid selector": Reason.INVALID_SELECTOR,
    "element not interactable": Reason.ELEMENT_NOT_ACTIONABLE,
    "element click intercepted": Reason.ELEMENT_NOT_ACTIONABLE,
    "stale element reference": Reason.ELEMENT_NOT_ACTIONABLE,
    "javascript error": Reason.SCRIPT_ERROR,
    "timeout": Reason.TIMEOUT,
    "script timeout": Reason.TIMEOUT,
    "invalid argument": Reason.INVALID_ARGUMENT,
    "no such window": Reason.PAGE_CLOSED,
    "invalid session id": Reason.PAGE_CLOSED,
    "session gone": Reason.BROWSER_CRASHED,
    "unsupported operation": Reason.UNSUPPORTED,
    "unknown command": Reason.UNSUPPORTED,
}

# WebKit's load errors, by the words of their sentence (libsoup and GIO word them).
_LOAD_ERRORS: tuple[tuple[tuple[str, ...], Reason], ...] = (
    (
        ("resolving", "name or service not known", "could not resolve", "temporary failure in name"),
        Reason.DNS_FAILED,
    ),
    (("connection refused",), Reason.CONNECTION_REFUSED),
    (
        ("terminated unexpectedly", "reset", "broken pipe", "connection closed", "message corrupt"),
        Reason.CONNECTION_RESET,
    ),
    (("tls", "certificate", "ssl"), Reason.TLS_FAILED),
    (("too many redirects", "redirect"), Reason.TOO_MANY_REDIRECTS),
    (("proxy", "unreachable", "no route", "could not connect", "timed out"), Reason.HOST_UNREACHABLE),
    (("not allowed", "blocked", "policy"), Reason.BLOCKED),
)

# WebKit's own code for a load another load replaced: not a failure of the page.
LOAD_CANCELLED = 302


def engine_line(text: str) -> str:
    line = " ".join(text.split())
    return line[:ENGINE_MESSAGE_MAX]


def translate(
    failure: WebDriverFailure, *, doing: str, fallback: Reason = Reason.ACTION_FAILED
) -> DriverError:
    """A refused WebDriver command as the DriverError of `doing`."""
    reason = _BY_CODE.get(failure.error, fallback)
    return DriverError.of(reason, doing, engine_message=engine_line(str(failure)))


def load_failure(message: str, *, doing: str) -> DriverError:
    """A page load WebKit reported failed, with the reason its sentence names."""
    lowered = message.lower()
    reason = next(
        (reason for words, reason in _LOAD_ERRORS if any(word in lowered for word in words)),
        Reason.NAVIGATION_FAILED,
    )
    return DriverError.of(reason, doing, engine_message=engine_line(message))
