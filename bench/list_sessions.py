"""`GET /v1/sessions?limit=100` through a real service with 100,000 sessions stored: the first page,
pages at several cursor depths down to the last one, and how long the sessions view took to fill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from typing import Any

import psycopg
from harness import Client, Figure, Report, Service, client, finish, percentile, serving, timed
from psycopg import sql

from driftstack.application import Driftstack
from driftstack.domain.archetypes import resolve
from driftstack.domain.session import Session
from driftstack.settings import Settings
from driftstack.store import open_store

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "100000"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "100"))
PAGE = 100
# Depths (sessions skipped) whose cursor is fetched REPEATS times after the walk.
DEPTHS = (1_000, 10_000, 50_000)
TARGET_MS = 20.0
CATCH_UP_LIMIT_S = 900.0


def seed(service: Service) -> tuple[float, float, int]:
    """Stores SESSIONS sessions for the service's account as real events; (seconds, events/s, head).

    Each is a `Session` aggregate saved BATCH to a transaction, bypassing the account's
    concurrency slots (each live session would hold one): the listing reads the sessions view
    only, which is built from the sessions' own events.
    """
    app = Driftstack(open_store(Settings.from_env(service.env)).eventsourcing_env(pool_size=1))
    try:
        key = app.find_key(service.key)
        assert key is not None
        archetype = resolve("default").slug
        started = time.perf_counter()
        for first in range(0, SESSIONS, BATCH):
            batch = [
                Session(
                    account_id=service.account_id,
                    api_key_id=f"key_{key.id}",
                    archetype=archetype,
                    purpose="production_customer",
                    label=f"seeded {n}",
                    metadata={"n": n},
                    behavioral_profile=None,
                    profile_id=None,
                    node="bench-seed",
                )
                for n in range(first, min(first + BATCH, SESSIONS))
            ]
            app.save(*batch)
        elapsed = time.perf_counter() - started
        return elapsed, SESSIONS / elapsed, app.recorder.max_notification_id() or 0
    finally:
        app.close()


def view_rows(service: Service) -> int:
    with psycopg.connect(service.env["DRIFTSTACK_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT count(*) FROM sessions WHERE account_id = %s", (service.account_id,))
        return int(row.fetchone()[0])  # type: ignore[index]


async def until_view_holds(service: Service, count: int) -> float:
    """Waits until the service's sessions view holds `count` of the account's rows; when (perf_counter)."""
    deadline = time.monotonic() + CATCH_UP_LIMIT_S
    while (rows := await asyncio.to_thread(view_rows, service)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sessions view holds {rows} of {count} after {CATCH_UP_LIMIT_S:g} s")
        await asyncio.sleep(0.5)
    return time.perf_counter()


def views_position(service: Service) -> int:
    """The position of the view furthest behind among the service's views (every `*_tracking` table)."""
    with psycopg.connect(service.env["DRIFTSTACK_DATABASE_URL"]) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_name LIKE %s",
            ("%\\_tracking",),
        ).fetchall()
        positions = [
            conn.execute(sql.SQL("SELECT max(notification_id) FROM {}").format(sql.Identifier(t))).fetchone()
            for (t,) in tables
        ]
    return min((p[0] or 0) if p else 0 for p in positions) if positions else 0


async def until_views_reach(service: Service, head: int) -> float:
    """Waits until every view of the service holds event `head`: the pages are timed on a service at rest."""
    deadline = time.monotonic() + CATCH_UP_LIMIT_S
    while (position := await asyncio.to_thread(views_position, service)) < head:
        if time.monotonic() > deadline:
            raise RuntimeError(f"a view is at {position} of {head} after {CATCH_UP_LIMIT_S:g} s")
        await asyncio.sleep(0.5)
    return time.perf_counter()


