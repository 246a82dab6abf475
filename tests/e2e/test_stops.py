"""Stopping `driftstack serve` as a terminal does (a signal to its whole process group) loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ..conftest import Api
from .receivers import Receiver, an_endpoint
from .servers import ServerProcess, Servers, poll
from .test_profile_sessions import remembered_by, sign_in, signed_in_as
from .test_profiles import a_profile

WEBHOOKS = {
    "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE": "1",
    "DRIFTSTACK_WEBHOOK_POLL_S": "0.5",
    "DRIFTSTACK_WEBHOOK_RETRY_SCHEDULE_S": "0,1",
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def logged(server: ServerProcess, event: str) -> list[dict[str, Any]]:
    """The server's log entries named `event`."""
    entries = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == event:
            entries.append(entry)
    return entries


async def exit_code(server: ServerProcess, timeout: float = 60) -> int:
    return await asyncio.to_thread(server.process.wait, timeout)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_a_signal_to_the_process_group_destroys_sessions_keeps_the_login_and_delivers_before_exit(
    servers: Servers, http: aiohttp.ClientSession, receiver: Receiver, site: str, signum: int
) -> None:
    server = await servers.start("node-stopping", **WEBHOOKS)
    key = await servers.new_key("api_builder", scopes="read,write,admin")
    api = Api(http, server.base, key)
    await an_endpoint(api, receiver.url, ["session.completed", "session.failed"])
    profile = await a_profile(api, "signed-in")
    session = await api.ready_session(profile_id=profile["id"])
    await sign_in(api, session["id"], site, "ada")
    loose = await api.ready_session(label="without a profile")

    receiver.answers = [503]  # the first delivery fails: its retry, a second later, is in the drain
    os.killpg(server.process.pid, signum)  # what a terminal's Ctrl-C does: the whole group
    code = await exit_code(server)

    # Delivered while the service was still there: nothing arrives after it has exited.
    assert len(receiver.received) == 3, "two deliveries and one retry"
    completed = {r.payload["data"]["id"]: r.payload["data"] for r in receiver.of_type("session.completed")}
    assert set(completed) == {session["id"], loose["id"]}, server.log_tail()
    assert {(d["status"], d["reason"]) for d in completed.values()} == {("destroyed", "service_stopped")}
    assert receiver.of_type("session.failed") == []
    assert code == 0, server.log_tail()
    assert logged(server, "session.browser_crashed") == [], "the signal reached the browser"
    assert logged(server, "profile.state_not_read") == []
    assert not server.survivors()

    again = Api(http, (await servers.start("node-stopping", **WEBHOOKS)).base, key)
    for ended in (session, loose):
        _, seen, _ = await again.get(f"/v1/sessions/{ended['id']}")
        assert (seen["status"], seen["reason"]) == ("destroyed", "service_stopped"), seen
    assert await remembered_by(again, site, profile["id"]) == signed_in_as("ada")


async def test_a_second_ctrl_c_during_the_drain_exits_at_once_and_logs_what_it_skipped(
    servers: Servers, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    # A drain far longer than the test would wait: only the second signal can end it.
    server = await servers.start("node-impatient", DRIFTSTACK_STOP_DRAIN_S="600", **WEBHOOKS)
    api = Api(http, server.base, await servers.new_key("api_builder", scopes="read,write,admin"))
    await an_endpoint(api, receiver.url, ["session.completed"])
    session = await api.ready_session()

    held, release = asyncio.Event(), asyncio.Event()

    async def hold_it_open() -> web.StreamResponse:
        held.set()  # the stopping service is waiting for this answer
        await release.wait()
        return web.Response(status=200)

    receiver.answers = [hold_it_open]
    try:
        os.killpg(server.process.pid, signal.SIGINT)
        await asyncio.wait_for(held.wait(), 60)

        async def draining() -> list[dict[str, Any]]:
            return logged(server, "webhooks.draining")

        await poll(draining, deadline_s=30, what="the drain under way")
        os.killpg(server.process.pid, signal.SIGINT)
        code = await exit_code(server, timeout=30)
    finally:
        release.set()

    assert code == 128 + signal.SIGINT, server.log_tail()
    [stopped] = logged(server, "service.stopped_at_once")
    assert stopped["signal"] == "SIGINT"
    assert stopped["skipped"]["step"] == "delivering webhooks"
    assert stopped["skipped"]["webhooks_due"] == 1, stopped
    assert stopped["skipped"]["sessions_not_ended"] == [], "the session had ended before the drain"
    assert [r.payload["data"]["id"] for r in receiver.received] == [session["id"]]
    assert logged(server, "service.stopped") == []
