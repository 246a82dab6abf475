"""A page's main document as the browser received it, and `fill`, on Chromium and on WebKitGTK."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from driftstack.domain.archetypes import resolve
from driftstack.drivers.base import DriverError, Page
from tests.conftest import BOTH_ENGINES

IPHONE = resolve(None)
T = 10_000  # ms; generous for a loaded box, every wait below resolves long before it

LANDING = (
    b"<!doctype html><html><head><title>Landed</title></head><body>"
    b"<input id='name' value='before'><a id='on' href='/next'>on</a></body></html>"
)
NEXT = b"<!doctype html><title>Next</title><p>next</p>"


async def _landing(_: web.Request) -> web.Response:
    response = web.Response(body=LANDING, content_type="text/html", headers={"X-Driftstack-Test": "kept"})
    response.set_cookie("flavour", "oat")
    response.set_cookie("size", "large")
    return response


async def _start(_: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/middle")  # relative: the hop reports it resolved


async def _middle(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/landing")


async def _next(_: web.Request) -> web.Response:
    return web.Response(body=NEXT, content_type="text/html")


@pytest.fixture
async def origin(aiohttp_server: Any) -> str:
    """A site whose /start answers 301 to /middle, which answers 302 to /landing."""
    app = web.Application()
    app.router.add_get("/start", _start)
    app.router.add_get("/middle", _middle)
    app.router.add_get("/landing", _landing)
    app.router.add_get("/next", _next)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


@BOTH_ENGINES
async def test_a_redirected_navigation_reports_each_hop_the_headers_and_the_body(
    a_page: Page, origin: str, engine: str
) -> None:
    await a_page.navigate(f"{origin}/start", wait_until="load", timeout_ms=T)

    document = await a_page.document()

    assert (document.url, document.status) == (f"{origin}/landing", 200)
    assert [(hop.url, hop.location, hop.status) for hop in document.redirects] == [
        (f"{origin}/start", f"{origin}/middle", 301),
        (f"{origin}/middle", f"{origin}/landing", 302),
    ]
    received = [(name.lower(), value) for name, value in document.headers]
    assert ("x-driftstack-test", "kept") in received
    if engine == "chromium":  # WebKitGTK keeps Set-Cookie from the response it hands out
        cookies = [value for name, value in received if name == "set-cookie"]
        assert [cookie.split(";")[0] for cookie in cookies] == ["flavour=oat", "size=large"]
    assert document.content_type == "text/html"
    assert document.body == LANDING


@BOTH_ENGINES
async def test_a_page_that_moved_by_itself_reports_its_new_document(a_page: Page, origin: str) -> None:
    await a_page.navigate(f"{origin}/landing", wait_until="load", timeout_ms=T)
    await a_page.tap("#on", timeout_ms=T)
    await a_page.location(timeout_ms=T)

    document = await a_page.document()

    assert (document.url, document.status, document.redirects) == (f"{origin}/next", 200, [])
    assert document.body == NEXT


@BOTH_ENGINES
async def test_fill_replaces_what_the_input_held(a_page: Page, origin: str) -> None:
    await a_page.navigate(f"{origin}/landing", wait_until="load", timeout_ms=T)

    await a_page.fill("#name", "Ada Lovelace", timeout_ms=T)
    assert await a_page.evaluate("document.querySelector('#name').value", timeout_ms=T) == "Ada Lovelace"

    await a_page.fill("#name", "", timeout_ms=T)
    assert await a_page.evaluate("document.querySelector('#name').value", timeout_ms=T) == ""


@BOTH_ENGINES
async def test_filling_a_missing_selector_fails_as_tapping_one_does(a_page: Page, origin: str) -> None:
    await a_page.navigate(f"{origin}/landing", wait_until="load", timeout_ms=T)

    with pytest.raises(DriverError) as tapped:
        await a_page.tap("#absent", timeout_ms=500)
    with pytest.raises(DriverError) as filled:
        await a_page.fill("#absent", "x", timeout_ms=500)

    assert filled.value.reason == tapped.value.reason
    assert "could not fill '#absent'" in filled.value.detail
