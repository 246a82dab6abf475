"""What inspection costs: the action mix navigate → tap → type → screenshot over REST on a page that logs
and loads subresources, with the console and network logs kept against `DRIFTSTACK_PAGE_LOGS=0`, in the
same run; and a screenshot kept as an artifact against one taken with `"keep": false`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import AsyncIterator

from aiohttp import web
from harness import Figure, Report, client, finish, serve_locally, serving, timed_steps

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
WARMUP = 5
ACTIONS = ("navigate", "tap", "type", "screenshot")
TEXT = "hello world"
TARGET = 1.05  # the mix with page logs kept, against without
LINES = 10
IMAGES = 5

PAGE = """<!doctype html><html><head><title>Busy</title></head><body>
<h1 id="greeting">hello</h1><button id="tap-me" onclick="console.log('tapped'); this.textContent='tapped'">tap
</button><input id="name" oninput="console.debug('typed', this.value.length)">{images}
<script>for (let n = 0; n < {lines}; n++) console.log('line', n, {{n}}); console.warn('done');</script>
</body></html>"""
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20"/></svg>'


@contextlib.asynccontextmanager
async def busy_site() -> AsyncIterator[str]:
    async def page(request: web.Request) -> web.Response:
        n = request.query.get("n", "0")  # fresh images each time: they come over the network
        images = "".join(f'<img src="/img/{i}.svg?{n}">' for i in range(IMAGES))
        return web.Response(text=PAGE.format(images=images, lines=LINES), content_type="text/html")

    async def image(_: web.Request) -> web.Response:
        return web.Response(text=SVG, content_type="image/svg+xml")

    app = web.Application()
    app.router.add_get("/busy", page)
    app.router.add_get("/img/{n}", image)
    async with serve_locally(app) as base:
        yield f"{base}/busy"


async def mix(url: str, *, page_logs: bool) -> tuple[list[dict[str, float]], list[float]]:
    """The mix's rounds, and the times of a screenshot not kept (taken after each round)."""
    settings = {} if page_logs else {"page_logs": "0"}
    async with serving(**settings) as service, client(service) as api:
        session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
        base = f"/v1/sessions/{session['id']}"
        count = iter(range(10**9))
        steps = {
            "navigate": lambda: api.call(
                "POST", f"{base}/navigate", {"url": f"{url}?n={next(count)}", "wait_until": "load"}
            ),
            "tap": lambda: api.call("POST", f"{base}/interact", {"type": "tap", "selector": "#tap-me"}),
            "type": lambda: api.call(
                "POST", f"{base}/interact", {"type": "type", "selector": "#name", "text": TEXT}
            ),
            "screenshot": lambda: api.call("POST", f"{base}/capture", {"kind": "screenshot"}),
        }
        rounds, unkept = [], []
        for _ in range(WARMUP + ROUNDS):
            rounds.append(await timed_steps(steps))
            started = time.perf_counter()
            await api.call("POST", f"{base}/capture", {"kind": "screenshot", "keep": False})
            unkept.append((time.perf_counter() - started) * 1000)
        if page_logs:
            logged = await api.call("GET", f"{base}/console?limit=1")
            assert logged["data"], "the console log is kept"
        await api.call("DELETE", base, expect=204)
    return rounds[WARMUP:], unkept[WARMUP:]


async def main() -> Report:
    report = Report("Inspection")
    async with busy_site() as url:
        quiet, kept, unkept = [], [], []
        for _ in range(2):  # alternate, so drift in the machine's load falls on both sides
            rounds, _ = await mix(url, page_logs=False)
            quiet += rounds
            rounds, not_kept = await mix(url, page_logs=True)
            kept += rounds
            unkept += not_kept
    for name in (*ACTIONS, "whole"):
        floor = statistics.median(r[name] for r in quiet)
        samples = [r[name] for r in kept]
        ratio = statistics.median(samples) / floor
        target = {"target": f"ratio ≤ {TARGET:.2f}", "met": ratio <= TARGET} if name == "whole" else {}
        report.add(Figure.of(f"{name} (page logs kept)", samples, baseline=floor, **target))
    report.add(
        Figure.of(
            "screenshot kept as an artifact",
            [r["screenshot"] for r in kept],
            baseline=statistics.median(unkept),
        )
    )
    report.note(
        f"{2 * ROUNDS} rounds each side after {WARMUP} warm-up rounds, one session each, through a real "
        f"`driftstack serve`: the page logs {LINES + 1} console lines and loads {IMAGES} images per "
        "navigation, logs on each tap and keystroke. The floor of the first rows is the same mix with "
        "`DRIFTSTACK_PAGE_LOGS=0`; of the last, a screenshot with `keep: false` on the same session."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
