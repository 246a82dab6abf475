"""When the store goes away, or a view cannot apply an event: honest 503s, never 500s or false 404s."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psycopg
import pytest

from ..conftest import Api, Harness
from .servers import ServerProcess, Servers, poll
from .store_proxy import StoreProxy

STORE_UNAVAILABLE = "https://driftstack.dev/problems/store-unavailable"
VIEW_LAGGING = "https://driftstack.dev/problems/view-lagging"
# What the issue asks: writes succeed again within 2 s of the store's return.
RECOVERY_DEADLINE_S = 2.0
# Long enough for every pool and projection to have failed several times and backed off.
OUTAGE_S = 6.0


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[StoreProxy]:
    started = await StoreProxy(database_url).start()
    try:
        yield started
    finally:
        await started.close()


def log_events(server: ServerProcess) -> list[dict[str, Any]]:
    events = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


async def health(
    http: aiohttp.ClientSession, server: ServerProcess, path: str = "/healthz"
) -> tuple[int, Any]:
    async with http.get(server.base + path) as response:
        return response.status, await response.json()


async def answered(api: Api, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
    status, problem, headers = await api.call(method, path, body)
    assert status != 500, problem
    return status, problem, headers


async def test_a_store_cut_answers_503_store_unavailable_and_writes_succeed_again_within_2_s_of_its_return(
    proxy: StoreProxy, servers: Servers, http: aiohttp.ClientSession
) -> None:
    # The proxy is asked for first, so it closes last: the server stops with its store still there.
    server = await servers.start("node-cut", DRIFTSTACK_DATABASE_URL=proxy.url, DRIFTSTACK_WARM_POOL_SIZE="0")
    key = await servers.new_key("api_starter", scopes="read,write,admin")
    api = Api(http, server.base, key)
    written = []
    for n in range(3):
        status, profile, _ = await api.post("/v1/profiles", {"name": f"before-{n}"})
        assert status == 200, profile
        written.append(profile["id"])

    proxy.cut()
    # Every kind of request answers 503 store-unavailable, with Retry-After; none a 500.
    for method, path, body in [
        ("GET", "/v1/profiles", None),
        ("POST", "/v1/profiles", {"name": "during"}),
        ("GET", "/v1/sessions", None),
        ("POST", "/v1/sessions", {}),
        ("GET", "/v1/audit-log", None),
    ]:
        status, problem, headers = await answered(api, method, path, body)
        assert (status, problem["type"]) == (503, STORE_UNAVAILABLE), (method, path, problem)
        assert int(headers["Retry-After"]) > 0
    status, report = await poll(
        lambda: _unhealthy(http, server), deadline_s=10, what="/healthz saying the store is unreachable"
    )
    assert report["store"]["reachable"] is False and report["status"] == "failing", report
    assert (await health(http, server, "/livez"))[0] == 200
    # The store stays away a while; every answer meanwhile is a 503, never a 500.
    away_until = time.monotonic() + OUTAGE_S
    while time.monotonic() < away_until:
        status, problem, _ = await answered(api, "POST", "/v1/profiles", {"name": "during"})
        assert status == 503, problem
        await asyncio.sleep(0.2)

    proxy.restore()
    status, profile, _ = await poll(
        lambda: _succeeded(api, "POST", "/v1/profiles", {"name": "after"}),
        deadline_s=RECOVERY_DEADLINE_S,
        interval_s=0.02,
        what="a profile created after the store's return",
    )
    written.append(profile["id"])
    status, session, _ = await poll(
        lambda: _succeeded(api, "POST", "/v1/sessions", {}),
        deadline_s=RECOVERY_DEADLINE_S,
        interval_s=0.02,
        what="a session created after the store's return",
    )
    assert status == 201, session
    assert (await answered(api, "DELETE", f"/v1/sessions/{session['id']}"))[0] == 204
    status, report = await poll(lambda: _healthy(http, server), deadline_s=10, what="/healthz 200 again")
    assert {v["status"] for v in report["views"].values()} == {"following"}, report

    # Nothing answered with a 2xx is lost.
    _, profiles, _ = await api.get("/v1/profiles?limit=100")
    assert set(written) <= {p["id"] for p in profiles["data"]}
    events = log_events(server)
    assert not [e for e in events if e.get("level") == "error"], [
        e for e in events if e.get("level") == "error"
    ]
    assert "tuple concurrently updated" not in server.log_path.read_text(errors="replace")
    assert [e["event"] for e in events if e["event"] in ("store.unreachable", "store.reachable")] == [
        "store.unreachable",
        "store.reachable",
    ]


async def test_a_view_that_cannot_apply_an_event_says_so_and_reads_answer_503_not_404(
    servers: Servers, database_url: str, http: aiohttp.ClientSession
) -> None:
    server = await servers.start("node-stall", DRIFTSTACK_WARM_POOL_SIZE="0")
    key = await servers.new_key("api_starter", scopes="read,write,admin")
    other = Api(http, server.base, await servers.new_key("api_starter", scopes="read,write,admin"))
    api = Api(http, server.base, key)
    # The profiles view's table refuses one row, as a disk fault or an operator's change could.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE profiles ADD CONSTRAINT refuses_poison CHECK (doc->>'description' IS DISTINCT FROM 'poison')"
        )

    status, problem, headers = await answered(
        api, "POST", "/v1/profiles", {"name": "poisoned", "description": "poison"}
    )
    assert (status, problem["type"]) == (503, VIEW_LAGGING), problem
    assert problem["view"] == "profiles_view" and int(headers["Retry-After"]) > 0
    failing_at = problem["write_position"]

    status, report = await poll(lambda: _unhealthy(http, server), deadline_s=10, what="/healthz 503")
    view = report["views"]["profiles_view"]
    assert view["status"] == "failing", report
    assert view["failing_event"]["position"] == failing_at and view["position"] < failing_at
    assert report["store"]["head"] >= failing_at
    # The other views keep going, and so does every other account.
    status, session, _ = await answered(other, "POST", "/v1/sessions", {"label": "still served"})
    assert status == 201, session
    status, read, _ = await answered(other, "GET", f"/v1/sessions/{session['id']}")
    assert (status, read["label"]) == (200, "still served")
    _, log, _ = await answered(api, "GET", "/v1/audit-log?action=profile.created")
    assert [e["payload"]["name"] for e in log["data"]] == ["poisoned"]
    # One log line says which event, however often the view tries it again.
    await poll(lambda: _logged(server, "view.failing"), deadline_s=5, what="a view.failing log line")
    failing = [e for e in log_events(server) if e["event"] == "view.failing"]
    assert len(failing) == 1, failing
    assert (failing[0]["failing_event"], failing[0]["projection"]) == (failing_at, "profiles_view")

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE profiles DROP CONSTRAINT refuses_poison")
    await poll(lambda: _healthy(http, server), deadline_s=10, what="/healthz 200 once the view applies it")
    _, profiles, _ = await answered(api, "GET", "/v1/profiles")
    assert [p["description"] for p in profiles["data"]] == ["poison"]
    assert (await answered(other, "DELETE", f"/v1/sessions/{session['id']}"))[0] == 204


async def _unhealthy(http: aiohttp.ClientSession, server: ServerProcess) -> tuple[int, Any] | None:
    status, report = await health(http, server)
    return (status, report) if status == 503 else None


async def _healthy(http: aiohttp.ClientSession, server: ServerProcess) -> tuple[int, Any] | None:
    status, report = await health(http, server)
    return (status, report) if status == 200 else None


async def _succeeded(api: Api, method: str, path: str, body: Any) -> tuple[int, Any, Any] | None:
    status, answer, headers = await answered(api, method, path, body)
    if status < 300:
        return status, answer, headers
    assert status == 503, answer  # until then, an honest 503
    return None


async def _logged(server: ServerProcess, event: str) -> bool:
    return any(e["event"] == event for e in log_events(server))


async def test_waiting_for_a_session_a_stalled_view_cannot_show_answers_503_view_lagging_not_404(
    driftstack: Harness, database_url: str
) -> None:
    api = await driftstack.client()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE sessions ADD CONSTRAINT refuses_poison CHECK (doc->>'label' IS DISTINCT FROM 'poison')"
        )

    status, problem, headers = await answered(api, "POST", "/v1/sessions?wait=true", {"label": "poison"})
    assert (status, problem["type"], problem["view"]) == (503, VIEW_LAGGING, "sessions_view"), problem
    assert int(headers["Retry-After"]) > 0

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE sessions DROP CONSTRAINT refuses_poison")
    _, listed, _ = await poll(
        lambda: _succeeded(api, "GET", "/v1/sessions", None),
        deadline_s=10,
        what="the sessions view caught up",
    )
    [session] = listed["data"]
    assert (session["label"], session["status"]) == ("poison", "ready")
    assert (await answered(api, "DELETE", f"/v1/sessions/{session['id']}"))[0] == 204
