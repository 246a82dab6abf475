"""The WebSocket protocol's frames (seed 004): the handshake, the action frames a client sends, the
frames the server answers, and the error frames. Each is declared once here; the socket reads and
writes through these, and the AsyncAPI document is derived from them."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from .base import SAFE_TEXT, Request, integer, refused, refused_at, text
from .sessions import MAX_URL, Archetype, ProfileId, ProxyName, Selector, Url

# A frame larger than this answers an `error` (413) and the socket stays usable; one larger than
# FRAME_HARD_LIMIT closes the socket (1009): the server does not read it whole.
FRAME_LIMIT = 4 * 1024 * 1024
FRAME_HARD_LIMIT = 16 * 1024 * 1024
MAX_SCRIPT = 100_000
MAX_FILL = 100_000
MAX_MIDDLEWARE = 32
MAX_HEADERS = 100
MAX_COOKIES = 100
MAX_TIMEOUT_S = 300

# The error codes a frame carries: HTTP-like, one table (the README and the AsyncAPI document show it).
ERROR_CODES: dict[int, str] = {
    400: "a bad frame: not JSON, a binary frame, an unknown `action`, a missing or invalid field, a frame "
    "before `open` or a second `open`",
    401: "the key is missing, invalid, revoked or expired (fatal once the socket is open)",
    403: "the egress refused the address (a private or loopback one the operator has not opened), or the "
    "key lacks the `write` scope",
    404: "not found: a selector that matched nothing, a `profile_id` that does not exist",
    408: "timed out: the request, the selector, the script, or the socket idle past the tier's idle timeout "
    "(fatal)",
    409: "the session can no longer act",
    410: "the session ended (destroyed over REST, its browser crashed): fatal",
    413: "the frame is larger than 4 MiB (frames over 16 MiB close the socket with code 1009)",
    417: "a response middleware's expectation failed (a status outside `require_status`)",
    422: "the page refused the action: the script threw, the element cannot take the value",
    429: "the account's concurrency cap, or its bound on open sockets, is reached (fatal at `open`)",
    500: "a fault of the service (logged); the socket stays usable",
    501: "the client cannot do this: the `standard` client has no page (click, fill, evaluate, screenshot); "
    "the `browser` client sends only GET navigations as its persona",
    502: "the upstream failed: the connection, TLS, an empty answer, too many redirects, or a 502/503/504 "
    "after the retries",
    503: "the service is stopping, or no browser is available (fatal)",
}
ErrorCode = Literal[tuple(ERROR_CODES)]  # type: ignore[valid-type]

_DURATION = re.compile(r"^([1-9][0-9]{0,6})(ms|s|m|h)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def _duration_ms(value: str) -> str:
    matched = _DURATION.fullmatch(value)
    if matched is None:
        raise refused("a duration such as 250ms, 30s or 5m")
    ms = int(matched.group(1)) * _UNIT_MS[matched.group(2)]
    if ms > MAX_TIMEOUT_S * 1000:
        raise refused(f"at most {MAX_TIMEOUT_S}s")
    return value


def duration_ms(value: str) -> int:
    matched = _DURATION.fullmatch(value)
    assert matched is not None  # validated
    return int(matched.group(1)) * _UNIT_MS[matched.group(2)]


Duration = Annotated[
    str,
    AfterValidator(_duration_ms),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _DURATION.pattern,
            "description": f"A duration: a whole number and `ms`, `s`, `m` or `h`, at most {MAX_TIMEOUT_S}s.",
            "examples": ["30s", "5m", "250ms"],
        }
    ),
]


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise refused("standard base64") from None
    return value


Base64 = Annotated[
    str,
    AfterValidator(_base64),
    WithJsonSchema({"type": "string", "contentEncoding": "base64", "description": "Standard base64."}),
]

HeaderName = text(
    min_length=1,
    max_length=256,
    pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
    message="an HTTP header name (a token)",
)
HeaderValue = text(max_length=8192, pattern=r"^[^\x00\r\n\ud800-\udfff]*$", message="no CR, LF or NUL")
Header = Annotated[
    list[Any],
    WithJsonSchema(
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "string"}],
            "minItems": 2,
            "maxItems": 2,
            "description": "A header as `[name, value]`.",
        }
    ),
]


# Shapes the frames share


class Cookie(Request):
    name: text(
        min_length=1, max_length=4096, pattern=r"^[^\x00-\x20;=,\x7f\ud800-\udfff]+$", message="a cookie name"
    )  # type: ignore[valid-type]
    value: text(max_length=8192, pattern=r"^[^\x00-\x1f;\x7f\ud800-\udfff]*$", message="a cookie value")  # type: ignore[valid-type]
    domain: text(max_length=255) | None = None  # type: ignore[valid-type]
    path: text(max_length=1024) | None = None  # type: ignore[valid-type]
    expires: text(max_length=64) | None = Field(None, description="When it expires (date-time).")  # type: ignore[valid-type]
    http_only: bool | None = None
    secure: bool | None = None
    same_site: Literal["Lax", "Strict", "None"] | None = None


class Redirect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="The URL that issued the redirect.")
    location: str = Field(description="The URL the redirect points to.")
    side: Literal["server", "client"] = Field(description="Who issued it: an HTTP answer is `server`.")
    type: Literal["permanent", "temporary"] = Field(description="301 and 308 are permanent.")


class CookieOut(BaseModel):
    """A cookie a response set, as it was set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: str
    domain: str | None = None
    path: str | None = None
    expires: str | None = None
    http_only: bool | None = None
    secure: bool | None = None
    same_site: Literal["Lax", "Strict", "None"] | None = None


