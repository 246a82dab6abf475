"""Frames into the service's terms and back: the `open` frame as a `SocketSpec`, and what each action frame
asks of a socket's session with the frame that answers it."""

from __future__ import annotations

import base64
import json
from typing import Any

from ..socket_sessions import Drive, SocketSpec
from ..standard_client import Fetched, FetchRequest, RequestRules
from .shapes import frames


def socket_spec(opening: frames.Open) -> SocketSpec:
    client = opening.client if isinstance(opening.client, frames.ClientSpec) else None
    middleware = opening.middleware
    return SocketSpec(
        client=opening.client_kind,
        archetype=client.archetype if client else None,
        engine=client.engine if client else None,
        profile_id=client.profile_id if client else None,
        proxies=tuple(opening.proxies),
        rules=RequestRules(
            set_headers=[(m.name, m.value) for m in middleware if isinstance(m, frames.SetHeader)],
            remove_headers=[m.name for m in middleware if isinstance(m, frames.RemoveHeader)],
            blocked=[m.pattern for m in middleware if isinstance(m, frames.BlockUrls)],
        ),
        expect_status=tuple((m.min, m.max) for m in middleware if isinstance(m, frames.RequireStatus)),
        timeout_ms=opening.timeout_ms,
        max_redirects=opening.max_redirects,
        max_retries=opening.max_retries,
    )


async def answer(drive: Drive, frame: Any) -> str:
    """Does what the action frame asks (not `close`); the answering frame as JSON text."""
    match frame:
        case frames.Goto():
            return _json(_goto_done(await drive.goto(_fetch_request(frame))))
        case frames.Click():
            await drive.click(frame.selector)
            return frames.Clicked(action="clicked").model_dump_json()
        case frames.Fill():
            await drive.fill(frame.selector, frame.value)
            return frames.Filled(action="filled").model_dump_json()
        case frames.Content():
            return _json({"action": "content", "content": _b64(await drive.content())})
        case frames.Evaluate():
            # The script's value is whatever JSON it returned: written as it is, not through a model.
            return _json({"action": "evaluated", "result": await drive.evaluate(frame.script)})
        case frames.Screenshot():
            return _json({"action": "screenshot", "screenshot": _b64(await drive.screenshot())})
    raise AssertionError(f"an action frame without a case: {frame!r}")


def _fetch_request(frame: frames.Goto) -> FetchRequest:
    return FetchRequest(
        url=frame.url,
        method=frame.method,
        referrer=frame.referrer,
        user_agent=frame.user_agent,
        headers=[(name, value) for name, value in frame.headers],
        cookies=[c.model_dump() for c in frame.cookies],
        body=base64.b64decode(frame.body) if frame.body is not None else None,
    )


def _goto_done(fetched: Fetched) -> dict[str, Any]:
    return {
        "action": "goto",
        "url": fetched.url,
        "status_code": fetched.status,
        "headers": fetched.headers,
        "cookies": fetched.cookies,
        "body": _b64(fetched.body) if fetched.body is not None else None,
        "redirects": [
            {"url": h.url, "location": h.location, "side": "server", "type": h.type}
            for h in fetched.redirects
        ],
        "content_type": fetched.content_type,
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _json(frame: dict[str, Any]) -> str:
    # Answers are built as dicts (a screenshot's base64 need not be copied into a model and out again);
    # the conformance of each to its declared frame is what the socket tests check.
    return json.dumps(frame, separators=(",", ":"), default=str)
