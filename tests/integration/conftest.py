"""What the integration tests share: one page on the engine a test is parametrised with, and a session
recorded through the application."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from driftstack.application import Driftstack
from driftstack.domain.archetypes import resolve
from driftstack.drivers import webkit_host
from driftstack.drivers.base import Page
from driftstack.drivers.playwright import PlaywrightDriver
from driftstack.drivers.webdriver import WebDriverDriver
from tests.conftest import chromium_path

IPHONE = resolve(None)


@pytest.fixture
async def a_page(engine: str) -> AsyncIterator[Page]:
    """A page on `engine`, alone in its browser."""
    driver: PlaywrightDriver | WebDriverDriver
    if engine == "chromium":
        executable = chromium_path()
        if executable is None or not os.path.exists(executable):
            pytest.skip("no Chromium (apt-get install chromium)")
        driver = PlaywrightDriver("chromium", executable)
    else:
        if webkit_host.missing_parts():
            pytest.skip("WebKitGTK is not installed: " + webkit_host.INSTALL_HINT)
        driver = WebDriverDriver()
    await driver.start()
    page = await driver.open(IPHONE)
    try:
        yield page
    finally:
        await page.close()
        await driver.stop()


def a_session(app: Driftstack, account_id: str, key_id: str) -> UUID:
    """A session created on the account (node "a"), as a create without options records it."""
    session, _ = app.create_session(
        account_id,
        api_key_id=key_id,
        archetype=resolve("default").slug,
        purpose="production_customer",
        label=None,
        metadata=None,
        behavioral_profile=None,
        profile_id=None,
        node="a",
    )
    return session.id
