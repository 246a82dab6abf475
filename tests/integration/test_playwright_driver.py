"""The Playwright driver against the system Chromium and pages served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import psutil
import pytest
import pytest_asyncio
from aiohttp import web

from driftstack.domain.archetypes import CATALOGUE, resolve
from driftstack.drivers import build_driver, playwright_executables
from driftstack.drivers.base import DriverError, DriverUnavailable, Reason
from driftstack.drivers.playwright import PlaywrightDriver, context_options
from driftstack.drivers.webdriver import WebDriverDriver
from driftstack.settings import Settings

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"no Chromium binary at {CHROMIUM} (apt-get install chromium)",
)
# The async tests share the module's loop, and with it one server and one browser.
in_module_loop = pytest.mark.asyncio(loop_scope="module")
USER_AGENTS = web.AppKey("user_agents", list)

IPHONE = resolve(None)
MAC = CATALOGUE["macos_safari26_4"]
T = 5_000  # ms; generous for a loaded CI box, every wait below resolves long before it

HOME = """<!doctype html><html><head><title>Home</title></head><body>
<button id="go" ontouchstart="document.getElementById('events').textContent += 'touch '"
        onclick="document.getElementById('out').textContent = 'tapped'">Go</button>
<div id="out">idle</div><p id="events"></p><p id="ua"></p><p id="dpr"></p>
<form action="/submitted" method="get"><input id="q" name="q"></form>
<script>
  document.getElementById('ua').textContent = navigator.userAgent;
  document.getElementById('dpr').textContent = 'dpr=' + window.devicePixelRatio;
  document.cookie = 'from_js=yes; path=/';
</script></body></html>"""

LONG = """<!doctype html><html><head><title>Long</title></head>
<body style="margin:0"><div style="height:5000px;background:linear-gradient(red,blue)">tall</div>
<div id="box" style="height:100px;overflow:auto"><div style="height:1000px">inner</div></div>
<script>
  window.addEventListener('scroll', () => { document.body.dataset.y = String(window.scrollY); });
  document.getElementById('box').addEventListener('scroll', e => {
    document.body.dataset.box = String(e.target.scrollTop);
  });
