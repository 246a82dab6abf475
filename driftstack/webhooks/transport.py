"""Sending one webhook request: no redirects, a total timeout, and only where the address policy allows.

Addresses are judged three times by one policy (driftstack.addresses): every DNS answer at
registration, then at delivery the resolver drops refused answers and the connector judges the
peer it actually connected to, so neither an IP literal nor a DNS answer that changed after
registration (rebinding) reaches a private network.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from .. import __version__
from ..addresses import AddressPolicy, NonPublicAddress
from ..domain.errors import ValidationFailed

BODY_HEAD_BYTES = 1024
USER_AGENT = f"Driftstack-Webhooks/{__version__}"


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: an HTTP status (and the first bytes of the body), or an error."""

    status: int | None
    body: str | None
    error: str | None
    duration_ms: int
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


ALLOW_PRIVATE_HINT = "the operator allows non-public addresses with DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE=1"


async def check_url_host(url: str, policy: AddressPolicy) -> None:
    """Refuses (400) a URL whose host does not resolve, or resolves to any address the policy refuses.

    `url` has passed the domain's own check, so its host encodes (IDNA) as the transport will send it.
    """
    if policy.allow_private:
        return
    parsed = URL(url)
    host, port = parsed.raw_host or "", parsed.port
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise ValidationFailed("url", f"the host {parsed.host} does not resolve") from None
    for address in dict.fromkeys(str(info[4][0]) for info in infos):
        refusal = policy.refusal(address, host=host, port=port)
        if refusal is not None:
            raise ValidationFailed(
                "url", str(NonPublicAddress(str(parsed.host), refusal, hint=ALLOW_PRIVATE_HINT))
            )


class PublicOnlyResolver(AbstractResolver):
    """Resolves as usual, then keeps only the answers the policy allows."""

    def __init__(self, policy: AddressPolicy, resolver: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        allowed = [a for a in answers if self._policy.permits(a["host"], host=host, port=port)]
        if not allowed:
            raise OSError(f"{host} resolves to no public address")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


class PublicOnlyConnector(aiohttp.TCPConnector):
    """Closes any connection whose peer the policy refuses, before a byte of the request is sent."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policy = policy

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        peer = transport.get_extra_info("peername")
        req = kwargs.get("req")
        host, port = (str(req.host), req.port) if req is not None else ("the host", None)
        refusal = self._policy.refusal(str(peer[0]) if peer else "", host=host, port=port)
        if refusal is not None:
            transport.close()
            raise NonPublicAddress(host, refusal)
        return transport, protocol


class Transport:
    """One aiohttp client for every attempt of a process."""

    def __init__(self, *, timeout_s: float, allow_private: bool) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._policy = AddressPolicy(allow_private=allow_private)
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            connector = (
                aiohttp.TCPConnector(limit=100)
                if self._policy.allow_private
                else PublicOnlyConnector(self._policy, limit=100, resolver=PublicOnlyResolver(self._policy))
            )
            self._http = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()
        sent = {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT}
        try:
            async with self._session().post(url, data=body, headers=sent, allow_redirects=False) as response:
                head = await response.content.read(BODY_HEAD_BYTES)
                return Outcome(
                    status=response.status,
                    body=head.decode("utf-8", errors="replace"),
                    error=None,
                    duration_ms=_ms_since(started),
                    retry_after=response.headers.get("Retry-After"),
                )
        except NonPublicAddress as e:
            return Outcome(None, None, f"refused: {e}", _ms_since(started))
        except TimeoutError:
            return Outcome(None, None, f"timed out after {self._timeout.total} s", _ms_since(started))
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as e:
            cause = e.__cause__ if isinstance(e.__cause__, NonPublicAddress) else e
            return Outcome(None, None, f"{type(cause).__name__}: {cause}"[:500], _ms_since(started))


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
