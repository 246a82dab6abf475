"""What the egress costs: the action mix navigate → tap → type → screenshot on one Playwright page going
straight out, against the same through Driftstack's egress (its forward proxy, judging every address),
in the same run; and a navigation that loads 20 subresources, each a connection through the proxy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
from collections.abc import AsyncIterator

from aiohttp import web
from harness import Figure, Report, finish, persona_options, raw_playwright, serve_locally, timed_steps

from driftstack.addresses import AddressPolicy
from driftstack.drivers.playwright import _proxy
from driftstack.egress import Egress

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
WARMUP = 5
ACTIONS = ("navigate", "tap", "type", "screenshot")
SUBRESOURCES = 20
TEXT = "hello world"
TARGET = 1.05

FORM = """<!doctype html><html><head><title>Form</title></head><body>
<h1 id="greeting">hello</h1><button id="tap-me" onclick="this.textContent='tapped'">tap me</button>
<input id="name"></body></html>"""
HEAVY = "<!doctype html><html><head><title>Heavy</title></head><body>{}</body></html>".format(
    "".join(f'<img src="/img/{n}.svg?{{bust}}">' for n in range(SUBRESOURCES))
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20"/></svg>'


@contextlib.asynccontextmanager
async def site() -> AsyncIterator[str]:
    async def form(_: web.Request) -> web.Response:
        return web.Response(text=FORM, content_type="text/html")

    async def heavy(request: web.Request) -> web.Response:
        # A fresh query string each time: the subresources come over the network, not from the cache.
        return web.Response(
            text=HEAVY.replace("{bust}", request.query.get("n", "0")), content_type="text/html"
        )

    async def image(_: web.Request) -> web.Response:
        return web.Response(text=SVG, content_type="image/svg+xml")

    app = web.Application()
    app.router.add_get("/form", form)
    app.router.add_get("/heavy", heavy)
    app.router.add_get("/img/{n}", image)
    async with serve_locally(app) as base:
        yield base


async def rounds(base: str, *, through: Egress | None) -> list[dict[str, float]]:
    async with raw_playwright() as (pw, browser):
        options = persona_options(pw)
        route = await through.open_route() if through is not None else None
        if route is not None:
            options["proxy"] = _proxy(route)
        context = await browser.new_context(**options)
        page = await context.new_page()
        count = iter(range(10**9))

        async def type_text() -> None:
            await page.focus("#name")
            await page.keyboard.type(TEXT)

        steps = {
            "navigate": lambda: page.goto(f"{base}/form", wait_until="load"),
            "tap": lambda: page.tap("#tap-me"),
            "type": type_text,
            "screenshot": lambda: page.screenshot(type="png"),
            "navigate_heavy": lambda: page.goto(f"{base}/heavy?n={next(count)}", wait_until="load"),
        }
        done = [await timed_steps(steps) for _ in range(WARMUP + ROUNDS)]
        await context.close()
        if route is not None:
            await route.close()
    for r in done:
        r["whole"] -= r["navigate_heavy"]  # the mix alone; the heavy page is a figure of its own
    return done[WARMUP:]


async def main() -> Report:
    report = Report("Egress")
    egress = Egress(AddressPolicy.of(["127.0.0.1"]))
    async with site() as base:
        straight, proxied = [], []
        for _ in range(2):  # alternate, so drift in the machine's load falls on both sides
            straight += await rounds(base, through=None)
            proxied += await rounds(base, through=egress)
    for name in (*ACTIONS, "navigate_heavy", "whole"):
        floor = statistics.median(r[name] for r in straight)
        samples = [r[name] for r in proxied]
        ratio = statistics.median(samples) / floor
        target = {"target": f"ratio ≤ {TARGET:.2f}", "met": ratio <= TARGET} if name == "whole" else {}
        report.add(Figure.of(f"{name} (through the egress)", samples, baseline=floor, **target))
    report.note(
        f"{2 * ROUNDS} rounds each side, after {WARMUP} warm-up rounds, on raw Playwright and one Chromium: "
        "the same page straight out, and through Driftstack's egress (a route of its own, the address "
        f"policy judging each connection). `navigate_heavy` loads a page of {SUBRESOURCES} images, each a "
        "new connection through the proxy (it answers one request per connection)."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
