"""DRIFTSTACK_WEBDRIVER_URL: sessions on any W3C WebDriver endpoint (here a WebKitWebDriver the test runs
itself, with its stock MiniBrowser, as a Selenium Grid node or safaridriver would be)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from driftstack.drivers import webkit_host

from ..conftest import StartDriftstack


@pytest.fixture
async def endpoint() -> AsyncIterator[str]:
    display = webkit_host.Display()
    async with aiohttp.ClientSession() as http:
        remote = await webkit_host.LocalWebDriver.start(http, await display.start(), scale=1)
        try:
            yield remote.endpoint
        finally:
            await remote.stop()
            await display.stop()


async def test_a_session_runs_on_a_remote_endpoint_behind_the_egress(
    start_driftstack: StartDriftstack, endpoint: str, site: str
) -> None:
    # The endpoint holds one session at a time (WebKitWebDriver does): no page opened ahead.
    driftstack = await start_driftstack(browser="webkit", webdriver_url=endpoint, warm_pool_size=0)
    api = await driftstack.client()
    session = await api.ready_session()
    assert session["engine"] == "webkit" and session["engine_version"], session
    sid = session["id"]

    status, nav, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"})
    assert (status, nav["title"], nav["http_status"]) == (200, "Form", None), nav
    assert (await api.post(f"/v1/sessions/{sid}/interact", {"type": "tap", "selector": "#tap-me"}))[0] == 200
    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    assert "tapped" in state["html"]

    # The endpoint's browser leaves through the egress too (WebDriver's proxy capability).
    status, problem, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": "http://127.0.0.2:8123/"})
    assert status == 403 and problem["type"].endswith("/egress-refused"), problem

    # What only our own shell gives is unavailable on someone else's endpoint, and says so.
    status, problem, _ = await api.post(f"/v1/sessions/{sid}/capture", {"kind": "pdf"})
    assert status == 502 and problem["reason"] == "unsupported", problem
    assert "remote WebDriver endpoint" in problem["detail"]
    assert (await api.delete(f"/v1/sessions/{sid}"))[0] == 204
