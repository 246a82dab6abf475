"""Fixtures of the end-to-end tests that run Driftstack as real server processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from driftstack.settings import Settings

from ..conftest import Harness, StartDriftstack
from .receivers import Receiver
from .servers import Servers


@pytest.fixture
async def servers(database_url: str, settings: Settings, tmp_path: Path) -> AsyncIterator[Servers]:
    started = Servers(database_url, settings.secret_key or "", tmp_path)
    try:
        yield started
    finally:
        await asyncio.to_thread(started.stop_all)


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
