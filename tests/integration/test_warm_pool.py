"""The warm pool over the real Playwright driver: pages opened ahead, handed out, replaced."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from driftstack.domain.archetypes import CATALOGUE, resolve
from driftstack.drivers import build_driver
from driftstack.drivers.playwright import PlaywrightDriver
from driftstack.drivers.warm_pool import WarmPool
from driftstack.settings import Settings

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")

IPHONE = resolve(None)
MAC = CATALOGUE["macos_safari26_4"]
T = 5_000


async def _until(check, what: str, deadline_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {deadline_s} s")
        await asyncio.sleep(0.02)


@pytest.fixture
async def pool() -> AsyncIterator[WarmPool]:
    warm = WarmPool(PlaywrightDriver("chromium", CHROMIUM), [IPHONE], size=2)
    await warm.start()
    await _until(lambda: warm.stocked(IPHONE.slug) == 2, "two pages waiting")
    yield warm
    await warm.stop()


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        agent, cookie = request.headers.get("User-Agent", ""), request.headers.get("Cookie", "")
        return web.Response(text=f"<title>{cookie or 'none'}</title><p>{agent}</p>", content_type="text/html")

    runner = web.AppRunner(web.Application())
    runner.app.router.add_get("/", echo)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    yield f"http://127.0.0.1:{tcp._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    await runner.cleanup()


async def test_a_session_gets_a_page_opened_ahead_and_the_pool_refills(pool: WarmPool, site: str) -> None:
    page = await pool.open(IPHONE)
    assert pool.stocked(IPHONE.slug) == 1, "the page came out of the pool"
    result = await page.navigate(site, wait_until="load", timeout_ms=T)
    assert result.title == "none"
    assert IPHONE.user_agent in (await page.state()).html, "a pooled page wears its archetype"
    await _until(lambda: pool.stocked(IPHONE.slug) == 2, "the pool refilled")
    await page.close()


async def test_pages_are_never_shared_between_sessions(pool: WarmPool, site: str) -> None:
    first = await pool.open(IPHONE)
    second = await pool.open(IPHONE)
    assert first is not second
    await first.navigate(site, wait_until="load", timeout_ms=T)
    await first.state()
    assert (await second.location(timeout_ms=1_000))[0] == "about:blank"
    await first.close()
    await second.close()


async def test_profiles_and_other_archetypes_open_their_own_page(pool: WarmPool, site: str) -> None:
    cookie = {"name": "carried", "value": "yes", "domain": "127.0.0.1", "path": "/"}
    cookie.update(expires=-1, httpOnly=False, secure=False, sameSite="Lax")
    with_state = await pool.open(IPHONE, storage_state={"cookies": [cookie], "origins": []})
    other = await pool.open(MAC)
    assert pool.stocked(IPHONE.slug) == 2, "neither came from the pool"
    assert (await with_state.navigate(site, wait_until="load", timeout_ms=T)).title == "carried=yes"
    await other.navigate(site, wait_until="load", timeout_ms=T)
    assert MAC.user_agent in (await other.state()).html
    await with_state.close()
    await other.close()


async def test_a_crash_reaches_the_session_that_holds_the_page(pool: WarmPool) -> None:
    crashes: list[str] = []
    page = await pool.open(IPHONE, on_crash=crashes.append)
    await page._page.close()  # type: ignore[attr-defined]  (the page dies under the session)
    await _until(lambda: crashes == ["page_closed"], "the crash reported to its session")


async def test_a_page_that_dies_in_the_pool_is_replaced_never_handed_out(pool: WarmPool) -> None:
    waiting = [pooled.page for pooled in pool._stock[IPHONE.slug]]
    await waiting[0]._page.close()  # type: ignore[union-attr]
    await _until(lambda: waiting[0] not in [p.page for p in pool._stock[IPHONE.slug]], "the dead page gone")
    await _until(lambda: pool.stocked(IPHONE.slug) == 2, "a replacement opened")
    handed = {id(await pool.open(IPHONE)) for _ in range(2)}
    assert id(waiting[0]) not in handed


def test_the_pool_is_configured_per_archetype_and_off_at_zero() -> None:
    pooled = build_driver(
        Settings(browser_executable=CHROMIUM, warm_pool_archetypes=("default", MAC.slug))
    ).default
    assert isinstance(pooled, WarmPool)
    assert set(pooled._stock) == {IPHONE.slug, MAC.slug}
    unpooled = build_driver(Settings(browser_executable=CHROMIUM, warm_pool_size=0)).default
    assert isinstance(unpooled, PlaywrightDriver)


async def test_a_page_taken_at_once_is_one_opened_ahead(pool: WarmPool) -> None:
    crashes: list[str] = []
    page = pool.take_opened(IPHONE, on_crash=crashes.append)
    assert page is not None and pool.stocked(IPHONE.slug) == 1
    assert pool.take_opened(MAC) is None, "no page waits for an archetype the pool does not keep"
    await page._page.close()  # type: ignore[attr-defined]
    await _until(lambda: crashes == ["page_closed"], "the crash reported to whoever took it")