# The handshake


class ClientSpec(Request):
    """The client as an object: `browser` with the session's options, or `standard`."""

    kind: Literal["standard", "browser"]
    archetype: Archetype | None = Field(None, description="`browser` only: the persona (default: default).")
    profile_id: ProfileId | None = Field(None, description="`browser` only: the profile to run on.")  # type: ignore[valid-type]
    engine: Literal["webkit", "chromium", "firefox"] | None = Field(
        None, description="`browser` only: the engine (default: the service's)."
    )

    @model_validator(mode="after")
    def _browser_options(self) -> ClientSpec:
        if self.kind == "standard":
            for name in ("archetype", "profile_id", "engine"):
                if getattr(self, name) is not None:
                    raise refused_at(name, "only the browser client runs a browser")
        return self


UrlPattern = text(
    min_length=1,
    max_length=2048,
    description="A glob over the whole URL: `*` matches any run of characters, e.g. `*.png`, "
    "`https://ads.example/*`, `*://*/track?*`.",
)


class SetHeader(Request):
    """Request: send this header (replacing one of the same name) on every request (`standard` client)."""

    kind: Literal["set_header"]
    name: HeaderName  # type: ignore[valid-type]
    value: HeaderValue  # type: ignore[valid-type]


class RemoveHeader(Request):
    """Request: never send this header (`standard` client), the client's own ones included."""

    kind: Literal["remove_header"]
    name: HeaderName  # type: ignore[valid-type]


class BlockUrls(Request):
    """Request: refuse every request whose URL matches (both clients: the browser's subresources too)."""

    kind: Literal["block_urls"]
    pattern: UrlPattern  # type: ignore[valid-type]


class RequireStatus(Request):
    """Response: a `goto` whose final status is outside [min, max] answers an `error` frame (417)."""

    kind: Literal["require_status"]
    min: integer(100, 599)  # type: ignore[valid-type]
    max: integer(100, 599)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _ordered(self) -> RequireStatus:
        if self.min > self.max:
            raise refused_at("max", "must not be below min")
        return self


Middleware = Annotated[SetHeader | RemoveHeader | BlockUrls | RequireStatus, Field(discriminator="kind")]


class Open(Request):
    """The handshake: the first frame. Every field may be left out (seed 004's defaults)."""

    action: Literal["open"] | None = Field(None, description="May be left out: the first frame is the open.")
    client: Literal["standard", "browser"] | ClientSpec = Field(
        "standard", description="`standard` (HTTP fetches, no browser) or `browser` (a real browser session)."
    )
    middleware: Annotated[list[Middleware], Field(max_length=MAX_MIDDLEWARE)] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Request and response middleware, applied in order."
    )
    proxies: Annotated[list[ProxyName], Field(max_length=16)] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="Upstream proxies by the operator's names (`DRIFTSTACK_PROXIES`); several rotate across "
        "retries (the `browser` client takes the first). An unknown name is refused.",
    )
    timeout: Duration = Field("30s", description="How long one action may take.")
    max_redirects: integer(0, 50) = Field(10, description="Redirects a `goto` follows.")  # type: ignore[valid-type]
    max_retries: integer(0, 10) = Field(  # type: ignore[valid-type]
        3, description="Retries of a `goto` on a connection error or a 502/503/504 (`standard` client)."
    )

    @property
    def client_kind(self) -> str:
        return self.client if isinstance(self.client, str) else self.client.kind

    @property
    def timeout_ms(self) -> int:
        return duration_ms(self.timeout)


