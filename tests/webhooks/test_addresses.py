"""Only public addresses are reachable: at registration, and again for the peer actually connected to."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from driftstack.domain.errors import ValidationFailed
from driftstack.webhooks.addresses import check_url_host, is_public
from driftstack.webhooks.transport import PublicOnlyConnector, Transport

NON_PUBLIC = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # the cloud metadata service
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_loopback_private_link_local_metadata_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_globally_routable_addresses_are_public(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "https://localhost/hook", "http://[::1]/", "http://169.254.169.254/"],
)
async def test_a_url_on_a_non_public_host_is_refused_unless_private_addresses_are_allowed(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await check_url_host(url, allow_private=False)
    assert refused.value.field == "url" and "not a public address" in refused.value.message
    await check_url_host(url, allow_private=True)


class RebindingResolver(AbstractResolver):
    """A DNS answer that changed after registration: a public-looking name now at 127.0.0.1."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


async def test_the_connector_refuses_a_connection_whose_peer_is_not_public(aiohttp_server: Any) -> None:
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="reached")

    app = web.Application()
    app.router.add_post("/", handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    connector = PublicOnlyConnector(resolver=RebindingResolver())
    async with aiohttp.ClientSession(connector=connector) as http:
        with pytest.raises(Exception, match="not a public address"):
            await http.post(f"http://rebound.example:{server.port}/", data=b"{}")
    assert hits == [], "not a byte of the request reached the private address"


async def test_the_transport_reports_a_refused_private_address_as_a_failed_attempt(
    aiohttp_server: Any,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="reached")

    app = web.Application()
    app.router.add_post("/", handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    transport = Transport(timeout_s=5, allow_private=False)
    try:
        outcome = await transport.post(f"http://127.0.0.1:{server.port}/", b"{}", {})
    finally:
        await transport.close()
    assert outcome.status is None and not outcome.ok
    assert outcome.error is not None and "not a public address" in outcome.error
