"""Webhooks survive a dispatcher's death: claimed rows are leased, and the lease runs out to another one."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ..conftest import Api
from .receivers import Receiver, an_endpoint, deliveries
from .servers import REPO, Servers, poll

# Short enough for a test to wait out, long enough that an attempt never outlives its lease.
WEBHOOKS = {
    "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE": "1",
    "DRIFTSTACK_WEBHOOK_TIMEOUT_S": "3",
    "DRIFTSTACK_WEBHOOK_LEASE_S": "8",
    "DRIFTSTACK_WEBHOOK_POLL_S": "0.5",
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def admin_key(servers: Servers) -> str:
    create = ["accounts", "create", "--name", f"acct-{os.urandom(3).hex()}", "--tier", "api_builder"]
    account = await asyncio.to_thread(servers.cli, *create)
    key = await asyncio.to_thread(
        servers.cli, "keys", "create", account["id"], "--scopes", "read,write,admin"
    )
    return str(key["key"])


async def test_a_dispatcher_killed_after_claiming_and_before_the_post_returns_loses_nothing(
    servers: Servers, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    first = await servers.start("webhooks-first", **WEBHOOKS)
    api = Api(http, first.base, await admin_key(servers))
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])

    held = asyncio.Event()

    async def hold_it_open() -> web.StreamResponse:
        held.set()  # the dispatcher claimed the row and is waiting for this answer
        await asyncio.sleep(30)
        return web.Response(status=200)

    receiver.answers = [hold_it_open]
    session = await api.ready_session(metadata={"ticket": "crash"})
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    await asyncio.wait_for(held.wait(), 30)
    first.crash()

    second = await servers.start("webhooks-second", **WEBHOOKS)
    await receiver.until(
        lambda: len(receiver.received) >= 2, deadline_s=60, what="the delivery after restart"
    )
    held_open, delivered = receiver.received[:2]
    assert delivered.headers["webhook-id"] == held_open.headers["webhook-id"]
    assert delivered.body == held_open.body
    payload = delivered.verified_with(endpoint["secret"])
    assert payload["data"]["id"] == session["id"] and payload["data"]["metadata"] == {"ticket": "crash"}

    on_second = Api(http, second.base, api.key)

    async def succeeded() -> list[dict[str, Any]] | None:
        rows = await deliveries(on_second, endpoint["id"])
        return rows if rows and rows[0]["status"] == "succeeded" else None

    [delivery] = await poll(succeeded, deadline_s=20)
    assert delivery["message_id"] == payload["id"]
    assert [a["response_status"] for a in delivery["attempts"]] == [200]


async def test_several_dispatchers_share_the_outbox_without_sending_a_claimed_row_twice(
    servers: Servers, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    one = await servers.start("webhooks-one", **WEBHOOKS)
    await servers.start("webhooks-two", **WEBHOOKS)
    alone = subprocess.Popen(
        [sys.executable, "-m", "driftstack.cli", "webhooks", "dispatch"],
        cwd=REPO,
        env=servers.env(DRIFTSTACK_NODE_ID="dispatcher-alone", **WEBHOOKS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        api = Api(http, one.base, await admin_key(servers))
        endpoints = [await an_endpoint(api, f"{receiver.url}/{n}", ["session.completed"]) for n in range(12)]
        session = await api.ready_session()
        assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204

        await receiver.until(lambda: len(receiver.received) >= 12, deadline_s=60)
        await asyncio.sleep(1.0)  # a double send would arrive within this
        assert len(receiver.received) == 12
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1, "one event, one id"
        for r in receiver.received:
            r.verified_with(endpoints[int(r.path.rsplit("/", 1)[1])]["secret"])
        assert sorted(r.path for r in receiver.received) == sorted(f"/hooks/{n}" for n in range(12))
    finally:
        alone.terminate()
        alone.wait(timeout=20)
    assert alone.returncode == 0


async def test_rebuilding_the_views_never_sends_a_webhook_again(
    servers: Servers, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    server = await servers.start("webhooks-rebuild", **WEBHOOKS)
    api = Api(http, server.base, await admin_key(servers))
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    before = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{before['id']}"))[0] == 204
    await receiver.until(lambda: receiver.received)
    assert server.stop() == 0

    await asyncio.to_thread(servers.cli, "views", "rebuild")
    server = await servers.start("webhooks-rebuild", **WEBHOOKS)
    api = Api(http, server.base, api.key)
    _, replayed, _ = await api.get(f"/v1/sessions/{before['id']}")
    assert replayed["status"] == "destroyed", "the views were rebuilt from the events"
    after = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{after['id']}"))[0] == 204

    # The outbox delivers in order of due time: a re-sent first message would arrive before the second.
    await receiver.until(lambda: len(receiver.received) >= 2)
    assert [r.verified_with(endpoint["secret"])["data"]["id"] for r in receiver.received] == [
        before["id"],
        after["id"],
    ]
