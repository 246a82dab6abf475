"""The WebSocket protocol's `standard` client: HTTP fetches without a browser, through the egress.

Its own cookie jar, its own redirect handling (each hop recorded), retries with back-off on
connection errors and 502/503/504 (rotating across the named upstream proxies), one timeout per
`goto`, and the request middleware. Every connection goes out through an egress route bound to the
session, so the address policy, the upstream proxies and the connection log are the browser's.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import fnmatch
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .drivers.base import DriverError, Reason
from .egress import NavigationRefused, Route, Upstream
from .user_agents import user_agent

REDIRECTS = {301: "permanent", 308: "permanent", 302: "temporary", 303: "temporary", 307: "temporary"}
RETRIED_STATUSES = frozenset({502, 503, 504})
BODY_CAP = 8 * 1024 * 1024  # a body larger than this is not answered (a frame carries it base64)
_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)


class Blocked(Exception):
    """A `block_urls` middleware matched the URL (a redirect hop's included)."""

    def __init__(self, url: str, pattern: str) -> None:
        super().__init__(f"{url} matches the block_urls pattern '{pattern}'")


class BodyTooLarge(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(f"the response of {url} is larger than {BODY_CAP} bytes")


@dataclass(frozen=True)
class RequestRules:
    """The request middleware: headers set and removed, URL patterns blocked."""

    set_headers: list[tuple[str, str]] = field(default_factory=list)
    remove_headers: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def check(self, url: str) -> None:
        for pattern in self.blocked:
            if fnmatch.fnmatchcase(url, pattern):
                raise Blocked(url, pattern)


@dataclass(frozen=True)
class Hop:
    url: str
    location: str
    type: str  # permanent | temporary


@dataclass(frozen=True)
class Fetched:
    """The last response of a `goto`, after its redirects."""

    url: str
    status: int | None  # None: no response came (a browser's about:blank)
    headers: list[tuple[str, str]]
    cookies: list[dict[str, Any]]
    body: bytes | None  # None: none (a HEAD, or the engine kept none)
    redirects: list[Hop]
    content_type: str | None
    attempts: int


@dataclass(frozen=True)
class FetchRequest:
    url: str
    method: str = "GET"
    referrer: str | None = None
    user_agent: str = "inndx"
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[dict[str, Any]] = field(default_factory=list)
    body: bytes | None = None


class StandardClient:
    """One socket's HTTP client: its cookie jar lives as long as the socket."""

    def __init__(
        self,
        route: Route,
        session_id: str,
        upstreams: list[Upstream],
        rules: RequestRules,
        *,
        timeout_ms: int,
        max_redirects: int,
        max_retries: int,
    ) -> None:
        self._route = route
        self._session_id = session_id
        self._upstreams = upstreams
        self._rules = rules
        self._timeout_s = timeout_ms / 1000
        self._max_redirects = max_redirects
        self._max_retries = max_retries
        self._attempt = 0
        # unsafe: a jar that keeps cookies of IP-address hosts too (a public server may be one).
        self._jar = aiohttp.CookieJar(unsafe=True)
        # One request per connection: the egress judges and records each connection on its own.
        self._http = aiohttp.ClientSession(
            cookie_jar=self._jar,
            connector=aiohttp.TCPConnector(force_close=True),
            auto_decompress=True,
        )
        self.last_body = b""
        self.last_url: str | None = None

    async def close(self) -> None:
        await self._http.close()
        await self._route.close()

    async def goto(self, request: FetchRequest) -> Fetched:
        """Fetches `request.url`, following redirects; DriverError (with the egress' reason where it
        refused or failed), Blocked or BodyTooLarge when no answer can be given."""
        self._remember(request)
        deadline = time.monotonic() + self._timeout_s
        url, method, body = request.url, request.method, request.body
        hops: list[Hop] = []
        attempts = 0
        while True:
            self._rules.check(url)
            response, tried = await self._with_retries(request, url, method, body, deadline)
            attempts += tried
            status, headers, content = response
            location = _header(headers, "location")
            if status in REDIRECTS and location:
                target = urljoin(url, location)
                hops.append(Hop(url=url, location=target, type=REDIRECTS[status]))
                if len(hops) > self._max_redirects:
                    raise DriverError.of(Reason.TOO_MANY_REDIRECTS, f"fetch {request.url}")
                if urlsplit(target).scheme not in ("http", "https"):
                    raise DriverError.of(Reason.NAVIGATION_FAILED, f"follow a redirect to {target}")
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, body = ("HEAD" if method == "HEAD" else "GET"), None
                url = target
                continue
            self.last_body, self.last_url = content, url
            return Fetched(
                url=url,
                status=status,
                headers=headers,
                cookies=cookies_set(headers),
                body=content if method != "HEAD" else None,
                redirects=hops,
                content_type=_mime(_header(headers, "content-type")),
                attempts=attempts,
            )

    def _remember(self, request: FetchRequest) -> None:
        """The frame's cookies, into the jar for its URL (a cookie naming no domain is the URL's host's)."""
        for c in request.cookies:
            jar = SimpleCookie()
            try:
                jar[c["name"]] = c["value"]
            except CookieError:
                continue  # a name SimpleCookie will not hold; the frame's shape already refused most
            morsel = jar[c["name"]]
            for key, attribute in (("domain", "domain"), ("path", "path"), ("expires", "expires")):
                if c.get(key):
                    morsel[attribute] = c[key]
            if c.get("secure"):
                morsel["secure"] = True
            if c.get("http_only"):
                morsel["httponly"] = True
            if c.get("same_site"):
                morsel["samesite"] = c["same_site"]
            self._jar.update_cookies(jar, URL(request.url))

    async def _with_retries(
        self, request: FetchRequest, url: str, method: str, body: bytes | None, deadline: float
    ) -> tuple[tuple[int, list[tuple[str, str]], bytes], int]:
        tries = 0
        while True:
            tries += 1
            left = deadline - time.monotonic()
            if left <= 0:
                raise DriverError.of(Reason.TIMEOUT, f"fetch {request.url}")
            try:
                answer = await self._once(request, url, method, body, left)
            except DriverError as failure:
                if failure.reason in (Reason.TIMEOUT, Reason.EGRESS_REFUSED, Reason.TLS_FAILED):
                    raise
                if tries > self._max_retries:
                    raise
            else:
                if answer[0] not in RETRIED_STATUSES or tries > self._max_retries:
                    return answer, tries
            pause = _BACKOFF_S[min(tries - 1, len(_BACKOFF_S) - 1)] * random.uniform(0.8, 1.2)
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    async def _once(
        self, request: FetchRequest, url: str, method: str, body: bytes | None, left_s: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = self._upstreams[self._attempt % len(self._upstreams)] if self._upstreams else None
        self._attempt += 1
        self._route.bind(self._session_id, upstream)
        ledger = self._route.ledger
        since = ledger.last_seq
        headers, skip = self._headers(request)
        try:
            async with asyncio.timeout(left_s):
                async with self._http.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    skip_auto_headers=skip,
                    proxy=self._route.proxy_url,
                    allow_redirects=False,
                ) as response:
                    content = await response.content.read(BODY_CAP + 1)
                    if len(content) > BODY_CAP:
                        raise BodyTooLarge(url)
                    raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
                    return response.status, raw, content
        except TimeoutError:
            raise DriverError.of(Reason.TIMEOUT, f"fetch {url}") from None
        except (aiohttp.ClientError, OSError) as e:
            refused = ledger.refused_after(since)
            if refused is not None:
                raise NavigationRefused(f"fetch {url}", refused) from None
            failed = ledger.failed_after(since, url)
            reason = _reason(e)
            if failed is not None and failed.error in {r.value for r in Reason}:
                reason = Reason(failed.error)  # type: ignore[call-arg]  # by value, as actions.py does
            raise DriverError.of(reason, f"fetch {url}", engine_message=str(e) or type(e).__name__) from None

    def _headers(self, request: FetchRequest) -> tuple[CIMultiDict[str], list[str]]:
        headers: CIMultiDict[str] = CIMultiDict()
        headers["User-Agent"] = user_agent(request.user_agent)
        if request.referrer:
            headers["Referer"] = request.referrer
        for name, value in request.headers:
            headers.add(name, value)
        for name, value in self._rules.set_headers:
            headers[name] = value
        removed = {name.lower() for name in self._rules.remove_headers}
        for name in list(headers):
            if name.lower() in removed:
                del headers[name]
        # aiohttp adds its own defaults (Accept, Accept-Encoding, User-Agent) unless told not to.
        return headers, [
            name for name in ("User-Agent", "Accept", "Accept-Encoding") if name.lower() in removed
        ]


def _reason(error: BaseException) -> Reason:
    if isinstance(error, aiohttp.ClientHttpProxyError):
        return Reason.CONNECTION_REFUSED if error.status == 502 else Reason.NAVIGATION_FAILED
    if isinstance(error, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return Reason.TLS_FAILED
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return Reason.CONNECTION_RESET
    if isinstance(error, aiohttp.ClientConnectorError | OSError):
        return Reason.HOST_UNREACHABLE
    return Reason.NAVIGATION_FAILED


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in reversed(headers):
        if key.lower() == name:
            return value
    return None


def _mime(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def cookies_set(headers: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The cookies the response set, one per Set-Cookie line, as seed 004's Cookie shape."""
    cookies = []
    for key, value in headers:
        if key.lower() != "set-cookie":
            continue
        jar = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        for name, morsel in jar.items():
            same_site = morsel["samesite"].capitalize() if morsel["samesite"] else None
            cookies.append(
                {
                    "name": name,
                    "value": morsel.value,
                    "domain": morsel["domain"] or None,
                    "path": morsel["path"] or None,
                    "expires": _expires(morsel["expires"], morsel["max-age"]),
                    "http_only": bool(morsel["httponly"]),
                    "secure": bool(morsel["secure"]),
                    "same_site": same_site if same_site in ("Lax", "Strict", "None") else None,
                }
            )
    return cookies


def _expires(expires: str, max_age: str) -> str | None:
    """When a cookie expires, as an ISO date-time (Max-Age wins, as browsers do); None: a session cookie."""
    if max_age:
        try:
            return (datetime.now(UTC) + timedelta(seconds=int(max_age))).isoformat().replace("+00:00", "Z")
        except ValueError:
            return None
    if expires:
        try:
            return (
                email.utils.parsedate_to_datetime(expires).astimezone(UTC).isoformat().replace("+00:00", "Z")
            )
        except (TypeError, ValueError):
            return None
    return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
