"""The upstream proxies an operator offers by name (`DRIFTSTACK_PROXIES`), and connecting through one.

The proxy clients are python-socks' (HTTP CONNECT, HTTPS, SOCKS5, with credentials): a kept library for
a protocol we would otherwise write twice. A name and its address are public; the credentials never leave
this module except to the proxy itself (`Upstream` prints as its name and address).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from python_socks import ProxyError, ProxyTimeoutError
from python_socks.async_.asyncio.v2 import Proxy

SCHEMES = ("http", "https", "socks5")
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class InvalidProxies(ValueError):
    """DRIFTSTACK_PROXIES is not a JSON object of names to proxy URLs; the message never holds a secret."""


class UpstreamFailed(Exception):
    """The upstream proxy could not be reached, or refused the destination."""


@dataclass(frozen=True)
class Upstream:
    """One named proxy: where it is, and (hidden) how to log in to it."""

    name: str
    scheme: str
    host: str
    port: int
    _url: str = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.scheme}://{self.host}:{self.port})"

    async def open(
        self, host: str, port: int, *, timeout_s: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A stream to `host:port` through this proxy (the proxy resolves the name)."""
        url = "http" + self._url[len("https") :] if self.scheme == "https" else self._url
        proxy_ssl = ssl.create_default_context() if self.scheme == "https" else None
        proxy = Proxy.from_url(url, proxy_ssl=proxy_ssl, rdns=True)
        try:
            stream = await proxy.connect(host, port, timeout=timeout_s)
        except (ProxyError, ProxyTimeoutError, OSError) as e:
            raise UpstreamFailed(_without_secrets(str(e), self._url)) from None
        return stream.reader, stream.writer


def parse_proxies(raw: str | None) -> dict[str, Upstream]:
    """`{"eu": "socks5://user:pass@10.0.0.5:1080", "us": "http://proxy.example:3128"}` → upstreams by name."""
    if raw is None or not raw.strip():
        return {}
    try:
        table = json.loads(raw)
    except ValueError:
        raise InvalidProxies(
            "DRIFTSTACK_PROXIES is not JSON: give an object of names to proxy URLs"
        ) from None
    if not isinstance(table, dict):
        raise InvalidProxies("DRIFTSTACK_PROXIES must be a JSON object of names to proxy URLs")
    return {name: _upstream(name, url) for name, url in table.items()}


def _upstream(name: object, url: object) -> Upstream:
    if not isinstance(name, str) or not 1 <= len(name) <= 40 or not set(name) <= NAME_CHARS:
        raise InvalidProxies(f"DRIFTSTACK_PROXIES: the name {name!r} is not 1-40 of [a-z0-9_-]")
    if not isinstance(url, str):
        raise InvalidProxies(f"DRIFTSTACK_PROXIES: {name} is not a URL string")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidProxies(f"DRIFTSTACK_PROXIES: {name} has no valid port") from None
    if parts.scheme not in SCHEMES:
        raise InvalidProxies(f"DRIFTSTACK_PROXIES: {name} must start with http://, https:// or socks5://")
    if not parts.hostname or port is None:
        raise InvalidProxies(f"DRIFTSTACK_PROXIES: {name} needs a host and a port")
    return Upstream(name, parts.scheme, parts.hostname, port, url)


def _without_secrets(message: str, url: str) -> str:
    parts = urlsplit(url)
    for secret in (parts.username, parts.password):
        if secret:
            message = message.replace(secret, "***")
    return message
