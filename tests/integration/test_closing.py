"""An ended session's page: cut off from the network the moment it is handed over, closed only once no
action is under way, and closed at once when the service stops."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from driftstack.domain.archetypes import resolve
from driftstack.drivers.base import DriverError, Page
from driftstack.drivers.closing import Closing
from driftstack.drivers.playwright import PlaywrightDriver
from driftstack.drivers.quiet import Quiet
from driftstack.egress import build_egress
from driftstack.settings import Settings
from tests.conftest import chromium_path
from tests.e2e.servers import poll

T = 10_000  # ms


@pytest.fixture
async def site(aiohttp_server: Any) -> str:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>Here</title>", content_type="text/html")

    async def ping(_: web.Request) -> web.Response:
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/ping", ping)
    server = await aiohttp_server(app)
    return str(server.make_url("/"))


@pytest.fixture
async def driver() -> AsyncIterator[PlaywrightDriver]:
    executable = chromium_path()
    if executable is None or not os.path.exists(executable):
        pytest.skip("no Chromium (apt-get install chromium)")
    egress = build_egress(Settings(egress_allow_private=True))
    driver = PlaywrightDriver("chromium", executable, open_route=egress.open_route)
    await driver.start()
    yield driver
    await driver.stop()
    await egress.stop()


async def pinged(page: Page, site: str) -> str:
    script = f"fetch('{site}ping').then(r => r.text(), () => 'refused')"
    return str(await page.evaluate(script, timeout_ms=T))


async def is_open(page: Page) -> bool:
    try:
        await page.evaluate("1", timeout_ms=T)
    except DriverError:
        return False
    return True


async def test_an_ended_page_is_cut_off_at_once_and_closed_once_no_action_is_under_way(
    driver: PlaywrightDriver, site: str
) -> None:
    page = await driver.open(resolve(None))
    await page.navigate(site, wait_until="load", timeout_ms=T)
    assert await pinged(page, site) == "pong"
    quiet = Quiet(settle_s=0.05, patience_s=60)
    closing = Closing(quiet)

    with quiet.working():  # another session's action under way
        await closing.close(page)
        assert await pinged(page, site) == "refused", "the ended page still reached the network"
        assert await is_open(page), "closed while an action was under way"

    async def closed() -> bool:
        return not await is_open(page)

    await poll(closed, what="the page closed once no action was under way")


async def test_a_stop_closes_the_waiting_pages_at_once(driver: PlaywrightDriver) -> None:
    pages = [await driver.open(resolve(None)) for _ in range(2)]
    quiet = Quiet(settle_s=0.05, patience_s=60)
    closing = Closing(quiet)
    with quiet.working():  # never quiet: only the stop closes them
        for page in pages:
            await closing.close(page)
        await closing.now()
        assert [await is_open(page) for page in pages] == [False, False]
