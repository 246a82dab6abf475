"""Real WebKit (WebKitGTK over W3C WebDriver) against its own floor in the same run: raw W3C calls to the
same WebKitWebDriver launching the same shell. Create → ready with and without the warm pool, the action
mix navigate → tap → type → screenshot on one session, and memory per held session.

The Chromium figures beside these are create_ready, action_mix and held_sessions (raw Playwright's floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from harness import Figure, Report, client, finish, local_site, pss_mb, serving, timed

from driftstack.domain.archetypes import resolve
from driftstack.drivers import webkit_host
from driftstack.drivers.webdriver import shell_arguments

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
HELD = int(os.environ.get("BENCH_HELD", "4"))
GAP_S = float(os.environ.get("BENCH_GAP_S", "1.0"))  # time for the pool to open the next browser
SETTLE_S = 3.0
ACTIONS = ("navigate", "tap", "type", "screenshot")
TEXT = "hello world"
IPHONE = resolve("default")


class RawWebKit:
    """The floor: one WebKitWebDriver and one W3C session on our shell, driven with plain HTTP calls."""

    def __init__(self, http: aiohttp.ClientSession, display: str, directory: Path) -> None:
        self.http, self.display, self.directory = http, display, directory
        self.driver: webkit_host.LocalWebDriver | None = None
        self.base = ""

    async def open(self) -> None:
        width, height = IPHONE.viewport
        data = Path(tempfile.mkdtemp(dir=self.directory))
        args = shell_arguments(IPHONE, width, height, data)
        capabilities = {
            "pageLoadStrategy": "normal",
            "webkitgtk:browserOptions": {"binary": str(webkit_host.shell_launcher(data)), "args": args},
        }
        self.driver = await webkit_host.LocalWebDriver.start(
            self.http, self.display, round(IPHONE.device_scale_factor)
        )
        body = {"capabilities": {"alwaysMatch": capabilities}}
        async with self.http.post(f"{self.driver.endpoint}/session", json=body) as r:
            session = (await r.json())["value"]["sessionId"]
        self.base = f"{self.driver.endpoint}/session/{session}"

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.base + path, json=body) as r:
            return (await r.json())["value"]

    async def element(self, css: str) -> str:
        found = await self.call("POST", "/element", {"using": "css selector", "value": css})
        return str(next(iter(found.values())))

    async def close(self) -> None:
        with contextlib.suppress(aiohttp.ClientError):
            await self.call("DELETE", "")
        if self.driver is not None:
            await self.driver.stop()


@contextlib.asynccontextmanager
async def raw_webkit() -> AsyncIterator[tuple[aiohttp.ClientSession, str, Path]]:
    display = webkit_host.Display()
    with tempfile.TemporaryDirectory(prefix="driftstack-bench-webkit-") as directory:
        async with aiohttp.ClientSession() as http:
            try:
                yield http, await display.start(), Path(directory)
            finally:
                await display.stop()


async def floor_create(rounds: int) -> list[float]:
    opened = []
    async with raw_webkit() as (http, display, directory):
        for _ in range(rounds + 2):
            await asyncio.sleep(GAP_S)
            browser = RawWebKit(http, display, directory)
            ms, _ = await timed(browser.open())
            opened.append(ms)
            await browser.close()
    return opened[2:]


async def floor_mix(url: str) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {a: [] for a in ACTIONS}
    async with raw_webkit() as (http, display, directory):
        browser = RawWebKit(http, display, directory)
        await browser.open()
        for n in range(ROUNDS + 3):
            steps = {
                "navigate": lambda: browser.call("POST", "/url", {"url": url}),
                "tap": lambda: _click(browser),
                "type": lambda: _type(browser),
                "screenshot": lambda: browser.call("GET", "/screenshot"),
            }
            for action, step in steps.items():
                ms, _ = await timed(step())
                if n >= 3:
                    samples[action].append(ms)
        await browser.close()
    return samples


async def _click(browser: RawWebKit) -> None:
    await browser.call("POST", f"/element/{await browser.element('#tap-me')}/click", {})


async def _type(browser: RawWebKit) -> None:
    await browser.call("POST", f"/element/{await browser.element('#name')}/value", {"text": TEXT})


async def floor_memory(url: str) -> float:
    async with raw_webkit() as (http, display, directory):
        browsers = []
        for _ in range(HELD):
            browser = RawWebKit(http, display, directory)
            await browser.open()
            await browser.call("POST", "/url", {"url": url})
            browsers.append(browser)
        await asyncio.sleep(SETTLE_S)
        held = pss_mb([b.driver.process.pid for b in browsers if b.driver is not None]) / HELD
        for browser in browsers:
            await browser.close()
    return held


async def driftstack_create(pool: int) -> list[float]:
    ready = []
    async with serving(browser="webkit", warm_pool_size=str(pool)) as service, client(service) as api:
        for n in range(ROUNDS + 2):
            await asyncio.sleep(GAP_S)
            ms, s = await timed(api.call("POST", "/v1/sessions?wait=true", {}, expect=201))
            if s["status"] != "ready":
                raise RuntimeError(f"session not ready: {s}")
            if n >= 2:
                ready.append(ms)
            await api.call("DELETE", f"/v1/sessions/{s['id']}", expect=204)
    return ready


async def driftstack_mix_and_memory(url: str) -> tuple[dict[str, list[float]], float]:
    samples: dict[str, list[float]] = {a: [] for a in ACTIONS}
    async with serving(browser="webkit", warm_pool_size="0") as service, client(service) as api:
        sid = (await api.call("POST", "/v1/sessions?wait=true", {}, expect=201))["id"]
        path = f"/v1/sessions/{sid}"
        for n in range(ROUNDS + 3):
            steps = {
                "navigate": lambda: api.call("POST", f"{path}/navigate", {"url": url}),
                "tap": lambda: api.call("POST", f"{path}/interact", {"type": "tap", "selector": "#tap-me"}),
                "type": lambda: api.call(
                    "POST", f"{path}/interact", {"type": "type", "selector": "#name", "text": TEXT}
                ),
                "screenshot": lambda: api.call("POST", f"{path}/capture", {"kind": "screenshot"}),
            }
            for action, step in steps.items():
                ms, _ = await timed(step())
                if n >= 3:
                    samples[action].append(ms)
        await api.call("DELETE", path, expect=204)
        await asyncio.sleep(SETTLE_S)
        empty = pss_mb(service.service_pids())
        ids = []
        for _ in range(HELD):
            session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
            await api.call("POST", f"/v1/sessions/{session['id']}/navigate", {"url": url})
            ids.append(session["id"])
        await asyncio.sleep(SETTLE_S)
        held = (pss_mb(service.service_pids()) - empty) / HELD
        for sid in ids:
            await api.call("DELETE", f"/v1/sessions/{sid}", expect=204)
    return samples, held


async def main() -> Report:
    report = Report("Real WebKit (WebKitGTK over WebDriver)")
    async with local_site() as url:
        floor_opened = await floor_create(ROUNDS)
        warm = await driftstack_create(pool=2)
        cold = await driftstack_create(pool=0)
        floor_actions = await floor_mix(url)
        actions, held = await driftstack_mix_and_memory(url)
        floor_held = await floor_memory(url)

    floor = report.add(Figure.of("raw WebDriver: WebKitWebDriver + new session", floor_opened))
    warm_p50 = statistics.median(warm)
    report.add(
        Figure.of(
            "create → ready, warm pool of 2",
            warm,
            baseline=floor.median,
            target="p50 ≤ 30 ms",
            met=warm_p50 <= 30,
        )
    )
    limit = floor.median + 50
    report.add(
        Figure.of(
            "create → ready, no pool",
            cold,
            baseline=floor.median,
            target=f"p50 ≤ floor + 50 ms ({limit:.0f} ms)",
            met=statistics.median(cold) <= limit,
        )
    )
    ours = [sum(step) for step in zip(*(actions[a] for a in ACTIONS), strict=True)]
    theirs = [sum(step) for step in zip(*(floor_actions[a] for a in ACTIONS), strict=True)]
    mix_floor = statistics.median(theirs)
    report.add(
        Figure.of(
            "action mix (navigate → tap → type → screenshot)",
            ours,
            baseline=mix_floor,
            target="≤ 1.10 × floor",
            met=statistics.median(ours) <= 1.10 * mix_floor,
        )
    )
    for action in ACTIONS:
        report.add(
            Figure.of(f"  {action}", actions[action], baseline=statistics.median(floor_actions[action]))
        )
    report.add(
        Figure(
            f"memory per held session ({HELD} held)",
            "MB",
            held,
            baseline=floor_held,
            target="≤ 1.10 × floor",
            met=held <= 1.10 * floor_held,
        )
    )
    report.note(
        f"{ROUNDS} rounds; the floor is plain HTTP calls to the same WebKitWebDriver launching the same shell "
        "(no side channel, no egress, no events). Driftstack's figures are whole REST round trips on loopback, "
        "each action's event stored; its sessions' traffic goes through the egress. Memory: PSS of the "
        "browsers' process trees, the service's own size with no session subtracted."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
