"""The event store through Driftstack's own application: events appended per second, how long the
sessions view takes to show each one, and read-your-writes over REST (a write, then a GET of it)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
from harness import Figure, Report, bench_environment, client, finish, percentile, serving, timed

from driftstack.application import Driftstack
from driftstack.domain.archetypes import resolve
from driftstack.domain.session import Session
from driftstack.projections.accounts import AccountsProjection
from driftstack.projections.audit import AuditLogProjection
from driftstack.projections.profiles import ProfilesProjection
from driftstack.projections.progress import Progress
from driftstack.projections.published import PublishedProgress
from driftstack.projections.sessions import SessionsProjection
from driftstack.settings import Settings
from driftstack.store import open_store
from driftstack.webhooks.outbox import WebhookOutboxProjection

# Sessions each writer takes through a whole life (10 events each, see `lifecycle`).
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "300"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
# PACED_WRITERS threads each starting one session life every PACE_S: 500 events/s, issue 16's load
# for the view lag target.
PACED_WRITERS = 2
PACED_SESSIONS = int(os.environ.get("BENCH_PACED_SESSIONS", "100"))
PACE_S = float(os.environ.get("BENCH_PACE_S", "0.04"))
BULK_SESSIONS = int(os.environ.get("BENCH_BULK_SESSIONS", "5000"))
BULK_BATCH = 100
RYW_ROUNDS = int(os.environ.get("BENCH_RYW_ROUNDS", "200"))
NAVIGATIONS = 5
EVENTS_PER_SESSION = 2 + 1 + NAVIGATIONS + 2
LAG_TIMEOUT_S = 60.0

Saved = Callable[[int, float], None]  # (notification id, perf_counter when the save returned)


# Every view `serve` keeps, by name.
VIEWS = [
    p.name
    for p in (
        SessionsProjection,
        AuditLogProjection,
        AccountsProjection,
        WebhookOutboxProjection,
        ProfilesProjection,
    )
]


@dataclasses.dataclass
class Kept:
    """The application, and the progress of every view, kept as `serve` keeps them."""

    app: Driftstack
    progress: dict[str, Progress]

    @property
    def sessions_view(self) -> Progress:
        return self.progress[SessionsProjection.name]

    async def caught_up(self) -> None:
        """Once every view holds every event stored so far: the next run starts with the projector idle."""
        head = await asyncio.to_thread(self.app.recorder.max_notification_id) or 0
        for progress in self.progress.values():
            if not await progress.reached(head, timeout=LAG_TIMEOUT_S):
                raise RuntimeError(f"view {progress.name} did not reach {head} in {LAG_TIMEOUT_S:g} s")


@contextlib.asynccontextmanager
async def application(database_url: str, workdir: Path) -> AsyncIterator[Kept]:
    """The application, and the views kept as `serve` keeps them: every view in a `driftstack project`
    process, followed through PostgreSQL's notifications."""
    settings = Settings(
        database_url=database_url,
        data_dir=workdir,
        secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    store = open_store(settings)
    app = Driftstack(store.eventsourcing_env(pool_size=settings.pool_size))
    follower = PublishedProgress(store.asyncpg_dsn(), VIEWS)
    await follower.start()
    env = {
        **os.environ,
        "DRIFTSTACK_DATABASE_URL": store.url,
        "DRIFTSTACK_SECRET_KEY": store.cipher_key,
        "DRIFTSTACK_DATA_DIR": str(workdir),
        "DRIFTSTACK_LOG_LEVEL": "warning",
    }
    projector = subprocess.Popen([sys.executable, "-m", "driftstack.cli", "project"], env=env)
    try:
        yield Kept(app, follower.progress)
    finally:
        projector.terminate()
        await asyncio.to_thread(projector.wait, 30)
        await follower.stop()
        app.close()


def lifecycle(app: Driftstack, account_id: str, key_id: str, saved: Saved) -> None:
    """One session's life through the application's commands: created (slot taken), ready,
    five navigations, destroyed (slot freed): 8 commands, 10 events."""

    def note(nid: int) -> None:
        saved(nid, time.perf_counter())

    session, nid = app.create_session(
        account_id,
        api_key_id=key_id,
        archetype=resolve("default").slug,
        purpose="production_customer",
        label="bench",
        metadata={"run": "event_store"},
        behavioral_profile=None,
        profile_id=None,
        node="bench",
    )
    note(nid)
    note(app.update_session(session.id, lambda s: s.become_ready("chromium", 12)))
    for i in range(NAVIGATIONS):
        note(
            app.update_session(
                session.id,
                lambda s, i=i: s.record_navigation(
                    key_id, f"http://127.0.0.1/{i}", "load", f"http://127.0.0.1/{i}", "Form", 200, 30
                ),
            )
        )
    note(app.end_session(session.id, lambda s: s.destroy("client_request", key_id)))


class LagWatch:
    """Per event: save returned → the sessions view's progress reached its notification id.

    Progress is advanced when the projector process's announcement of the view's commit arrives
    (a NOTIFY sent in the view's transaction), and it is what the service's reads wait on; so this
    is the lag a reader in the service sees, including waking the event loop.
    """

    def __init__(self, progress: Progress, loop: asyncio.AbstractEventLoop) -> None:
        self._progress, self._loop = progress, loop
        self._tasks: list[asyncio.Task[float]] = []

    def saved(self, nid: int, at: float) -> None:
        if nid:  # 0: the command stored nothing
            self._loop.call_soon_threadsafe(self._watch, nid, at)

    def _watch(self, nid: int, at: float) -> None:
        self._tasks.append(asyncio.ensure_future(self._until_visible(nid, at)))

    async def _until_visible(self, nid: int, at: float) -> float:
        if not await self._progress.reached(nid, timeout=LAG_TIMEOUT_S):
            raise RuntimeError(f"the sessions view did not reach {nid} in {LAG_TIMEOUT_S:g} s")
        return (time.perf_counter() - at) * 1000

    async def lags(self) -> list[float]:
        await asyncio.sleep(0)  # the last call_soon_threadsafe callbacks
        return list(await asyncio.gather(*self._tasks))


async def appending(
    kept: Kept, writers: list[tuple[str, str]], sessions: int, pace_s: float
) -> tuple[float, list[float]]:
    """(events per second, lags in ms) of `sessions` lives per writer thread, one per account, begun
    once the views have caught up with the run before."""
    await kept.caught_up()
    app = kept.app
    watch = LagWatch(kept.sessions_view, asyncio.get_running_loop())

    def write(account_id: str, key_id: str) -> None:
        for _ in range(sessions):
            started = time.perf_counter()
            lifecycle(app, account_id, key_id, watch.saved)
            if pace_s:
                time.sleep(max(0.0, pace_s - (time.perf_counter() - started)))

    head = app.recorder.max_notification_id() or 0
    started = time.perf_counter()
    threads = [threading.Thread(target=write, args=w) for w in writers]
    for t in threads:
        t.start()
    await asyncio.to_thread(lambda: [t.join() for t in threads])
    elapsed = time.perf_counter() - started
    events = (app.recorder.max_notification_id() or 0) - head
    if events != len(writers) * sessions * EVENTS_PER_SESSION:
        raise RuntimeError(f"{events} events stored, expected {len(writers) * sessions * EVENTS_PER_SESSION}")
    return events / elapsed, await watch.lags()


def bulk(app: Driftstack, account_id: str, key_id: str) -> float:
    """Events per second of BULK_SESSIONS sessions created BULK_BATCH to a save: what the store
    takes when a transaction carries many events, as an import or the list benchmark's seeding does."""
    started = time.perf_counter()
    for _ in range(BULK_SESSIONS // BULK_BATCH):
        app.save(
            *(
                Session(
                    account_id=account_id,
                    api_key_id=key_id,
                    archetype=resolve("default").slug,
                    purpose="production_customer",
                    label="bulk",
                    metadata=None,
                    behavioral_profile=None,
                    profile_id=None,
                    node="bench",
                )
                for _ in range(BULK_BATCH)
            )
        )
    return BULK_SESSIONS // BULK_BATCH * BULK_BATCH / (time.perf_counter() - started)


def sessions_shown_wrong(database_url: str) -> int:
    """Sessions whose view row is not where all their events lead: destroyed after NAVIGATIONS actions.

    A projection that passed over an event (one committed after a later one it had already
    read) leaves its session behind for good.
    """
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sessions WHERE status <> 'destroyed' OR (doc->>'action_count')::int <> %s",
            (NAVIGATIONS,),
        ).fetchone()
    return int(row[0]) if row else 0


def writer(app: Driftstack) -> tuple[str, str]:
    """A new account (enterprise, concurrency far above what a run holds live) and a key on it."""
    account = app.create_account(f"bench-{secrets.token_hex(3)}", "enterprise", concurrency=100_000)
    key, _, _ = app.issue_key(f"acc_{account.id}", ["read", "write"])
    return f"acc_{account.id}", f"key_{key.id}"


def commit_floor(database_url: str, rounds: int = 300) -> list[float]:
    """Milliseconds of one durable one-row INSERT + COMMIT on the same server: what a save cannot beat."""
    samples = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_commit_floor (n int)")
        for n in range(rounds):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_floor VALUES (%s)", (n,))
            samples.append((time.perf_counter() - started) * 1000)
        conn.execute("DROP TABLE bench_commit_floor")
    return samples


async def store_figures(report: Report) -> None:
    async with bench_environment() as (database_url, workdir):
        floor = await asyncio.to_thread(commit_floor, database_url)
        async with application(database_url, workdir) as kept:
            app = kept.app
            accounts = [await asyncio.to_thread(writer, app) for _ in range(THREADS)]
            await appending(kept, accounts[:1], 10, 0)  # warm-up: connections, caches
            one_rate, one_lags = await appending(kept, accounts[:1], SESSIONS, 0)
            many_rate, many_lags = await appending(kept, accounts, SESSIONS // THREADS, 0)
            paced_rate, paced_lags = await appending(kept, accounts[:PACED_WRITERS], PACED_SESSIONS, PACE_S)
            wrong = await asyncio.to_thread(sessions_shown_wrong, database_url)
            bulk_rate = await asyncio.to_thread(bulk, app, *accounts[0])
    report.add(Figure.of("PostgreSQL alone: one-row INSERT + COMMIT", floor))
    target = "≥ 1,000 events/s"
    report.add(Figure("appends, 1 thread", "events/s", one_rate, target=target, met=one_rate >= 1000))
    report.add(
        Figure(f"appends, {THREADS} threads", "events/s", many_rate, target=target, met=many_rate >= 1000)
    )
    report.add(Figure(f"appends, {BULK_BATCH} sessions a save (bulk)", "events/s", bulk_rate))
    report.add(
        Figure(
            "sessions the view shows wrong (an event missed)", "sessions", wrong, target="0", met=wrong == 0
        )
    )
    report.add(
        Figure.of(
            f"view lag at {paced_rate:.0f} events/s (paced)",
            paced_lags,
            target="p99 ≤ 30 ms",
            met=percentile(paced_lags, 99) <= 30,
        )
    )
    for name, lags in (
        ("view lag under 1 thread appending flat out", one_lags),
        (f"view lag under {THREADS} threads appending flat out", many_lags),
    ):
        report.add(Figure.of(name, lags, target="p99 ≤ 50 ms", met=percentile(lags, 99) <= 50))
    report.note(
        f"Appends: each writer thread takes sessions through a whole life with the application's own "
        f"commands (create_session with its account slot, ready, {NAVIGATIONS} navigations, end_session "
        f"freeing the slot: {EVENTS_PER_SESSION} events in 8 saves, each save one transaction); "
        f"{SESSIONS} lives on 1 thread, then {SESSIONS // THREADS} on each of {THREADS} threads, "
        "each thread its own account (threads on one account would mostly measure conflict retries). "
        f"Bulk: {BULK_SESSIONS} sessions created {BULK_BATCH} to a save, without their account's slot."
    )
    report.note(
        "View lag: per stored event, from the save returning its notification id to the sessions "
        "view's progress reaching it, as `serve` follows it: every view runs in a `driftstack project` "
        "process and announces each commit with a NOTIFY, heard on an event loop in this process. "
        f"The paced run is {PACED_WRITERS} writers each starting one session life every {PACE_S * 1000:g} ms."
    )


async def read_your_writes(report: Report) -> None:
    created, created_get, patched, patched_get = [], [], [], []
    async with serving() as service, client(service) as api:
        for i in range(10 + RYW_ROUNDS):
            ms, profile = await timed(api.call("POST", "/v1/profiles", {"name": f"bench-{i}"}))
            get_ms, got = await timed(api.call("GET", f"/v1/profiles/{profile['id']}"))
            if got["name"] != f"bench-{i}":
                raise RuntimeError(f"GET after create did not show it: {got}")
            description = f"round {i}"
            patch_ms, _ = await timed(
                api.call("PATCH", f"/v1/profiles/{profile['id']}", {"description": description})
            )
            patch_get_ms, got = await timed(api.call("GET", f"/v1/profiles/{profile['id']}"))
            if got["description"] != description:
                raise RuntimeError(f"GET after PATCH did not show it: {got}")
            if i >= 10:  # the first ten warm up connections and caches
                created.append(ms)
                created_get.append(get_ms)
                patched.append(patch_ms)
                patched_get.append(patch_get_ms)
    report.add(Figure.of("POST /v1/profiles (write)", created))
    report.add(Figure.of("GET /v1/profiles/:id right after its POST", created_get))
    report.add(Figure.of("PATCH /v1/profiles/:id (write)", patched))
    report.add(Figure.of("GET /v1/profiles/:id right after its PATCH", patched_get))
    report.note(
        f"Read-your-writes: {RYW_ROUNDS} rounds through a real service on loopback, one keep-alive "
        "connection; each GET is checked to show the write just made. A profile write answers only "
        "once the profiles view holds it, so the write's figure includes the view's lag and the GET "
        "finds its row without waiting."
    )


async def main() -> Report:
    report = Report("Event store")
    await store_figures(report)
    await read_your_writes(report)
    report.note("There is no raw-Playwright counterpart for the event store: no baseline column.")
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
