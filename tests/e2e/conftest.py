"""Fixtures of the end-to-end tests that run Driftstack as real server processes."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import Harness, StartDriftstack
from .receivers import Receiver
from .socket_client import Site


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    """A webhook receiver on 127.0.0.1 (reachable because the tests allow private addresses)."""
    receiving = Receiver()
    server = await aiohttp_server(receiving.app(), host="127.0.0.1")
    receiving.url = f"http://127.0.0.1:{server.port}/hooks"
    return receiving


@pytest.fixture
async def hooked(start_driftstack: StartDriftstack) -> Harness:
    """Driftstack allowed to deliver to 127.0.0.1, retrying within a second instead of hours."""
    return await start_driftstack(
        webhook_allow_private=True, webhook_retry_schedule_s=(0,) + (0.3,) * 7, webhook_poll_s=0.5
    )


@pytest.fixture
async def pages(aiohttp_server: Any) -> tuple[Site, str]:
    """The WebSocket tests' site: pages that say what the standard client sent (hops, cookies, retries)."""
    site = Site()
    server = await aiohttp_server(site.app(), host="127.0.0.1")
    return site, f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def service(start_driftstack: StartDriftstack, site: str, pages: tuple[Site, str]) -> Harness:
    """Driftstack whose egress opens the test pages and the socket site (the rest of loopback stays refused)."""
    return await start_driftstack(
        egress_allow=(site.removeprefix("http://"), pages[1].removeprefix("http://"))
    )
