"""Sessions held at once (1, 10, 50): memory per session (PSS of the browser's processes plus the
service's) and action latency while they are all open, against the same pages held by Playwright."""

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
    pss_mb,
    raw_playwright,
    serving,
)

COUNTS = tuple(int(n) for n in os.environ.get("BENCH_COUNTS", "1,10,50").split(","))
TAP_ROUNDS = 3
GETS = 200
SETTLE_S = 3.0  # let the pages finish loading and the browser trim before reading memory


async def raw_side(url: str, count: int) -> tuple[float, list[float]]:
    """(MB per page, tap latencies) with `count` pages open in one browser."""
    async with raw_playwright() as (pw, browser):
        options = persona_options(pw)
        pages = []
        for _ in range(count):
            context = await browser.new_context(**options)
            page = await context.new_page()
            await page.goto(url, wait_until="load")
            pages.append(page)
        await asyncio.sleep(SETTLE_S)
        per_page = pss_mb([os.getpid()]) / count
        taps = []
        for _ in range(TAP_ROUNDS):
            for page in pages:
                started = time.perf_counter()
                await page.tap("#tap-me")
                taps.append((time.perf_counter() - started) * 1000)
    return per_page, taps


async def driftstack_side(url: str, count: int) -> tuple[float, float, list[float], list[float]]:
    """(MB per session, MB of the service with no session, tap latencies, GET latencies)."""
    async with serving() as service, client(service) as api:
        await asyncio.sleep(SETTLE_S)
        empty = pss_mb(service.service_pids())
        ids = []
        for _ in range(count):
            session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
            ids.append(session["id"])
            await api.call("POST", f"/v1/sessions/{session['id']}/navigate", {"url": url})
        await asyncio.sleep(SETTLE_S)
        per_session = pss_mb(service.service_pids()) / count
        taps, gets = [], []
        for _ in range(TAP_ROUNDS):
            for sid in ids:
                started = time.perf_counter()
                await api.call("POST", f"/v1/sessions/{sid}/interact", {"type": "tap", "selector": "#tap-me"})
                taps.append((time.perf_counter() - started) * 1000)
        for i in range(GETS):
            started = time.perf_counter()
            await api.call("GET", f"/v1/sessions/{ids[i % count]}")
            gets.append((time.perf_counter() - started) * 1000)
        for sid in ids:
            await api.call("DELETE", f"/v1/sessions/{sid}", expect=204)
    return per_session, empty, taps, gets


async def main() -> Report:
    report = Report("Sessions held at once")
    async with local_site() as url:
        for count in COUNTS:
            raw_mb, raw_taps = await raw_side(url, count)
            ds_mb, empty_mb, taps, gets = await driftstack_side(url, count)
            held = f"{count} held"
            memory_target = {"target": "≤ 70 MB", "met": ds_mb <= 70} if count == max(COUNTS) else {}
            report.add(
                Figure(f"{held}: MB per session", "MB", ds_mb, baseline=raw_mb, **memory_target)  # type: ignore[arg-type]
            )
            report.add(
                Figure.of(f"{held}: tap", taps, baseline=statistics.median(raw_taps)),
            )
            get_p95 = Figure.of("", gets).p95 or 0
            get_target = {"target": "p95 ≤ 20 ms", "met": get_p95 <= 20} if count == max(COUNTS) else {}
            report.add(Figure.of(f"{held}: GET /v1/sessions/:id", gets, **get_target))  # type: ignore[arg-type]
            report.note(
                f"{held}: the service with no session is {empty_mb:.0f} MB (Python, Playwright's driver, "
                f"the browser and the warm pool's pages); Playwright alone holds {raw_mb * count:.0f} MB "
                f"for {count} page(s) and its own process."
            )
    report.note(
        "Memory is PSS (shared pages split between the processes sharing them) of the service process "
        "and all its children, divided by the sessions held, each on the local page; Playwright's side "
        "is the benchmark process and its children holding the same pages."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
