"""How Playwright's (and its engines') failures become DriverErrors with a `Reason`.

Playwright raises one generic `Error` whose text names its own API ("Page.goto: …") and
appends a call log; the engines put their network error codes in that text. The text is the
only tell, so it is read here, once, and nowhere else.
"""

from __future__ import annotations

import re

from playwright.async_api import TimeoutError as PlaywrightTimeout

from driftstack.drivers.base import ENGINE_MESSAGE_MAX, DriverError, Reason

# What kind of call failed decides what its failure can mean.
NAVIGATION, SELECTOR, SCRIPT, OTHER = "navigation", "selector", "script", "other"

# "Page.goto: ", "Locator.evaluate: ": Playwright's API names, not the engine's words.
_API_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z]*\.[a-z_A-Z]+: )+")

_CLOSED_MARKERS = ("target closed", "has been closed")
_CRASHED_MARKERS = ("target crashed", "browser closed", "browser has disconnected", "connection closed")
_SELECTOR_SYNTAX_MARKERS = ("while parsing", "is not a valid selector", "unknown engine")

_CHROMIUM_CODE = re.compile(r"net::ERR_([A-Z0-9_]+)")
_CHROMIUM: dict[str, Reason] = {
    **dict.fromkeys(
        (
            "NAME_NOT_RESOLVED",
            "NAME_RESOLUTION_FAILED",
            "DNS_TIMED_OUT",
            "DNS_SERVER_FAILED",
            "DNS_MALFORMED_RESPONSE",
            "ICANN_NAME_COLLISION",
        ),
        Reason.DNS_FAILED,
    ),
    "CONNECTION_REFUSED": Reason.CONNECTION_REFUSED,
    **dict.fromkeys(
        (
            "CONNECTION_RESET",
            "CONNECTION_CLOSED",
            "CONNECTION_ABORTED",
            "EMPTY_RESPONSE",
            "SOCKET_NOT_CONNECTED",
        ),
        Reason.CONNECTION_RESET,
    ),
    **dict.fromkeys(
        (
            "ADDRESS_UNREACHABLE",
            "ADDRESS_INVALID",
            "CONNECTION_FAILED",
            "CONNECTION_TIMED_OUT",
            "INTERNET_DISCONNECTED",
            "NETWORK_CHANGED",
            "NETWORK_ACCESS_DENIED",
            "PROXY_CONNECTION_FAILED",
            "TUNNEL_CONNECTION_FAILED",
        ),
        Reason.HOST_UNREACHABLE,
    ),
    "TOO_MANY_REDIRECTS": Reason.TOO_MANY_REDIRECTS,
    **dict.fromkeys(
        (
            "UNSAFE_PORT",
            "UNSAFE_REDIRECT",
            "BLOCKED_BY_CLIENT",
            "BLOCKED_BY_ADMINISTRATOR",
            "BLOCKED_BY_RESPONSE",
            "DISALLOWED_URL_SCHEME",
        ),
        Reason.BLOCKED,
    ),
    "TIMED_OUT": Reason.TIMEOUT,
}

_FIREFOX_CODE = re.compile(r"\b((?:NS_ERROR|SSL_ERROR|SEC_ERROR|MOZILLA_PKIX_ERROR)_[A-Z0-9_]+)")
_FIREFOX: dict[str, Reason] = {
    "NS_ERROR_UNKNOWN_HOST": Reason.DNS_FAILED,
    "NS_ERROR_CONNECTION_REFUSED": Reason.CONNECTION_REFUSED,
    "NS_ERROR_NET_RESET": Reason.CONNECTION_RESET,
    "NS_ERROR_NET_INTERRUPT": Reason.CONNECTION_RESET,
    "NS_ERROR_NET_PARTIAL_TRANSFER": Reason.CONNECTION_RESET,
    "NS_ERROR_NET_TIMEOUT": Reason.HOST_UNREACHABLE,
    "NS_ERROR_OFFLINE": Reason.HOST_UNREACHABLE,
    "NS_ERROR_REDIRECT_LOOP": Reason.TOO_MANY_REDIRECTS,
    "NS_ERROR_PORT_ACCESS_NOT_ALLOWED": Reason.BLOCKED,
}

