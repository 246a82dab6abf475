"""Route of /v1/asyncapi.json: the AsyncAPI 3.0 document of the session WebSocket (seed 004), built once
from the frame declarations (`shapes/frames.py`) and the socket's own bounds."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any, Literal, get_args, get_origin

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from ..domain.api_key import KEY_PREFIX
from ..domain.session import IDLE_TIMEOUT
from ..domain.tiers import TIERS
from .context import ACCOUNT_HEADER, TENANT_HEADER
from .shapes import frames
from .socket import AUTH_RECHECK_S, HEARTBEAT_S, SEND_TIMEOUT_S

routes = web.RouteTableDef()

Schema = dict[str, Any]
Frame = type[BaseModel]

ADDRESS = "/v1/sessions/ws"
CHANNEL = "session"
DEFAULT_HOST = "localhost:8022"
SCHEMA_REF = "#/components/schemas/{model}"

# Read from the unions the socket itself validates and answers with: a frame added there is here.
CLIENT_FRAMES: tuple[Frame, ...] = get_args(get_args(frames.ClientFrame)[0])
SERVER_FRAMES: tuple[Frame, ...] = get_args(frames.ServerFrame)

# Each frame a client sends → the frame that answers it (seed 004 names most answers differently).
ANSWER_TO: dict[Frame, Frame] = {
    frames.Open: frames.Opened,
    frames.Goto: frames.GotoDone,
    frames.Click: frames.Clicked,
    frames.Fill: frames.Filled,
    frames.Content: frames.ContentDone,
    frames.Evaluate: frames.Evaluated,
    frames.Screenshot: frames.ScreenshotDone,
    frames.Close: frames.Closed,
}

# What each frame is for, and one realistic example of it (the tests hold every example to its schema
# and to its model). A frame declared without its words here fails the document's build.
WORDS: dict[Frame, tuple[str, Schema]] = {
    frames.Open: (
        "The handshake, the first frame: the client kind, middleware, proxies and bounds of the session.",
        {"client": "standard", "timeout": "30s", "max_redirects": 5, "proxies": []},
    ),
    frames.Opened: (
        "The handshake's answer: the session is open (`session_id`, and `id` as REST names it).",
        {
            "action": "open",
            "session_id": "0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f",
            "id": "ses_0190f3c2-7d4e-7b1a-9c3e-5a2b1c0d9e8f",
            "client": "standard",
        },
    ),
    frames.Goto: (
        "Navigates (`browser`) or fetches (`standard`) a URL.",
        {"action": "goto", "url": "https://example.com/", "headers": [["Accept-Language", "en"]]},
    ),
    frames.Click: ("Clicks the element a CSS selector matches.", {"action": "click", "selector": "#buy"}),
    frames.Fill: (
        "Fills an input element with a value.",
        {"action": "fill", "selector": "input[name=q]", "value": "driftstack"},
    ),
    frames.Content: ("Asks for the page's content.", {"action": "content"}),
    frames.Evaluate: ("Runs a script in the page.", {"action": "evaluate", "script": "document.title"}),
    frames.Screenshot: ("Captures the page as a PNG.", {"action": "screenshot"}),
    frames.Close: (
        "Ends the session; the server answers `closed` and closes the socket.",
        {"action": "close"},
    ),
    frames.GotoDone: (
        "The navigation's result: final URL, status, headers, cookies set, body and redirects followed.",
        {
            "action": "goto",
            "url": "https://example.com/",
            "status_code": 200,
            "headers": [["content-type", "text/html; charset=utf-8"]],
            "cookies": [{"name": "sid", "value": "abc", "path": "/", "http_only": True}],
            "body": "PGh0bWw+PC9odG1sPg==",
            "redirects": [
                {
                    "url": "http://example.com/",
                    "location": "https://example.com/",
                    "side": "server",
                    "type": "permanent",
                }
            ],
            "content_type": "text/html",
        },
    ),
    frames.Clicked: ("The click is done.", {"action": "clicked"}),
    frames.Filled: ("The fill is done.", {"action": "filled"}),
    frames.ContentDone: (
        "The page's content, base64.",
        {"action": "content", "content": "PGh0bWw+PC9odG1sPg=="},
    ),
    frames.Evaluated: ("The script's JSON result.", {"action": "evaluated", "result": "Example Domain"}),
    frames.ScreenshotDone: (
        "The screenshot, a PNG in base64.",
        {"action": "screenshot", "screenshot": "iVBORw0KGgo="},
    ),
    frames.Closed: ("The session is closed; the socket closes next.", {"action": "closed"}),
    frames.ErrorFrame: (
        "Out of band: `error` leaves the socket usable, `fatal` is the last frame before it closes.",
        {"type": "error", "message": "url: an absolute http:// or https:// URL, or about:blank", "code": 400},
    ),
}


def tag(frame: Frame) -> str:
    """What a frame is known by on the wire: its `action`, or `error` / `fatal` for an error frame."""
    field = frame.model_fields.get("action") or frame.model_fields["type"]
    return " / ".join(str(value) for value in _literals(field.annotation))


def _literals(annotation: Any) -> list[Any]:
    """The values a `Literal` allows, through `| None` (the `open` frame's `action` may be absent)."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [value for part in get_args(annotation) for value in _literals(part)]


def _error_table() -> str:
    rows = [f"| {code} | {_cell(meaning)} |" for code, meaning in frames.ERROR_CODES.items()]
    return "\n".join(["| code | meaning |", "|---|---|", *rows])


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _answer_table() -> str:
    rows = [f"| `{tag(asked)}` | `{tag(answer)}` |" for asked, answer in ANSWER_TO.items()]
    return "\n".join(["| frame | its answer |", "|---|---|", *rows])


def _description() -> str:
    idle = sorted({tier.idle_timeout_s for tier in TIERS.values()})
    return f"""Drive one session over a WebSocket with JSON frames. This document is written from the \
client's point of view: an operation `send`s what a client sends and `receive`s what it receives.

## Connecting
`GET {ADDRESS}` upgrades with `Authorization: Bearer {KEY_PREFIX}…`, a key with the `write` scope; \
`{TENANT_HEADER}` (or `{ACCOUNT_HEADER}`) names the account to act on, as on REST. Without a valid key the \
upgrade is refused before it happens: `401 application/problem+json` (403 without the scope or for an \
account the key may not act on). The key is checked again at the first frame after {AUTH_RECHECK_S:g} s: \
revoked or expired, it ends the session with a `fatal` 401.

## Handshake
The first frame is `open` (its `action` may be left out, and so may every field); the server answers an \
`open` frame carrying `session_id`. An action frame before it, or a second `open`, answers an `error` 400. \
An `open` that is refused (an invalid field) or fails (a cap reached, no browser) answers a `fatal` frame.

## Order of answers
Action frames are answered one at a time, in the order sent: each answer (or the `error` frame that takes \
its place) comes before the next frame is read.

{_answer_table()}

`close` ends the session (`reason: client_request`), answers `closed` and closes the socket. A socket that \
drops ends its session with `reason: socket_closed`.

## error and fatal
An `error` frame refuses or fails one frame and the socket stays usable. A `fatal` frame is the last frame: \
the server closes the socket after it (the session ended elsewhere, the key was lost, the idle timeout, the \
service stopping); open a new socket to go on. The `code` is one of:

{_error_table()}

## Frames
Frames are JSON objects in text frames; a binary frame answers an `error` 400. A frame over \
{frames.FRAME_LIMIT} bytes (UTF-8) answers an `error` 413 and the socket stays usable; one over \
{frames.FRAME_HARD_LIMIT} bytes is not read: the socket closes with code 1009.

## Ping, pong and idle
The server pings after {HEARTBEAT_S:g} s without a frame from the client, and closes a socket whose pong \
does not come within {HEARTBEAT_S / 2:g} s. A client may ping too: the server pongs, and the ping keeps a \
`browser` session from idling. Past the account tier's idle timeout (`idle_timeout_s` of `GET \
/v1/account/me`, {idle[0]:g} s to {idle[-1]:g} s by tier) without a frame from the client, the session ends \
(`reason: {IDLE_TIMEOUT}`) with a `fatal` 408. A client that does not read a frame within \
{SEND_TIMEOUT_S:g} s loses its socket."""


def _as_asyncapi_schema(schema: Any) -> Any:
    """pydantic writes JSON Schema 2020-12; AsyncAPI's Schema Object is draft 07 with a string
    `discriminator`. The keywords that differ are said the draft 07 way; titles, which only repeat a
    field's or a component's name, go (as in the OpenAPI document)."""
    if isinstance(schema, list):
        return [_as_asyncapi_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    said: Schema = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):  # names, each of a schema
            said[key] = {name: _as_asyncapi_schema(part) for name, part in value.items()}
        elif key == "prefixItems":
            said["items"] = _as_asyncapi_schema(value)
            if "items" in schema:  # beside `prefixItems`, 2020-12's `items` says what may follow
                said["additionalItems"] = _as_asyncapi_schema(schema["items"])
        elif key == "discriminator" and isinstance(value, dict):
            # pydantic's is OpenAPI's {propertyName, mapping}; AsyncAPI's names the property whose value
            # is the name of a schema that extends this one. The `oneOf` it sits beside already picks
            # exactly one branch by each branch's `const`, so it goes.
            continue
        elif key == "title" or (key == "items" and "prefixItems" in schema):
            continue
        else:
            said[key] = _as_asyncapi_schema(value)
    return said


def _schemas() -> tuple[dict[Frame, str], dict[str, Schema]]:
    """Every frame's component name, and every schema: the frames and the shapes they share."""
    modes: list[tuple[Frame, JsonSchemaMode]] = [(frames.Open, "validation")]
    modes += [(frame, "validation") for frame in CLIENT_FRAMES]
    modes += [(frame, "serialization") for frame in SERVER_FRAMES]
    refs, top = models_json_schema(modes, ref_template=SCHEMA_REF)
    names = {frame: refs[(frame, mode)]["$ref"].rsplit("/", 1)[1] for frame, mode in modes}
    return names, {name: _as_asyncapi_schema(schema) for name, schema in top["$defs"].items()}


def _title(frame: Frame) -> str:
    asked = [sent for sent, answer in ANSWER_TO.items() if answer is frame]
    return f"{tag(frame)}, the answer to {tag(asked[0])}" if asked else tag(frame)


def _message(frame: Frame, name: str) -> Schema:
    summary, example = WORDS[frame]
    return {
        "name": name,
        "title": _title(frame),
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": SCHEMA_REF.format(model=name)},
        "examples": [{"name": name, "payload": example}],
    }


def _in_channel(names: list[str]) -> list[Schema]:
    # An operation's messages are the channel's own (AsyncAPI 3.0), not the components behind them.
    return [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in names]


def _operation(action: str, summary: str, messages: list[str], replies: list[str] | None = None) -> Schema:
    operation: Schema = {
        "action": action,
        "channel": {"$ref": f"#/channels/{CHANNEL}"},
        "summary": summary,
        "messages": _in_channel(messages),
    }
    if replies is not None:
        operation["reply"] = {"channel": {"$ref": f"#/channels/{CHANNEL}"}, "messages": _in_channel(replies)}
    return operation


def _operations(names: dict[Frame, str]) -> Schema:
    """What a client does on the socket: the document is written from the client's point of view."""
    error = names[frames.ErrorFrame]
    answers = [names[frame] for frame in SERVER_FRAMES if frame is not frames.ErrorFrame]
    return {
        "sendOpen": _operation(
            "send",
            "The client opens the session with its first frame.",
            [names[frames.Open]],
            [names[frames.Opened], error],
        ),
        "sendAction": _operation(
            "send",
            "The client sends an action frame; the server answers each in the order sent.",
            [names[frame] for frame in CLIENT_FRAMES],
            [names[ANSWER_TO[frame]] for frame in CLIENT_FRAMES] + [error],
        ),
        "receiveAnswer": _operation(
            "receive", "The client receives the answer to its `open` or action frame.", answers
        ),
        "receiveError": _operation(
            "receive",
            "The client receives an `error` frame (the socket stays usable) or a `fatal` one.",
            [error],
        ),
    }


def _handshake_headers() -> Schema:
    account = (
        "The account to act on (`acc_…`): the key's own by default, else a team owner's it is a member of."
    )
    return {
        "type": "object",
        "required": ["Authorization"],
        "properties": {
            "Authorization": {
                "type": "string",
                "description": "`Bearer` and an API key with the `write` scope.",
                "examples": [f"Bearer {KEY_PREFIX}…"],
            },
            TENANT_HEADER: {"type": "string", "description": f"{account} Wins over `{ACCOUNT_HEADER}`."},
            ACCOUNT_HEADER: {"type": "string", "description": account},
        },
    }


def _server(host: str, protocol: str) -> Schema:
    return {
        "host": host,
        "protocol": protocol,
        "description": "This Driftstack service.",
        "security": [{"$ref": "#/components/securitySchemes/bearer"}],
    }


@cache
def document() -> dict[str, Any]:
    """The AsyncAPI document; built on first use, the same object after (treat it as read-only)."""
    names, schemas = _schemas()
    messages = {names[frame]: _message(frame, names[frame]) for frame in names}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Driftstack WebSocket protocol",
            "version": __version__,
            "description": _description(),
        },
        "defaultContentType": "application/json",
        "servers": {"driftstack": _server(DEFAULT_HOST, "ws")},
        "channels": {
            CHANNEL: {
                "address": ADDRESS,
                "title": "One session",
                "description": "One socket drives one session, from its `open` to its end.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {
                    "ws": {"method": "GET", "headers": _handshake_headers(), "bindingVersion": "0.1.0"}
                },
            }
        },
        "operations": _operations(names),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{KEY_PREFIX}…",
                    "description": "An API key with the `write` scope, on the upgrade request. "
                    f"`{TENANT_HEADER}` (or `{ACCOUNT_HEADER}`) names the account to act on: a team "
                    "owner's that the key's account is a member of (not a member: 403).",
                }
            },
        },
    }


@lru_cache(maxsize=32)  # keyed by the Host a client sends: bounded
def _document_json(host: str, protocol: str) -> str:
    return json.dumps({**document(), "servers": {"driftstack": _server(host, protocol)}})


@routes.get("/v1/asyncapi.json")
async def asyncapi_document(request: web.Request) -> web.Response:
    protocol = "wss" if request.secure else "ws"
    return web.Response(
        text=_document_json(request.host or DEFAULT_HOST, protocol), content_type="application/json"
    )
