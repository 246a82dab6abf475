"""The WebKitGTK driver on its own (no service): what it keeps when a browser ends, and the processes it leaves."""

from __future__ import annotations

import psutil

from driftstack.domain.archetypes import resolve
from driftstack.drivers.webdriver import DATA_DIRECTORY, WebDriverDriver

IPHONE = resolve("iphone16pro_ios18_7_safari26_4")


async def test_a_value_stored_just_before_the_browser_ends_is_in_its_state(site: str) -> None:
    # WebKit writes localStorage back lazily; a state read at once must still hold the last write.
    driver = WebDriverDriver()
    await driver.start()
    try:
        state = None
        for generation in range(3):
            page = await driver.open(IPHONE, storage_state=state)
            await page.navigate(f"{site}/form", wait_until="load", timeout_ms=10_000)
            remembered = await page.evaluate("localStorage.getItem('generation')", timeout_ms=5_000)
            assert remembered == (str(generation - 1) if generation else None)
            await page.evaluate(f"localStorage.setItem('generation', '{generation}')", timeout_ms=5_000)
            state = await page.storage_state()
            await page.close()
            assert state[DATA_DIRECTORY]
    finally:
        await driver.stop()


async def test_closing_a_page_and_stopping_leave_no_browser_process_behind(site: str) -> None:
    driver = WebDriverDriver()
    await driver.start()
    page = await driver.open(IPHONE)
    await page.navigate(f"{site}/form", wait_until="load", timeout_ms=10_000)
    browsers = {p.pid for p in psutil.Process().children(recursive=True) if p.name().startswith("WebKit")}
    assert browsers, "a WebKitWebDriver and its browser's processes run"
    await page.close()
    await driver.stop()
    left = [pid for pid in browsers if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert left == []