# WebKit words its network failures as text (libsoup or curl, by platform).
_WEBKIT: tuple[tuple[tuple[str, ...], Reason], ...] = (
    (("could not resolve host", "couldn't resolve host", "error resolving"), Reason.DNS_FAILED),
    (("connection refused", "could not connect", "couldn't connect"), Reason.CONNECTION_REFUSED),
    (("connection reset", "connection terminated", "server closed the connection"), Reason.CONNECTION_RESET),
    (("ssl", "tls", "certificate"), Reason.TLS_FAILED),
    (("too many redirects",), Reason.TOO_MANY_REDIRECTS),
    (("restricted network port",), Reason.BLOCKED),
    (("timed out",), Reason.HOST_UNREACHABLE),
)


def engine_line(text: str) -> str | None:
    """The engine's words: the first line, without Playwright's API name or call log, bounded."""
    line = (text.strip().splitlines() or [""])[0].strip()
    line = _API_PREFIX.sub("", line).strip()
    if len(line) > ENGINE_MESSAGE_MAX:
        line = line[: ENGINE_MESSAGE_MAX - 1] + "…"
    return line or None


def network_reason(text: str) -> Reason | None:
    """The reason a navigation failed, read from an engine's error code or words; None if unknown."""
    if found := _CHROMIUM_CODE.search(text):
        code = found.group(1)
        if code.startswith(("SSL_", "CERT_", "BAD_SSL_")) or "_CERT_" in code:
            return Reason.TLS_FAILED
        return _CHROMIUM.get(code, Reason.NAVIGATION_FAILED)
    if found := _FIREFOX_CODE.search(text):
        code = found.group(1)
        if code.startswith(("SSL_ERROR_", "SEC_ERROR_", "MOZILLA_PKIX_ERROR_")):
            return Reason.TLS_FAILED
        return _FIREFOX.get(code, Reason.NAVIGATION_FAILED)
    lowered = text.lower()
    for markers, reason in _WEBKIT:
        if any(marker in lowered for marker in markers):
            return reason
    return None


def translate(
    exc: BaseException,
    *,
    doing: str,
    kind: str = OTHER,
    timeout_ms: float | None = None,
    gone: str | None = None,
) -> DriverError:
    """The one place Playwright's (and asyncio's) exceptions become DriverErrors.

    `doing` completes "could not …" ("tap '#buy'"); `kind` says what the call was, so that a
    timeout waiting for an element reads as a missing element and a parse error of a script
    as a script error; `gone` is why the page is known to be dead, if it is.
    """
    text = str(exc)
    engine = engine_line(text)
    lowered = (engine or "").lower()
    if gone == "closed":
        return DriverError.of(Reason.PAGE_CLOSED, doing)
    if gone is not None:
        return DriverError.of(Reason.BROWSER_CRASHED, doing, more=f" ({gone})")
    if any(marker in lowered for marker in _CRASHED_MARKERS):
        return DriverError.of(Reason.BROWSER_CRASHED, doing, engine_message=engine)
    if any(marker in lowered for marker in _CLOSED_MARKERS):
        return DriverError.of(Reason.PAGE_CLOSED, doing, engine_message=engine)
    if isinstance(exc, (PlaywrightTimeout, TimeoutError)):
        return _timed_out(exc, doing, kind, timeout_ms, engine)
    if kind == NAVIGATION:
        reason = network_reason(engine or "") or Reason.NAVIGATION_FAILED
        return DriverError.of(reason, doing, engine_message=engine)
    if "unknown key:" in lowered:
        return DriverError.of(Reason.UNKNOWN_KEY, doing, engine_message=engine)
    if kind == SELECTOR and any(marker in lowered for marker in _SELECTOR_SYNTAX_MARKERS):
        return DriverError.of(Reason.INVALID_SELECTOR, doing, engine_message=engine)
    if kind == SCRIPT:
        return DriverError.of(Reason.SCRIPT_ERROR, doing, engine_message=engine)
    return DriverError.of(Reason.ACTION_FAILED, doing, engine_message=engine)


def _timed_out(
    exc: BaseException, doing: str, kind: str, timeout_ms: float | None, engine: str | None
) -> DriverError:
    waited = f" (waited {timeout_ms:g} ms)" if timeout_ms is not None else ""
    if kind == SELECTOR and isinstance(exc, PlaywrightTimeout):
        # The call log says whether the selector ever matched: "locator resolved to <button …>"
        # for an element that then stayed hidden or covered, "… to hidden <…>" for a wait.
        log = str(exc)
        if "resolved to" in log and "resolved to hidden" not in log:
            return DriverError.of(Reason.ELEMENT_NOT_ACTIONABLE, doing, more=waited, engine_message=engine)
        return DriverError.of(Reason.SELECTOR_NOT_FOUND, doing, more=waited, engine_message=engine)
    return DriverError.of(Reason.TIMEOUT, doing, more=waited, engine_message=engine)
