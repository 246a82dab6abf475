"""The action mix navigate (local page) → tap → type → screenshot, per action and whole: Driftstack
over REST against the same calls made on a Playwright page directly."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from harness import Figure, Report, client, finish, local_site, persona_options, raw_playwright, serving

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
WARMUP = 5
ACTIONS = ("navigate", "tap", "type", "screenshot")
TEXT = "hello world"


async def _mix(steps: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, float]:
    """Milliseconds of each step, in order, and of the whole."""
    took: dict[str, float] = {}
    whole = time.perf_counter()
    for name in ACTIONS:
        started = time.perf_counter()
        await steps[name]()
        took[name] = (time.perf_counter() - started) * 1000
    took["whole"] = (time.perf_counter() - whole) * 1000
    return took


async def direct(url: str) -> list[dict[str, float]]:
    async with raw_playwright() as (pw, browser):
        context = await browser.new_context(**persona_options(pw))
        page = await context.new_page()

        async def type_text() -> None:
            # What the service does for `type`: focus the element, then keystrokes.
            await page.focus("#name")
            await page.keyboard.type(TEXT)

        steps = {
            "navigate": lambda: page.goto(url, wait_until="load"),
            "tap": lambda: page.tap("#tap-me"),
            "type": type_text,
            "screenshot": lambda: page.screenshot(type="png"),
        }
        rounds = [await _mix(steps) for _ in range(WARMUP + ROUNDS)]
        await context.close()
    return rounds[WARMUP:]


async def rest(url: str) -> list[dict[str, float]]:
    async with serving() as service, client(service) as api:
        session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
        base = f"/v1/sessions/{session['id']}"
        steps = {
            "navigate": lambda: api.call("POST", f"{base}/navigate", {"url": url, "wait_until": "load"}),
            "tap": lambda: api.call("POST", f"{base}/interact", {"type": "tap", "selector": "#tap-me"}),
            "type": lambda: api.call(
                "POST", f"{base}/interact", {"type": "type", "selector": "#name", "text": TEXT}
            ),
            "screenshot": lambda: api.call("POST", f"{base}/capture", {"kind": "screenshot"}),
        }
        rounds = [await _mix(steps) for _ in range(WARMUP + ROUNDS)]
        await api.call("DELETE", base, expect=204)
    return rounds[WARMUP:]


async def main() -> Report:
    report = Report("Action mix")
    async with local_site() as url:
        # Alternate the two sides so drift in the machine's load falls on both.
        raw_runs, rest_runs = [], []
        for _ in range(2):
            raw_runs += await direct(url)
            rest_runs += await rest(url)
    for name in (*ACTIONS, "whole"):
        floor = statistics.median(r[name] for r in raw_runs)
        samples = [r[name] for r in rest_runs]
        ratio = statistics.median(samples) / floor
        target = {"target": "ratio ≤ 1.10", "met": ratio <= 1.10} if name == "whole" else {}
        report.add(Figure.of(f"{name} (REST)", samples, baseline=floor, **target))
    report.note(
        f"{2 * ROUNDS} rounds each side on one session, after {WARMUP} warm-up rounds; the page is "
        "served on 127.0.0.1; REST answers carry the screenshot as base64 JSON, as the API does."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