def server_ms(service: Service, since: int) -> list[float]:
    """What the service logged as its own time for each GET /v1/sessions after byte `since` of its log."""
    with service.log_path.open("rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    samples = []
    for line in lines:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("event") == "http.request" and entry.get("path") == "/v1/sessions":
                samples.append(float(entry["ms"]))
    return samples


async def page(api: Client, cursor: str | None) -> tuple[float, dict[str, Any]]:
    path = f"/v1/sessions?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
    return await timed(api.call("GET", path))


async def walk(api: Client) -> tuple[list[tuple[int, float]], dict[int, str]]:
    """Every page, newest to oldest: ([(depth, ms)], {depth: cursor}) checking no session repeats."""
    timings: list[tuple[int, float]] = []
    cursors: dict[int, str] = {}
    seen: set[str] = set()
    cursor: str | None = None
    depth = 0
    while True:
        ms, body = await page(api, cursor)
        timings.append((depth, ms))
        ids = [s["id"] for s in body["data"]]
        if seen.intersection(ids):
            raise RuntimeError(f"a session came twice, at depth {depth}")
        seen.update(ids)
        depth += len(ids)
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
        cursors[depth] = cursor
    if depth != SESSIONS:
        raise RuntimeError(f"the walk saw {depth} sessions, {SESSIONS} stored")
    return timings, cursors


async def repeated(api: Client, cursors: dict[int, str | None]) -> dict[int, list[float]]:
    """REPEATS fetches of each cursor's page, taken in turns, so each depth meets the same moments."""
    samples: dict[int, list[float]] = {depth: [] for depth in cursors}
    for _ in range(REPEATS):
        for depth, cursor in cursors.items():
            samples[depth].append((await page(api, cursor))[0])
    return samples


def paged(report: Report, name: str, samples: list[float]) -> None:
    report.add(
        Figure.of(name, samples, target=f"p95 ≤ {TARGET_MS:g} ms", met=percentile(samples, 95) <= TARGET_MS)
    )


async def main() -> Report:
    report = Report("List sessions")
    async with serving() as service, client(service) as api:
        started = time.perf_counter()
        seed_s, seed_rate, head = await asyncio.to_thread(seed, service)
        seeded_at = time.perf_counter()
        rows_when_seeded = await asyncio.to_thread(view_rows, service)
        caught_up_at = await until_view_holds(service, SESSIONS)
        all_views_at = await until_views_reach(service, head)

        for _ in range(10):  # warm-up: connections, plans, caches
            await page(api, None)
        log_from = service.log_path.stat().st_size
        timings, cursors = await walk(api)
        deepest = max(cursors)
        depths = {min(cursors, key=lambda c: abs(c - d)) for d in DEPTHS if d < deepest} | {deepest}
        at_depth = await repeated(api, {0: None, **{d: cursors[d] for d in sorted(depths)}})
        first, last = at_depth.pop(0), at_depth.pop(deepest)
        served = server_ms(service, log_from)

    report.add(Figure("seeding: sessions stored", "events/s", seed_rate))
    view_s = caught_up_at - started
    report.add(Figure("sessions view: all rows in", "s", view_s))
    behind = caught_up_at - seeded_at
    if behind > 1 and rows_when_seeded < SESSIONS:
        report.add(
            Figure(
                "sessions view catching up after seeding", "events/s", (SESSIONS - rows_when_seeded) / behind
            )
        )
    report.add(Figure("all five views: every event in", "s", all_views_at - started))
    paged(report, "first page", first)
    paged(report, f"walk: every page, {len(timings)} pages", [ms for _, ms in timings])
    for d, samples in at_depth.items():
        paged(report, f"page at depth {d:,}", samples)
    paged(report, f"last page (depth {deepest:,})", last)
    if served:
        report.add(Figure.of("the service's own time per page (its request log)", served))
    report.note(
        f"{SESSIONS:,} sessions for one account, stored as real `Session.Created` events through the "
        f"application ({BATCH} aggregates a save) in {seed_s:.0f} s, straight into the event store: the "
        "account aggregate, whose concurrency slots each live session would take, is bypassed. They "
        f"stay `creating`. The service's sessions view held {rows_when_seeded:,} when seeding ended and "
        f"all of them {behind:.0f} s later ({view_s:.0f} s from the first save); the service's five "
        "projections read every event as it is stored. Pages are timed once every view holds every event."
    )
    report.note(
        f"Pages of {PAGE} newest first, on one keep-alive connection; the first page and each depth's "
        f"page fetched {REPEATS} times, in turns; the walk follows next_cursor through every page once, checking "
        "that no session comes twice and all come. The service's own time runs from the request "
        "reaching its middleware to the response built (JSON encoded), for every page fetched."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
