"""Fixtures of the end-to-end tests that run Driftstack as real server processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from driftstack.settings import Settings

from .servers import Servers


@pytest.fixture
async def servers(database_url: str, settings: Settings, tmp_path: Path) -> AsyncIterator[Servers]:
    started = Servers(database_url, settings.secret_key or "", tmp_path)
    try:
        yield started
    finally:
        await asyncio.to_thread(started.stop_all)