class Opened(BaseModel):
    """The handshake's answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["open"]
    session_id: str = Field(description="The session's uuid.", json_schema_extra={"format": "uuid"})
    id: str = Field(description="The same session as REST names it (`ses_<uuid>`).")
    client: Literal["standard", "browser"]


# What a client sends after the handshake

Method = Literal["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT"]
UserAgent = text(
    min_length=1,
    max_length=1024,
    pattern=r"^[^\x00-\x1f\x7f\ud800-\udfff]*$",
    message="a keyword or a user agent without control characters",
    description="`inndx` (the service's own crawler agent), `chrome`, `firefox`, `safari`, `random`, or a "
    "user agent of your own.",
)


def _headers(value: list[Any]) -> list[Any]:
    if len(value) > MAX_HEADERS:
        raise refused(f"at most {MAX_HEADERS} headers")
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise refused("each header is a [name, value] pair of strings")
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", pair[0]) or re.search(r"[\x00\r\n]", pair[1]):
            raise refused("a header name is a token, and a value holds no CR, LF or NUL")
        if len(pair[0]) > 256 or len(pair[1]) > 8192:
            raise refused("a header name is at most 256 characters, a value at most 8192")
    return value


class Goto(Request):
    action: Literal["goto"]
    url: Url  # type: ignore[valid-type]
    method: Method = "GET"
    referrer: text(max_length=MAX_URL, pattern=SAFE_TEXT) | None = None  # type: ignore[valid-type]
    user_agent: UserAgent = "inndx"  # type: ignore[valid-type]
    headers: Annotated[list[Header], AfterValidator(_headers)] = Field(default_factory=list)
    cookies: Annotated[list[Cookie], Field(max_length=MAX_COOKIES)] = Field(default_factory=list)
    body: Base64 | None = None


class Click(Request):
    action: Literal["click"]
    selector: Selector  # type: ignore[valid-type]


class Fill(Request):
    action: Literal["fill"]
    selector: Selector  # type: ignore[valid-type]
    value: text(max_length=MAX_FILL)  # type: ignore[valid-type]


class Content(Request):
    action: Literal["content"]


class Evaluate(Request):
    action: Literal["evaluate"]
    script: text(min_length=1, max_length=MAX_SCRIPT)  # type: ignore[valid-type]


class Screenshot(Request):
    action: Literal["screenshot"]


class Close(Request):
    action: Literal["close"]


ClientFrame = Annotated[
    Goto | Click | Fill | Content | Evaluate | Screenshot | Close, Field(discriminator="action")
]


# What the server answers


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GotoDone(_Answer):
    action: Literal["goto"]
    url: str = Field(description="The final URL.")
    status_code: int | None = Field(
        description="The final response's status; null when none came (about:blank)."
    )
    headers: list[tuple[str, str]] = Field(description="`[name, value]` pairs as received.")
    cookies: list[CookieOut] = Field(description="The cookies the response set.")
    body: str | None = Field(description="The body, base64; null when there is none.")
    redirects: list[Redirect]
    content_type: str | None = Field(description="The MIME type, or null when unknown.")


class Clicked(_Answer):
    action: Literal["clicked"]


class Filled(_Answer):
    action: Literal["filled"]


class ContentDone(_Answer):
    action: Literal["content"]
    content: str = Field(
        description="base64: the last response's body (`standard`) or the live DOM (`browser`)."
    )


class Evaluated(_Answer):
    action: Literal["evaluated"]
    result: Any = Field(description="The JSON value the script returned.")


class ScreenshotDone(_Answer):
    action: Literal["screenshot"]
    screenshot: str | None = Field(description="A PNG, base64.")


class Closed(_Answer):
    action: Literal["closed"]


class ErrorFrame(_Answer):
    """Out of band: `error` leaves the socket usable; `fatal` is the last frame before it closes."""

    type: Literal["error", "fatal"]
    message: str
    code: ErrorCode  # type: ignore[valid-type]


ServerFrame = (
    Opened | GotoDone | Clicked | Filled | ContentDone | Evaluated | ScreenshotDone | Closed | ErrorFrame
)
