"""A webhook reaches only what the address policy allows: at registration, in DNS answers, and for the peer
actually connected to."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from driftstack.addresses import AddressPolicy
from driftstack.domain.errors import ValidationFailed
from driftstack.webhooks.transport import PublicOnlyConnector, PublicOnlyResolver, Transport, check_url_host

PUBLIC_ONLY = AddressPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://localhost/hook",
        "http://[::1]/",
        "http://169.254.169.254/",
        "http://2130706433/",  # 127.0.0.1 spelt as one number: judged by what it resolves to
        "http://0x7f.1/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://100.64.0.1/",
    ],
)
async def test_a_url_on_a_non_public_host_is_refused_unless_private_addresses_are_allowed(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await check_url_host(url, PUBLIC_ONLY)
    assert refused.value.field == "url" and "not a public address" in refused.value.message
    assert "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE" in refused.value.message
    await check_url_host(url, AddressPolicy(allow_private=True))


async def test_a_url_on_a_public_address_passes() -> None:
    await check_url_host("https://93.184.215.14/hooks", PUBLIC_ONLY)
    await check_url_host("https://[2606:4700:4700::1111]/hooks", PUBLIC_ONLY)
    await check_url_host("https://[64:ff9b::5db8:d70e]/hooks", PUBLIC_ONLY)


class FixedResolver(AbstractResolver):
    """A DNS answer that changed after registration: a public-looking name now at `addresses`."""

    def __init__(self, *addresses: str) -> None:
        self._addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self._addresses
        ]

    async def close(self) -> None:
        pass


async def test_the_resolver_drops_answers_in_an_ipv4_embedding_form_of_a_refused_address() -> None:
    answers = ("64:ff9b::7f00:1", "::ffff:127.0.0.1", "2002:a9fe:a9fe::", "93.184.215.14")
    resolver = PublicOnlyResolver(PUBLIC_ONLY, FixedResolver(*answers))
    assert [a["host"] for a in await resolver.resolve("rebound.example", 443)] == ["93.184.215.14"]
    with pytest.raises(OSError, match="no public address"):
        await PublicOnlyResolver(PUBLIC_ONLY, FixedResolver(*answers[:3])).resolve("rebound.example", 443)


async def a_listener(aiohttp_server: Any, host: str) -> tuple[Any, list[str]]:
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="reached")

    app = web.Application()
    app.router.add_post("/", handler)
    return await aiohttp_server(app, host=host), hits


async def test_the_connector_refuses_a_connection_whose_peer_is_not_public(aiohttp_server: Any) -> None:
    server, hits = await a_listener(aiohttp_server, "127.0.0.1")
    connector = PublicOnlyConnector(PUBLIC_ONLY, resolver=FixedResolver("127.0.0.1"))
    async with aiohttp.ClientSession(connector=connector) as http:
        with pytest.raises(Exception, match="not a public address"):
            await http.post(f"http://rebound.example:{server.port}/", data=b"{}")
    assert hits == [], "not a byte of the request reached the private address"


async def test_the_connector_refuses_a_loopback_peer_reached_through_its_ipv4_mapped_form(
    aiohttp_server: Any,
) -> None:
    # A dual-stack listener: the IPv6 socket reaches 127.0.0.1 as ::ffff:127.0.0.1.
    server, hits = await a_listener(aiohttp_server, "::")
    connector = PublicOnlyConnector(PUBLIC_ONLY)
    async with aiohttp.ClientSession(connector=connector) as http:
        with pytest.raises(Exception, match=r"the IPv4-mapped form of 127\.0\.0\.1, a loopback address"):
            await http.post(f"http://[::ffff:127.0.0.1]:{server.port}/", data=b"{}")
    assert hits == [], "not a byte of the request reached the loopback address"


async def test_the_transport_reports_a_refused_private_address_as_a_failed_attempt(
    aiohttp_server: Any,
) -> None:
    server, hits = await a_listener(aiohttp_server, "127.0.0.1")
    transport = Transport(timeout_s=5, allow_private=False)
    try:
        outcome = await transport.post(f"http://127.0.0.1:{server.port}/", b"{}", {})
    finally:
        await transport.close()
    assert outcome.status is None and not outcome.ok
    assert outcome.error is not None and "not a public address" in outcome.error
    assert hits == []
