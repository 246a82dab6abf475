"""Fixtures of the fuzz run: a server in a sandbox of its own; the `fuzz` mark (`-m "not fuzz"` skips it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ..e2e.servers import ServerProcess, Servers
from .sandbox import loopback_only, serve_inside


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the schemathesis run against a real server (minutes)")


SERVER_ENV = {
    # Registration refuses a loopback or private host otherwise; inside the sandbox nothing else exists.
    "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE": "1",
    # A fuzzed endpoint never answers: give up on it soon, so `/test` answers within the request timeout.
    "DRIFTSTACK_WEBHOOK_TIMEOUT_S": "3",
    "DRIFTSTACK_WEBHOOK_LEASE_S": "10",
    # Sessions the stateful phase leaves behind end soon, so the concurrency cap frees up during the run
    # (a session it still uses then answers 408 `session-timeout`, a documented answer).
    "DRIFTSTACK_IDLE_TIMEOUT_S": "45",
    "DRIFTSTACK_PROVISION_TIMEOUT_S": "20",
    "DRIFTSTACK_ACTION_TIMEOUT_MS": "5000",
    "DRIFTSTACK_WARM_POOL_SIZE": "1",
}


@pytest.fixture
async def fuzzed_server(database_url: str, servers: Servers) -> AsyncIterator[ServerProcess]:
    """The server the fuzzer may send anything to: in a network namespace with loopback only, because
    sessions navigate to, and webhooks deliver to, whatever URL the fuzzer makes up."""
    async with loopback_only(database_url) as (sandbox, inner_database_url, outer_port):
        server = await serve_inside(sandbox, servers, inner_database_url, outer_port, **SERVER_ENV)
        try:
            yield server
        finally:
            # Before the sandbox's relays close: a server cut from its database mid-run logs failures.
            await asyncio.to_thread(server.stop)
