"""Blocking URLs by glob on a page, on Chromium and on WebKitGTK: documents and subresources alike."""

from __future__ import annotations

import base64
import fnmatch
import re
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from driftstack.domain.archetypes import resolve
from driftstack.drivers.base import DriverError, Page, Reason
from driftstack.drivers.webdriver import WebDriverDriver, WebDriverPage, url_filter
from tests.conftest import BOTH_ENGINES

IPHONE = resolve(None)
T = 10_000  # ms; generous for a loaded box, every wait below resolves long before it

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# Both images hold `load` back, so the server has seen them by then; the fetch says how it ended.
PAGE = (
    b"<!doctype html><title>Pictures</title><img src='/a.png'><img src='/b.png'>"
    b"<script>window.fetched = fetch('/c.json').then(r => r.text(), () => 'refused');</script>"
)


@pytest.fixture
async def origin(aiohttp_server: Any) -> tuple[str, list[str]]:
    """A site with a page of two images and a fetch, and the paths its server was asked for."""
    seen: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path)
        return await handler(request)

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    async def picture(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def data(_: web.Request) -> web.Response:
        return web.json_response("fetched")

    app = web.Application(middlewares=[record])
    app.router.add_get("/page", page)
    app.router.add_get("/blocked/page", page)
    app.router.add_get("/a.png", picture)
    app.router.add_get("/b.png", picture)
    app.router.add_get("/c.json", data)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}", seen


@BOTH_ENGINES
async def test_blocked_subresources_never_reach_the_server(
    a_page: Page, origin: tuple[str, list[str]]
) -> None:
    base, seen = origin
    await a_page.block(["*/b.png", "*/c.json"])

    await a_page.navigate(f"{base}/page", wait_until="load", timeout_ms=T)

    assert await a_page.evaluate("window.fetched", timeout_ms=T) == "refused"
    assert "/a.png" in seen
    assert "/b.png" not in seen
    assert "/c.json" not in seen


@BOTH_ENGINES
async def test_navigating_to_a_blocked_document_fails_and_the_page_goes_on(
    a_page: Page, origin: tuple[str, list[str]]
) -> None:
    base, seen = origin
    await a_page.block([f"{base}/blocked/*"])

    with pytest.raises(DriverError) as refused:
        await a_page.navigate(f"{base}/blocked/page", wait_until="load", timeout_ms=T)

    assert refused.value.reason is Reason.BLOCKED
    assert "/blocked/page" not in seen
    result = await a_page.navigate(f"{base}/page", wait_until="load", timeout_ms=T)
    assert (result.url, result.http_status) == (f"{base}/page", 200)


@BOTH_ENGINES
async def test_a_page_that_blocks_nothing_loads_everything(
    a_page: Page, origin: tuple[str, list[str]]
) -> None:
    base, seen = origin

    await a_page.navigate(f"{base}/page", wait_until="load", timeout_ms=T)

    assert await a_page.evaluate("window.fetched", timeout_ms=T) == '"fetched"'
    assert {"/page", "/a.png", "/b.png", "/c.json"} <= set(seen)


@pytest.mark.parametrize(
    "glob",
    ["*/b.png", "*", "http://?.example/*", "*[!a-z]*", "*[]]*", "*[--0]*", "*(x)*", "*{1}*", "*|+*", "*\\*"],
)
def test_a_glob_becomes_a_content_blocker_filter_matching_as_fnmatch_does(glob: str) -> None:
    urls = ["http://a.example/b.png", "http://a.example/B.PNG", "http://q.example/(x){1}|+\\", "http://x/]-/"]

    expression = url_filter(glob)

    assert expression is not None
    assert [bool(re.search(expression, u)) for u in urls] == [fnmatch.fnmatchcase(u, glob) for u in urls]


def test_a_glob_no_url_can_match_needs_no_filter() -> None:
    assert url_filter("") is None
    assert url_filter("*/café") is None  # a URL is ASCII (percent-encoded): this matches none
    assert url_filter("*[é]*") is None


async def test_a_remote_webdriver_page_cannot_block() -> None:
    page = WebDriverPage(
        WebDriverDriver(endpoint="http://127.0.0.1:9"),
        SimpleNamespace(capabilities={}),  # type: ignore[arg-type]  # never asked anything
        local=None,
        side=None,
        directory=None,
        on_crash=None,
        route=None,
    )

    with pytest.raises(DriverError) as refused:
        await page.block(["*/b.png"])

    assert refused.value.reason is Reason.UNSUPPORTED
