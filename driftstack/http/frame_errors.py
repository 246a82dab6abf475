"""What a failure is said as on a WebSocket: an error frame's HTTP-like `code` and message (the table is
`shapes.frames.ERROR_CODES`). REST's own mapping (`problems`) gives the code where the failure is shared."""

from __future__ import annotations

import json
from dataclasses import dataclass

import structlog

from ..actions import CaptureTooLarge
from ..domain.errors import SessionGone, SessionTimedOut
from ..drivers.base import DriverError, Reason
from ..socket_sessions import ExpectationFailed, NotSupported, SessionNotReady, TooManySockets
from ..standard_client import Blocked, BodyTooLarge
from .problems import from_exception

log = structlog.get_logger()

_BY_REASON = {
    Reason.TIMEOUT: 408,
    Reason.SELECTOR_NOT_FOUND: 404,
    Reason.INVALID_SELECTOR: 400,
    Reason.UNKNOWN_KEY: 400,
    Reason.INVALID_ARGUMENT: 400,
    Reason.ELEMENT_NOT_ACTIONABLE: 422,
    Reason.SCRIPT_ERROR: 422,
    Reason.ACTION_FAILED: 422,
    Reason.UNSUPPORTED: 501,
    Reason.EGRESS_REFUSED: 403,
    Reason.BLOCKED: 403,
    Reason.PAGE_CLOSED: 410,
    Reason.BROWSER_CRASHED: 410,
    Reason.UNAVAILABLE: 410,
}
# After these the socket has nothing left to drive: the key is gone, or the session is.
_FATAL = frozenset({401, 410})


@dataclass(frozen=True)
class FrameError:
    code: int
    message: str
    fatal: bool = False


def frame_error(error: Exception, *, opening: bool = False) -> FrameError:
    """The error frame for `error`; fatal at `open` (there is no session to keep) and for _FATAL codes."""
    code, message = _said(error)
    gone = isinstance(error, SessionGone | SessionTimedOut)
    return FrameError(code, message, fatal=opening or gone or code in _FATAL)


def _said(error: Exception) -> tuple[int, str]:
    match error:
        case NotSupported():
            return 501, str(error)
        case ExpectationFailed():
            return 417, str(error)
        case TooManySockets():
            return 429, str(error)
        case SessionNotReady():
            return 503, str(error)
        case Blocked():
            return 403, str(error)
        case BodyTooLarge():
            return 502, str(error)
        case CaptureTooLarge():
            return 413, str(error)
        case DriverError():
            return _BY_REASON.get(error.reason, 502), f"{error.detail} ({error.reason.value})"
    problem = from_exception(error, "")
    if problem is None:
        log.exception("socket.fault", error=repr(error))
        return 500, "the service failed to do this (logged); the socket stays usable"
    assert problem.text is not None
    return problem.status, json.loads(problem.text)["detail"]
