"""Create → ready (`POST /v1/sessions?wait=true`) and create → first navigate done, with the warm
pool and without it, against Playwright's own new_context + new_page (+ goto) on the same browser."""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from harness import (
    Figure,
    Report,
    client,
    finish,
    local_site,
    persona_options,
    raw_playwright,
    serving,
    timed,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
# Sessions come one after another with this gap, as clients arrive; it lets the pool refill.
GAP_S = float(os.environ.get("BENCH_GAP_S", "0.5"))
POOL_MARGIN_MS = 15.0


async def playwright_floor(url: str) -> tuple[list[float], list[float]]:
    """(context + page, context + page + goto) in milliseconds, per round."""
    opened, navigated = [], []
    async with raw_playwright() as (pw, browser):
        options = persona_options(pw)
        for _ in range(3):  # warm-up, as the service warms up before it is healthy
            context = await browser.new_context(**options)
            await context.new_page()
            await context.close()
        for _ in range(ROUNDS):
            await asyncio.sleep(GAP_S)
            started = time.perf_counter()
            context = await browser.new_context(**options)
            await context.new_page()
            opened.append((time.perf_counter() - started) * 1000)
            await context.close()

            await asyncio.sleep(GAP_S)
            started = time.perf_counter()
            context = await browser.new_context(**options)
            page = await context.new_page()
            await page.goto(url, wait_until="load")
            navigated.append((time.perf_counter() - started) * 1000)
            await context.close()
    return opened, navigated


async def driftstack_rounds(url: str, pool_size: int) -> tuple[list[float], list[float]]:
    ready, navigated = [], []
    async with serving(warm_pool_size=str(pool_size)) as service, client(service) as api:
        for _ in range(3):
            s = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
            await api.call("DELETE", f"/v1/sessions/{s['id']}", expect=204)
        for _ in range(ROUNDS):
            await asyncio.sleep(GAP_S)
            ms, s = await timed(api.call("POST", "/v1/sessions?wait=true", {}, expect=201))
            if s["status"] != "ready":
                raise RuntimeError(f"session not ready: {s}")
            ready.append(ms)
            await api.call("DELETE", f"/v1/sessions/{s['id']}", expect=204)

            await asyncio.sleep(GAP_S)
            started = time.perf_counter()
            s = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
            await api.call("POST", f"/v1/sessions/{s['id']}/navigate", {"url": url, "wait_until": "load"})
            navigated.append((time.perf_counter() - started) * 1000)
            await api.call("DELETE", f"/v1/sessions/{s['id']}", expect=204)
    return ready, navigated


async def main() -> Report:
    report = Report("Create to ready")
    pool = int(os.environ.get("BENCH_POOL_SIZE", "2"))
    async with local_site() as url:
        opened, went = await playwright_floor(url)
        warm_ready, warm_nav = await driftstack_rounds(url, pool)
        cold_ready, cold_nav = await driftstack_rounds(url, 0)
    floor = report.add(Figure.of("playwright new_context + new_page", opened))
    went_floor = report.add(Figure.of("playwright new_context + new_page + goto", went))
    warm = statistics.median(warm_ready)
    report.add(
        Figure.of(
            f"create → ready, warm pool of {pool}",
            warm_ready,
            baseline=floor.median,
            target="p50 ≤ 30 ms",
            met=warm <= 30,
        )
    )
    limit = floor.median + POOL_MARGIN_MS
    report.add(
        Figure.of(
            "create → ready, no pool",
            cold_ready,
            baseline=floor.median,
            target=f"p50 ≤ playwright + 15 ms ({limit:.0f} ms)",
            met=statistics.median(cold_ready) <= limit,
        )
    )
    report.add(Figure.of("create → first navigate done, warm pool", warm_nav, baseline=went_floor.median))
    report.add(Figure.of("create → first navigate done, no pool", cold_nav, baseline=went_floor.median))
    report.note(
        f"{ROUNDS} rounds each, one session at a time, {GAP_S:g} s apart (time for the pool to refill); "
        "each Driftstack figure is the whole HTTP round trip on loopback, its events stored."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