</script></body></html>"""

LATE = """<!doctype html><html><head><title>Late</title></head><body>
<script>setTimeout(() => {
  const el = document.createElement('p'); el.id = 'late'; el.textContent = 'here';
  document.body.appendChild(el);
}, 300);</script></body></html>"""


async def _home(request: web.Request) -> web.Response:
    request.app[USER_AGENTS].append(request.headers.get("User-Agent", ""))
    response = web.Response(text=HOME, content_type="text/html")
    response.set_cookie("from_server", "1")
    return response


async def _submitted(request: web.Request) -> web.Response:
    q = request.query.get("q", "")
    return web.Response(text=f"<title>Submitted</title><p id='got'>{q}</p>", content_type="text/html")


# A form whose answer takes a while: a tap that submits it leaves the page mid-navigation.
SLOW_FORM = """<!doctype html><html><head><title>Slow form</title></head><body>
<form action="/slowly" method="get"><input id="who" name="who" value="ada">
<button id="send" type="submit">send</button></form>
<button id="hidden" style="display:none">hidden</button></body></html>"""


async def _slowly(request: web.Request) -> web.Response:
    await asyncio.sleep(0.3)  # the server's pace, so the navigation is seen in flight
    who = request.query.get("who", "")
    return web.Response(text=f"<title>Thanks {who}</title><p id='thanks'>ok</p>", content_type="text/html")


async def _missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="<title>Nope</title>", content_type="text/html")


def _static(body: str):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/html")

    return handler


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site() -> AsyncIterator[tuple[str, web.Application]]:
    app = web.Application()
    app[USER_AGENTS] = []
    app.router.add_get("/", _home)
    app.router.add_get("/submitted", _submitted)
    app.router.add_get("/long", _static(LONG))
    app.router.add_get("/late", _static(LATE))
    app.router.add_get("/missing", _missing)
    app.router.add_get("/slow-form", _static(SLOW_FORM))
    app.router.add_get("/slowly", _slowly)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", app
    await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def driver() -> AsyncIterator[PlaywrightDriver]:
    # One browser for the module; tests that kill their browser start their own.
    drv = PlaywrightDriver("chromium", CHROMIUM)
    await drv.start()
    yield drv
    await drv.stop()


@pytest.fixture
def base(site: tuple[str, web.Application]) -> str:
    return site[0]


@in_module_loop
async def test_persona_reaches_the_page_and_navigate_reports(driver, site) -> None:
    base, app = site
    page = await driver.open(IPHONE)
    try:
        result = await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        assert result.url == base + "/"
        assert result.title == "Home"
        assert result.http_status == 200
        assert app[USER_AGENTS][-1] == IPHONE.user_agent
        state = await page.state()
        assert IPHONE.user_agent in state.html
        assert "dpr=3" in state.html
        assert state.viewport == {"width": IPHONE.viewport[0], "height": IPHONE.viewport[1]}
        missing = await page.navigate(base + "/missing", wait_until="load", timeout_ms=T)
        assert (missing.http_status, missing.title) == (404, "Nope")
    finally:
        await page.close()


@in_module_loop
async def test_viewport_override_and_storage_state(driver, base) -> None:
    cookie = {
        "name": "carried",
        "value": "over",
        "domain": "127.0.0.1",
        "path": "/",
        "expires": -1,
        "httpOnly": False,
        "secure": False,
        "sameSite": "Lax",
    }
    carried = {"cookies": [cookie], "origins": []}
    page = await driver.open(MAC, viewport=(800, 600), storage_state=carried)
    try:
        await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        state = await page.state()
        assert state.viewport == {"width": 800, "height": 600}
        assert "dpr=2" in state.html
        assert {"carried", "from_server", "from_js"} <= {c["name"] for c in state.cookies}
        saved = await page.storage_state()
        assert {"carried", "from_js"} <= {c["name"] for c in saved["cookies"]}
    finally:
        await page.close()


@in_module_loop
@pytest.mark.parametrize("archetype", [IPHONE, MAC], ids=["touch", "mouse"])
async def test_tap_changes_the_dom(driver, base, archetype) -> None:
    page = await driver.open(archetype)
    try:
        await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        await page.tap("#go", timeout_ms=T)
        await page.wait_for_selector("#out:text('tapped')", timeout_ms=T)
        html = await page.dom_snapshot()
        assert ("touch" in html.split('id="events">')[1].split("<")[0]) is archetype.has_touch
    finally:
        await page.close()


@in_module_loop
async def test_type_fills_and_enter_submits(driver, base) -> None:
    page = await driver.open(IPHONE)
    try:
        await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        await page.type("#q", "hello", delay_ms=5, timeout_ms=T)
        await page.type(None, " world", delay_ms=0, timeout_ms=T)  # into the focused input
        waiting = asyncio.ensure_future(page.wait_for_navigation(timeout_ms=T))
        await asyncio.sleep(0)  # the waiter must be listening before the key goes down
        await page.press("Enter", selector="#q", timeout_ms=T)
        result = await waiting
        assert result.title == "Submitted"
        assert result.http_status == 200
        assert result.url == base + "/submitted?q=hello+world"
        assert '<p id="got">hello world</p>' in (await page.state()).html
    finally:
        await page.close()


@in_module_loop
async def test_scroll_moves_window_and_element(driver, base) -> None:
    page = await driver.open(MAC)
    try:
        await page.navigate(base + "/long", wait_until="load", timeout_ms=T)
        await page.scroll("down", 400, selector=None, timeout_ms=T)
        await page.wait_for_selector("body[data-y='400']", timeout_ms=T)
        await page.scroll("up", 100, selector=None, timeout_ms=T)
        await page.wait_for_selector("body[data-y='300']", timeout_ms=T)
        await page.scroll("down", 50, selector="#box", timeout_ms=T)
        await page.wait_for_selector("body[data-box='50']", timeout_ms=T)
        with pytest.raises(DriverError) as bad:
            await page.scroll("sideways", 1, selector=None, timeout_ms=T)
        assert bad.value.reason == Reason.INVALID_ARGUMENT
    finally:
        await page.close()


@in_module_loop
async def test_wait_for_selector_waits_then_times_out(driver, base) -> None:
    page = await driver.open(IPHONE)
    try:
        await page.navigate(base + "/late", wait_until="load", timeout_ms=T)
        await page.wait_for_selector("#late", timeout_ms=T)
        with pytest.raises(DriverError) as missing:
            await page.wait_for_selector("#never", timeout_ms=300)
        assert missing.value.reason == Reason.SELECTOR_NOT_FOUND
        assert "#never" in str(missing.value)
        with pytest.raises(DriverError) as tap_missing:
            await page.tap("#never", timeout_ms=300)
        assert tap_missing.value.reason == Reason.SELECTOR_NOT_FOUND
    finally:
        await page.close()


@in_module_loop
async def test_unreachable_navigation_fails(driver) -> None:
    page = await driver.open(IPHONE)
    try:
        with pytest.raises(DriverError) as failed:
            await page.navigate("http://127.0.0.1:1/", wait_until="load", timeout_ms=T)
        assert failed.value.reason == Reason.BLOCKED  # port 1 is on Chromium's unsafe list
        assert str(failed.value).startswith("could not navigate to http://127.0.0.1:1/: ")
        assert failed.value.engine_message == "net::ERR_UNSAFE_PORT at http://127.0.0.1:1/"
        assert await page.responsive()
    finally:
        await page.close()


@in_module_loop
async def test_screenshot_pdf_and_snapshot(driver, base) -> None:
    page = await driver.open(MAC, viewport=(800, 600))
    try:
        await page.navigate(base + "/long", wait_until="load", timeout_ms=T)
        shot = await page.screenshot(full_page=False)
        full = await page.screenshot(full_page=True)
        assert shot[:8] == full[:8] == b"\x89PNG\r\n\x1a\n"
        assert _png_height(full) > _png_height(shot)
        assert (await page.pdf()).startswith(b"%PDF")
        assert "tall" in await page.dom_snapshot()
    finally:
        await page.close()


def _png_height(png: bytes) -> int:
    return int.from_bytes(png[20:24], "big")  # IHDR: width at 16, height at 20


@in_module_loop
async def test_close_is_idempotent_and_later_calls_fail(driver, base) -> None:
    crashes: list[str] = []
    page = await driver.open(IPHONE, on_crash=crashes.append)
    await page.navigate(base + "/", wait_until="load", timeout_ms=T)
    await page.close()
    await page.close()
    assert not await page.responsive()
    with pytest.raises(DriverError) as closed:
        await page.state()
    assert closed.value.reason == Reason.PAGE_CLOSED
    await asyncio.sleep(0.1)
    assert crashes == []  # our own close is not a crash


@in_module_loop
async def test_renderer_crash_is_reported_once(driver, base) -> None:
    crashes: list[str] = []
    page = await driver.open(IPHONE, on_crash=crashes.append)
    try:
        await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        with pytest.raises(DriverError):
            await page.navigate("chrome://crash", wait_until="load", timeout_ms=T)
        await _until(lambda: crashes)
        assert crashes == ["page_crashed"]
        assert not await page.responsive()
        with pytest.raises(DriverError) as after:
            await page.state()
        assert after.value.reason == Reason.BROWSER_CRASHED
    finally:
        await page.close()
    assert crashes == ["page_crashed"]


@in_module_loop
async def test_killed_browser_is_reported_and_relaunched(base) -> None:
    before = set(_browser_pids())
    drv = PlaywrightDriver("chromium", CHROMIUM)
    await drv.start()
    try:
        crashes: list[str] = []
        page = await drv.open(IPHONE, on_crash=crashes.append)
        await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        ours = set(_browser_pids()) - before
        assert len(ours) == 1
        psutil.Process(ours.pop()).kill()
        await _until(lambda: crashes)
        await asyncio.sleep(0.2)
        assert crashes == ["browser_disconnected"]
        with pytest.raises(DriverError) as after:
            await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        assert after.value.reason == Reason.BROWSER_CRASHED
        await page.close()
        assert drv.available  # the next open relaunches
        again = await drv.open(IPHONE)
        assert (await again.navigate(base + "/", wait_until="load", timeout_ms=T)).title == "Home"
    finally:
        await drv.stop()
    assert not drv.available
    assert crashes == ["browser_disconnected"]


@in_module_loop
@pytest.mark.parametrize("archetype", [IPHONE, MAC], ids=["touch", "mouse"])
async def test_after_a_tap_that_submits_a_form_the_location_is_the_next_page(driver, base, archetype) -> None:
    page = await driver.open(archetype)
    try:
        await page.navigate(base + "/slow-form", wait_until="load", timeout_ms=T)
        await page.tap("#send", timeout_ms=T)
        assert await page.location(timeout_ms=T) == (base + "/slowly?who=ada", "Thanks ada")
        state = await page.state()
        assert (state.url, state.title) == (base + "/slowly?who=ada", "Thanks ada")
    finally:
        await page.close()


@in_module_loop
async def test_after_a_failed_navigation_the_page_is_at_the_url_that_failed(driver, base) -> None:
    page = await driver.open(IPHONE)
    try:
        await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        with pytest.raises(DriverError) as failed:
            await page.navigate("http://nonexistent.invalid/", wait_until="load", timeout_ms=T)
        assert failed.value.reason == Reason.DNS_FAILED
        where = ("http://nonexistent.invalid/", "")
        assert await page.location(timeout_ms=T) == where
        state = await page.state()
        assert (state.url, state.title) == where, "the engine's error page is not the site's"
        again = await page.navigate(base + "/", wait_until="load", timeout_ms=T)
        assert (again.url, again.title) == (base + "/", "Home")
        assert await page.location(timeout_ms=T) == (base + "/", "Home")
    finally:
        await page.close()


@in_module_loop
async def test_each_kind_of_refusal_has_its_reason_and_no_playwright_words(driver, base) -> None:
    page = await driver.open(IPHONE)
    try:
        await page.navigate(base + "/slow-form", wait_until="load", timeout_ms=T)
        cases = [
            (page.press("Entr", selector=None, timeout_ms=T), Reason.UNKNOWN_KEY),
            (page.press("Entr", selector="#who", timeout_ms=T), Reason.UNKNOWN_KEY),
            (page.scroll("down", 10, selector="##", timeout_ms=T), Reason.INVALID_SELECTOR),
            (page.tap("##", timeout_ms=T), Reason.INVALID_SELECTOR),
            (page.tap("#hidden", timeout_ms=300), Reason.ELEMENT_NOT_ACTIONABLE),
            (page.wait_for_selector("#hidden", timeout_ms=300), Reason.SELECTOR_NOT_FOUND),
            (page.evaluate("1 +", timeout_ms=T), Reason.SCRIPT_ERROR),
            (page.evaluate("() => { throw new Error('boom') }", timeout_ms=T), Reason.SCRIPT_ERROR),
        ]
        for call, reason in cases:
            with pytest.raises(DriverError) as refused:
                await call
            error = refused.value
            assert error.reason == reason, error
            assert error.detail.startswith("could not ") and reason.summary in error.detail, error
            for internal in ("Page.", "Locator.", "Keyboard.", "Call log", "\n"):
                assert internal not in error.detail, error
                assert internal not in (error.engine_message or ""), error
        assert await page.evaluate("() => document.title", timeout_ms=T) == "Slow form"
    finally:
        await page.close()


def _browser_pids() -> list[int]:
    # The browser process proper: Chromium's helpers all carry a --type= switch.
    pids = []
    for child in psutil.Process().children(recursive=True):
        try:
            helper = any(arg.startswith("--type=") for arg in child.cmdline())
            if "chrom" in child.name() and not helper:
                pids.append(child.pid)
        except psutil.Error:
            continue
    return pids


async def _until(condition, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@in_module_loop
async def test_start_fails_for_a_missing_executable() -> None:
    driver = build_driver(Settings(browser_executable="/nonexistent"))
    assert driver.engine == "chromium"
    with pytest.raises(DriverUnavailable) as unavailable:
        await driver.start()
    assert "/nonexistent" in str(unavailable.value)
    assert "DRIFTSTACK_BROWSER_EXECUTABLE" in unavailable.value.hint
    assert not driver.available
    await driver.stop()


def test_build_driver_prefers_playwrights_webkit_then_webkitgtk_then_system_chromium(monkeypatch) -> None:
    monkeypatch.setattr("driftstack.drivers._bundled", lambda engine: False)
    monkeypatch.setattr("driftstack.drivers.webkitgtk_installed", lambda: False)
    driver = build_driver(Settings())
    assert driver.engine == "chromium"
    assert driver.description == f"Playwright chromium ({CHROMIUM})"
    monkeypatch.setattr("driftstack.drivers.webkitgtk_installed", lambda: True)
    assert isinstance(build_driver(Settings(warm_pool_size=0)).default, WebDriverDriver)
    assert build_driver(Settings(browser_executable=CHROMIUM)).engine == "chromium", "an executable alone"
    monkeypatch.setattr("driftstack.drivers._bundled", lambda engine: engine == "webkit")
    assert isinstance(build_driver(Settings(warm_pool_size=0)).default, PlaywrightDriver)
    assert build_driver(Settings()).engine == "webkit"
    assert build_driver(Settings(browser="firefox")).engine == "firefox"
    remote = build_driver(
        Settings(browser="webkit", webdriver_url="http://127.0.0.1:4444", warm_pool_size=0)
    ).default
    assert isinstance(remote, WebDriverDriver), "a WebDriver endpoint outranks Playwright's WebKit"


def test_build_driver_picks_webkitgtk_where_playwrights_webkit_is_missing() -> None:
    webkit = playwright_executables().get("webkit")
    if webkit and os.path.exists(webkit):
        pytest.skip("Playwright's WebKit is installed on this machine")
    driver = build_driver(Settings(warm_pool_size=0)).default
    assert isinstance(driver, WebDriverDriver) and driver.engine == "webkit"


def test_context_options_pin_the_persona() -> None:
    stale = {
        "user_agent": "old",
        "default_browser_type": "webkit",
        "viewport": {"width": 1, "height": 1},
    }
    devices = {IPHONE.base_device: stale}
    options = context_options(devices, IPHONE, "chromium")
    assert "default_browser_type" not in options
    assert options["user_agent"] == IPHONE.user_agent
    assert options["viewport"] == {"width": IPHONE.viewport[0], "height": IPHONE.viewport[1]}
    assert options["is_mobile"] is True and options["has_touch"] is True
    assert "is_mobile" not in context_options(devices, IPHONE, "firefox")
    wide = context_options({}, IPHONE, "chromium", viewport=(1000, 500))
    assert wide["viewport"] == {"width": 1000, "height": 500}
    assert wide["screen"] == {"width": 1000, "height": IPHONE.screen[1]}
