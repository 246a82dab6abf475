"""The concurrent-session cap (within one process and across processes) and the idle timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ..conftest import Api, Harness, StartDriftstack
from .servers import Servers, poll

CONCURRENCY_LIMIT = "https://driftstack.dev/problems/concurrency-limit"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def assert_concurrency_limit(status: int, body: Any, headers: Any) -> None:
    assert status == 429, body
    assert body["type"] == CONCURRENCY_LIMIT, body
    assert int(headers["Retry-After"]) > 0


async def destroy_all(api: Api, session_ids: list[str]) -> None:
    for sid in session_ids:
        status, body, _ = await api.delete(f"/v1/sessions/{sid}")
        assert status == 204, body


async def test_two_processes_racing_for_the_last_slot_admit_exactly_one(
    servers: Servers, http: aiohttp.ClientSession
) -> None:
    # One after the other, so they never race each other on CREATE TABLE.
    first = await servers.start("node-a")
    second = await servers.start("node-b")
    key = await servers.new_key("api_starter")  # cap 2
    on_first, on_second = Api(http, first.base, key), Api(http, second.base, key)
    held = await on_first.ready_session(label="holds one slot")

    for round_ in range(10):
        # Alternate which node is asked first: neither gets a head start every time.
        racers = (on_first, on_second) if round_ % 2 == 0 else (on_second, on_first)
        answers = await asyncio.gather(
            *(api.post("/v1/sessions", {"label": f"race {round_}"}) for api in racers)
        )
        winners = [
            (api, body) for api, (status, body, _) in zip(racers, answers, strict=True) if status == 201
        ]
        losers = [answer for answer in answers if answer[0] != 201]
        assert len(winners) == 1, answers
        assert len(losers) == 1, answers
        assert_concurrency_limit(*losers[0])
        assert losers[0][1]["limit"] == 2 and losers[0][1]["current"] == 2

        # The node that created the session holds its browser: destroy it there.
        api, created = winners[0]
        await destroy_all(api, [created["id"]])

    await destroy_all(on_first, [held["id"]])

    seen: list[tuple[str, str]] = []

    async def all_destroyed() -> bool:
        # The other node's view catches up with what this node wrote.
        _, listed, _ = await on_second.get("/v1/sessions?limit=100")
        seen[:] = [(s["id"], s["status"]) for s in listed["data"]]
        return [status for _, status in seen] == ["destroyed"] * 11

    try:
        await poll(all_destroyed, deadline_s=10, what="11 destroyed sessions seen from both nodes")
    except AssertionError as e:
        raise AssertionError(f"{e}; node-b lists {seen}") from None


async def test_concurrent_creates_on_one_server_admit_exactly_the_cap(driftstack: Harness) -> None:
    api = await driftstack.client(tier="api_builder")  # cap 5
    answers = await asyncio.gather(*(api.post("/v1/sessions", {"label": f"burst {i}"}) for i in range(12)))

    created = [body for status, body, _ in answers if status == 201]
    refused = [answer for answer in answers if answer[0] != 201]
    assert len(created) == 5, [a[:2] for a in answers]
    assert len(refused) == 7
    for answer in refused:
        assert_concurrency_limit(*answer)

    _, me, _ = await api.get("/v1/sessions?limit=100")
    assert {s["id"] for s in me["data"]} == {s["id"] for s in created}
    await destroy_all(api, [s["id"] for s in created])
    # Every slot is free again.
    assert (await api.post("/v1/sessions", {}))[0] == 201


async def test_a_session_still_creating_holds_its_slot(driftstack: Harness) -> None:
    api = await driftstack.client(tier="solo_manual")  # cap 1

    status, first, _ = await api.post("/v1/sessions", {})
    assert status == 201 and first["status"] == "creating"
    assert_concurrency_limit(*await api.post("/v1/sessions", {}))

    await destroy_all(api, [first["id"]])
    status, second, _ = await api.post("/v1/sessions?wait=true", {})
    assert status == 201 and second["status"] == "ready", second


async def test_an_idle_session_is_destroyed_and_frees_its_slot(start_driftstack: StartDriftstack) -> None:
    driftstack = await start_driftstack(idle_timeout_s=1)
    api = await driftstack.client(tier="solo_manual")  # cap 1
    sid = (await api.ready_session(label="left alone"))["id"]

    async def destroyed() -> dict[str, Any] | None:
        _, session, _ = await api.get(f"/v1/sessions/{sid}")
        return session if session["status"] == "destroyed" else None

    session = await poll(destroyed, deadline_s=15, what="the idle session destroyed")
    assert session["reason"] == "idle_timeout"
    assert session["destroyed_at"] is not None

    status, problem, _ = await api.post(f"/v1/sessions/{sid}/wait", {"kind": "duration", "duration_ms": 1})
    assert status == 408 and problem["type"].endswith("/session-timeout"), problem

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={sid}&action=session.destroyed")
    [entry] = log["data"]
    assert entry["payload"]["reason"] == "idle_timeout"
    assert entry["api_key_id"] is None, "no key destroyed it: the service did"

    status, replacement, _ = await api.post("/v1/sessions?wait=true", {})
    assert status == 201 and replacement["status"] == "ready", replacement
    await destroy_all(api, [replacement["id"]])


async def test_a_session_kept_busy_is_not_reaped(start_driftstack: StartDriftstack) -> None:
    driftstack = await start_driftstack(idle_timeout_s=1)
    api = await driftstack.client(tier="solo_manual")
    sid = (await api.ready_session(label="kept busy"))["id"]

    started = time.monotonic()
    while time.monotonic() - started < 3.0:
        status, body, _ = await api.post(f"/v1/sessions/{sid}/wait", {"kind": "duration", "duration_ms": 600})
        assert status == 200, body

    _, session, _ = await api.get(f"/v1/sessions/{sid}")
    assert session["status"] == "ready", session
    assert session["action_count"] >= 4
    await destroy_all(api, [sid])
