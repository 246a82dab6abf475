"""`serve` runs its background work in processes of its own, a projector (the views) and a webhook
dispatcher: reads wait for their writes across processes, webhooks go out from the dispatcher, a child that
dies is started again, and none outlives the service that started it."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
import psutil

from ..conftest import Api
from .receivers import Receiver, an_endpoint
from .servers import ServerProcess, Servers, poll

PROJECTOR = ("project",)
DISPATCHER = ("webhooks", "dispatch")
WEBHOOKS = {"DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE": "1", "DRIFTSTACK_WEBHOOK_POLL_S": "0.5"}


def supervised(server: ServerProcess, command: tuple[str, ...]) -> list[psutil.Process]:
    """The `driftstack <command>` children of this server."""
    try:
        children = psutil.Process(server.process.pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE and tuple(child.cmdline()[-len(command) :]) == command:
                found.append(child)
        except psutil.Error:
            continue  # gone (or a zombie) meanwhile
    return found


async def restarted(
    server: ServerProcess, command: tuple[str, ...], killed: psutil.Process
) -> psutil.Process:
    """The child started in place of `killed`."""

    async def replaced() -> list[psutil.Process]:
        return [p for p in supervised(server, command) if p.pid != killed.pid]

    [child] = await poll(replaced, what=f"a new {' '.join(command)}")
    return child


async def ends_with_its_service(server: ServerProcess, child: psutil.Process) -> None:
    """The service killed alone (not its group): the child notices and ends by itself."""
    os.kill(server.process.pid, signal.SIGKILL)
    await asyncio.to_thread(server.process.wait, 10)

    async def ended() -> bool:
        return not running(child)

    await poll(ended, what=f"child {child.pid} to end with its service")


async def a_write_read_back(api: Api) -> None:
    """A profile created is read back at once: the read waits for the projector to hold the write."""
    status, created, _ = await api.post("/v1/profiles", {"name": f"p-{os.urandom(3).hex()}"})
    assert status == 200, created  # seed 002: a profile's create answers 200
    status, read, _ = await api.get(f"/v1/profiles/{created['id']}")
    assert status == 200 and read["name"] == created["name"], read


async def test_the_views_live_in_a_projector_process_that_is_restarted_and_ends_with_the_service(
    servers: Servers,
) -> None:
    server = await servers.start("node-a")
    [projector] = supervised(server, PROJECTOR)
    key = await servers.new_key("api_scale", scopes="read,write,admin")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.base, key)
        await a_write_read_back(api)
        status, health, _ = await api.get("/healthz")
        assert status == 200 and all(v["status"] == "following" for v in health["views"].values()), health

        projector.send_signal(signal.SIGKILL)
        again = await restarted(server, PROJECTOR, projector)
        await a_write_read_back(api)

    await ends_with_its_service(server, again)


async def a_webhook_delivered(api: Api, receiver: Receiver) -> None:
    """A session destroyed: its session.completed reaches the receiver."""
    session = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    await receiver.until(
        lambda: [
            r for r in receiver.of_type("session.completed") if r.payload["data"]["id"] == session["id"]
        ],
        what=f"session.completed of {session['id']}",
    )


async def test_webhooks_go_out_from_a_dispatcher_process_that_is_restarted_and_ends_with_the_service(
    servers: Servers, receiver: Receiver
) -> None:
    server = await servers.start("node-b", **WEBHOOKS)
    [dispatcher] = supervised(server, DISPATCHER)
    assert len(supervised(server, PROJECTOR)) == 1, "beside the projector"
    key = await servers.new_key("api_builder", scopes="read,write,admin")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.base, key)
        await an_endpoint(api, receiver.url, ["session.completed"])
        await a_webhook_delivered(api, receiver)

        dispatcher.send_signal(signal.SIGKILL)
        again = await restarted(server, DISPATCHER, dispatcher)
        await a_webhook_delivered(api, receiver)

    await ends_with_its_service(server, again)


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
