"""Load: N clients (N = the account's concurrency cap) each looping create → navigate → type → tap →
screenshot → destroy over REST for a fixed time, against raw Playwright running the same loop N at a time."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import json
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psutil
from harness import (
    Figure,
    Report,
    Service,
    finish,
    local_site,
    persona_options,
    raw_playwright,
    serving,
)
from playwright.async_api import Error as PlaywrightError

from driftstack.domain.tiers import TIERS

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
TIER = os.environ.get("BENCH_TIER", "api_builder")
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "0")) or TIERS[TIER].concurrency or 5
WARMUP = 2  # loops per client before the clock starts
SLICES = int(os.environ.get("BENCH_SLICES", "2"))  # turns each side's time is run in
# A create refused with 429 is tried again after this (not Retry-After's 5 s: the count is the finding).
RETRY_S = 0.05
ACTIONS = ("create", "navigate", "type", "tap", "screenshot", "destroy")
TEXT = "hello world"
TARGET = 1.10  # the loop against raw Playwright's, per loop and in loops per second
Loop = Callable[[], Awaitable[dict[str, float]]]


class LoopFailed(Exception):
    """One loop given up: the action that failed and its status (an HTTP code or an exception's name)."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"{action}: {status}")
        self.action, self.status = action, status


@dataclasses.dataclass
class Side:
    """One side's timed run: every finished loop's steps, its failures, its wall time and CPU."""

    owners: tuple[str, ...]  # whose processes' CPU is this side's (see `cpu_snapshot`)
    loops: list[dict[str, float]] = dataclasses.field(default_factory=list)
    errors: collections.Counter[tuple[str, str]] = dataclasses.field(default_factory=collections.Counter)
    seconds: float = 0.0
    cpu: dict[str, float] = dataclasses.field(default_factory=lambda: collections.defaultdict(float))
    busy: float = 0.0  # the machine's busy CPU seconds
    outside: float = 0.0  # of which, processes that are not the benchmark's

    @property
    def rate(self) -> float:
        return len(self.loops) / self.seconds

    def samples(self, name: str) -> list[float]:
        return [loop[name] for loop in self.loops]

    def per_loop_ms(self, cpu_s: float) -> float:
        return cpu_s * 1000 / len(self.loops)


# CPU, by whose and what each process is

Snapshot = dict[tuple[str, str], float]  # (owner, kind) → CPU seconds so far


def _kind(process: psutil.Process) -> str:
    name = process.name()
    if name.startswith("postgres"):
        return "PostgreSQL (the service's connections)"
    if "chrom" in name or "headless" in name:
        return "Chromium"
    if name.startswith("node"):
        return "Playwright driver (node)"
    command = " ".join(process.cmdline())
    if "driftstack.cli" in command:
        return "projector" if " project" in command else "serve" if " serve" in command else command
    return name


def cpu_snapshot(service: Service, database: str) -> Snapshot:
    """CPU seconds so far of this process ("bench": the clients and the local page), of the service's
    tree and PostgreSQL's backends on its database ("service"), and of the rest of this process's tree
    (raw Playwright's driver and browser: "raw"). Each process counts the children it has reaped, so a
    renderer closed with its context is still counted, in its zygote's. The database server's shared
    processes and other databases are left out: a test suite may be using the same server."""
    me = psutil.Process(os.getpid())
    serve = psutil.Process(service.process.pid)
    theirs = {serve.pid} | {p.pid for p in serve.children(recursive=True)}
    owned = [(p, "service" if p.pid in theirs else "raw") for p in me.children(recursive=True)]
    owned.extend((p, "service") for p in _backends(database))
    totals: Snapshot = collections.defaultdict(float)
    t = me.cpu_times()
    totals[("bench", "benchmark process (clients, local page)")] = t.user + t.system
    for process, owner in owned:
        with contextlib.suppress(psutil.Error):
            t = process.cpu_times()
            totals[(owner, _kind(process))] += t.user + t.system + t.children_user + t.children_system
    return totals


def _backends(database: str) -> list[psutil.Process]:
    """PostgreSQL's processes serving connections to `database` (their title names it)."""
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(p.info["cmdline"] or [])
        if (p.info["name"] or "").startswith("postgres") and f" {database} " in title:
            found.append(p)
    return found


def machine_busy() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


# The runs, the same for both sides


async def _clients(side: Side, loops: list[Loop], *, until: float | None = None) -> None:
    """Each client's loop, WARMUP times (its figures dropped) or until `until` (loops begun before it
    finish and count)."""

    async def client(loop: Loop) -> None:
        n = 0
        while (until is None and n < WARMUP) or (until is not None and time.perf_counter() < until):
            n += 1
            try:
                took = await loop()
            except LoopFailed as e:
                side.errors[(e.action, e.status)] += 1
                continue
            if until is not None:
                side.loops.append(took)

    await asyncio.gather(*(client(loop) for loop in loops))


async def timed_slice(
    side: Side, loops: list[Loop], seconds: float, snapshot: Callable[[], Snapshot]
) -> None:
    before, busy = snapshot(), machine_busy()
    started = time.perf_counter()
    await _clients(side, loops, until=started + seconds)
    side.seconds += time.perf_counter() - started
    after, busy = snapshot(), machine_busy() - busy
    used = {key: after[key] - before.get(key, 0.0) for key in after}
    for (owner, kind), cpu in used.items():
        if owner in side.owners:
            side.cpu[kind] += cpu
    side.busy += busy
    side.outside += busy - sum(used.values())


async def stepped(steps: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, float]:
    """Milliseconds of each step, the whole, and create → first navigate done."""
    took: dict[str, float] = {}
    whole = time.perf_counter()
    for name, step in steps.items():
        started = time.perf_counter()
        await step()
        took[name] = (time.perf_counter() - started) * 1000
    took["whole"] = (time.perf_counter() - whole) * 1000
    took["first_navigate"] = took["create"] + took["navigate"]
    return took


# Raw Playwright


def raw_loop(browser: Any, options: dict[str, Any], url: str) -> Loop:
    """The loop on raw Playwright: a context and its page, the same four actions, the context closed."""

    async def loop() -> dict[str, float]:
        page: Any = None
        contexts: list[Any] = []

        async def create() -> None:
            nonlocal page
            contexts.append(await browser.new_context(**options))
            page = await contexts[0].new_page()

        async def type_text() -> None:
            # What the service does for `type`: focus the element, then keystrokes.
            await page.focus("#name")
            await page.keyboard.type(TEXT)

        steps = {
            "create": create,
            "navigate": lambda: page.goto(url, wait_until="load"),
            "type": type_text,
            "tap": lambda: page.tap("#tap-me"),
            "screenshot": lambda: page.screenshot(type="png"),
            "destroy": lambda: contexts.pop().close(),
        }
        try:
            return await stepped({name: _guarded(name, step) for name, step in steps.items()})
        except LoopFailed:
            for context in contexts:
                with contextlib.suppress(PlaywrightError):
                    await context.close()
            raise

    return loop


def _guarded(action: str, step: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await step()
        except PlaywrightError as e:
            raise LoopFailed(action, type(e).__name__) from e

    return run


# Driftstack over REST


class Api:
    """One client of the service: its own keep-alive connection, the account's key."""

    def __init__(self, http: aiohttp.ClientSession, service: Service, key: str) -> None:
        self.http, self.base, self.headers = http, service.base, {"Authorization": f"Bearer {key}"}
        self.refused = 0  # creates answered 429

    async def call(self, action: str, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        try:
            async with self.http.request(method, self.base + path, json=body, headers=self.headers) as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise LoopFailed(action, type(e).__name__) from e
        if r.status != expect:
            raise LoopFailed(action, str(r.status))
        return json.loads(text) if text else None

    async def create(self) -> dict[str, Any]:
        while True:
            try:
                return await self.call("create", "POST", "/v1/sessions?wait=true", {}, expect=201)  # type: ignore[no-any-return]
            except LoopFailed as e:
                if e.status != "429":
                    raise
                self.refused += 1
                await asyncio.sleep(RETRY_S)

    async def loop(self, url: str) -> dict[str, float]:
        session: dict[str, Any] = {}

        async def create() -> None:
            session.update(await self.create())

        def act(action: str, path: str, body: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
            return lambda: self.call(action, "POST", f"/v1/sessions/{session['id']}/{path}", body)

        steps = {
            "create": create,
            "navigate": act("navigate", "navigate", {"url": url, "wait_until": "load"}),
            "type": act("type", "interact", {"type": "type", "selector": "#name", "text": TEXT}),
            "tap": act("tap", "interact", {"type": "tap", "selector": "#tap-me"}),
            "screenshot": act("screenshot", "capture", {"kind": "screenshot", "keep": False}),
            "destroy": lambda: self.call("destroy", "DELETE", f"/v1/sessions/{session['id']}", expect=204),
        }
        try:
            return await stepped(steps)
        except LoopFailed as e:
            if session and e.action != "destroy":  # free its slot for this client's next loop
                with contextlib.suppress(LoopFailed):
                    await self.call("destroy", "DELETE", f"/v1/sessions/{session['id']}", expect=204)
            raise


@contextlib.asynccontextmanager
async def clients(service: Service, n: int) -> AsyncIterator[list[Api]]:
    """n clients on one account of TIER, each with its own HTTP connection pool."""
    account = await asyncio.to_thread(
        service.cli, "accounts", "create", "--name", f"load-{secrets.token_hex(3)}", "--tier", TIER
    )
    key = await asyncio.to_thread(service.cli, "keys", "create", account["id"], "--scopes", "read,write")
    async with contextlib.AsyncExitStack() as stack:
        https = [await stack.enter_async_context(aiohttp.ClientSession()) for _ in range(n)]
        yield [Api(http, service, key["key"]) for http in https]


def warm_creates(log: str) -> tuple[int, int]:
    """(sessions ready from the warm pool, all sessions ready) in these serve log lines."""
    warm = ready = 0
    for line in log.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("event") == "session.ready":
                ready += 1
                warm += bool(entry.get("warm"))
    return warm, ready


# Both sides, in turns


@dataclasses.dataclass
class Run:
    raw: Side
    ds: Side
    refused: int  # creates answered 429
    warm: int  # sessions ready from the warm pool in the timed run
    ready: int  # all sessions ready in the timed run


async def run(url: str) -> Run:
    """Both sides up at once but never loaded at once: warm-ups, then SLICES turns each of
    SECONDS / SLICES, in the order raw, Driftstack, Driftstack, raw… so drift in the machine's load
    falls on both."""
    raw, ds = Side(("raw", "bench")), Side(("service", "bench"))
    warm = ready = 0
    async with (
        raw_playwright() as (pw, browser),
        serving() as service,
        clients(service, CLIENTS) as apis,
    ):
        sides: list[tuple[Side, list[Loop]]] = [
            (raw, [raw_loop(browser, persona_options(pw), url)] * CLIENTS),
            (ds, [functools.partial(api.loop, url) for api in apis]),
        ]
        database = urlsplit(service.env["DRIFTSTACK_DATABASE_URL"]).path.lstrip("/")
        snapshot = functools.partial(cpu_snapshot, service, database)
        for side, loops in sides:
            await _clients(side, loops)
        for turn in range(SLICES):
            for side, loops in sides if turn % 2 == 0 else sides[::-1]:
                logged = service.log_path.stat().st_size
                await timed_slice(side, loops, SECONDS / SLICES, snapshot)
                if side is ds:
                    with service.log_path.open("rb") as f:
                        f.seek(logged)
                        w, r = warm_creates(f.read().decode(errors="replace"))
                    warm, ready = warm + w, ready + r
    return Run(raw, ds, sum(api.refused for api in apis), warm, ready)


# The report


def report_loops(report: Report, raw: Side, ds: Side) -> None:
    # Per minute: a tenth of a loop per second would hide the difference.
    report.add(Figure("raw Playwright: loops per minute", "loops/min", raw.rate * 60))
    report.add(
        Figure(
            "Driftstack: loops per minute",
            "loops/min",
            ds.rate * 60,
            baseline=raw.rate * 60,
            target=f"≥ raw ÷ {TARGET:.2f} (ratio ≥ {1 / TARGET:.2f})",
            met=ds.rate * TARGET >= raw.rate,
        )
    )
    floor = report.add(Figure.of("raw Playwright: whole loop", raw.samples("whole")))
    whole = statistics.median(ds.samples("whole"))
    report.add(
        Figure.of(
            "Driftstack: whole loop",
            ds.samples("whole"),
            baseline=floor.median,
            target=f"ratio ≤ {TARGET:.2f}",
            met=whole <= TARGET * floor.median,
        )
    )
    went = report.add(Figure.of("raw: context + page + goto", raw.samples("first_navigate")))
    first = statistics.median(ds.samples("first_navigate"))
    report.add(
        Figure.of(
            "Driftstack: create → first navigate done",
            ds.samples("first_navigate"),
            baseline=went.median,
            target="p50 ≤ raw",
            met=first <= went.median,
        )
    )
    raw_names = {"create": "new_context + new_page", "destroy": "context.close"}
    for action in ACTIONS:
        floor = report.add(Figure.of(f"  raw: {raw_names.get(action, action)}", raw.samples(action)))
        report.add(Figure.of(f"  Driftstack: {action}", ds.samples(action), baseline=floor.median))


def report_cpu(report: Report, raw: Side, ds: Side) -> None:
    """CPU per loop by kind of process: what the two cores spend on each loop, each side."""
    for kind in sorted(raw.cpu.keys() | ds.cpu.keys(), key=lambda k: -ds.cpu.get(k, 0.0)):
        per_raw, per_ds = raw.per_loop_ms(raw.cpu.get(kind, 0.0)), ds.per_loop_ms(ds.cpu.get(kind, 0.0))
        if max(per_raw, per_ds) >= 0.5:
            report.add(Figure(f"CPU per loop: {kind}", "ms", per_ds, baseline=per_raw or None))
    report.add(
        Figure(
            "CPU per loop: the side's processes, all",
            "ms",
            ds.per_loop_ms(sum(ds.cpu.values())),
            baseline=raw.per_loop_ms(sum(raw.cpu.values())),
        )
    )
    report.add(
        Figure(
            "CPU per loop: processes not the benchmark's",
            "ms",
            ds.per_loop_ms(ds.outside),
            baseline=raw.per_loop_ms(raw.outside),
        )
    )
    report.add(
        Figure("cores busy, the machine", "cores", ds.busy / ds.seconds, baseline=raw.busy / raw.seconds)
    )


def errors_line(side: Side) -> str:
    if not side.errors:
        return "none"
    return ", ".join(f"{action} {status}: {n}" for (action, status), n in sorted(side.errors.items()))


def server_errors(side: Side) -> int:
    return sum(n for (_, status), n in side.errors.items() if status.isdigit() and int(status) >= 500)


async def main() -> Report:
    report = Report("Load")
    cap = TIERS[TIER].concurrency
    print(f"  {CLIENTS} clients, {SECONDS:g} s a side, account tier {TIER} (cap {cap})", flush=True)
    async with local_site() as url:
        done = await run(url)
    raw, ds = done.raw, done.ds
    print(f"  loops: raw {len(raw.loops)}, Driftstack {len(ds.loops)}", flush=True)
    report_loops(report, raw, ds)
    fives = server_errors(ds)
    report.add(Figure("Driftstack: 5xx answers", "answers", fives, target="0", met=fives == 0))
    report_cpu(report, raw, ds)
    report.note(
        f"{CLIENTS} clients on one `{TIER}` account (concurrency cap {cap}), each with its own keep-alive "
        "connection, looping create (`POST /v1/sessions?wait=true`) → navigate (a page on 127.0.0.1, "
        "`load`) → type → tap → capture (`keep: false`) → DELETE; against raw Playwright: "
        f"{CLIENTS} tasks each looping new_context + new_page → goto → focus + keyboard.type → tap → "
        "screenshot → context.close on one browser (the same binary, flags and persona)."
    )
    report.note(
        f"{SECONDS:g} s a side in {SLICES} turns each (raw, Driftstack, Driftstack, raw…), one side loaded "
        f"at a time, both up throughout, after {WARMUP} warm-up loops per client each. Loops begun "
        "before a turn's end finish and count; loops per second divide them by the turns' time to "
        f"the last one's end. Loops: raw {len(raw.loops)} in {raw.seconds:.1f} s ({raw.rate:.2f}/s), "
        f"Driftstack {len(ds.loops)} in {ds.seconds:.1f} s ({ds.rate:.2f}/s)."
    )
    report.note(
        f"Failed loops, warm-up included: raw {errors_line(raw)}; Driftstack {errors_line(ds)}. Creates "
        f"answered 429 (tried again after {RETRY_S * 1000:.0f} ms): {done.refused}. Sessions ready "
        f"from the warm pool in the timed turns: {done.warm} of {done.ready}."
    )
    report.note(
        "CPU per loop: each kind of process's CPU seconds over a side's turns (a process counting the "
        "children it reaped: the renderers closed with their contexts) divided by its loops; the "
        "benchmark process (the clients, the local page) counts on both sides, the service's and raw "
        "Playwright's processes on their own. Processes not the benchmark's: the machine's busy "
        "core-seconds less all of the benchmark's (the idle side's included). p99 over fewer than 100 "
        "loops is the slowest loop or close to it."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
