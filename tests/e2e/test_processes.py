"""`serve` keeps the views in a projector process of its own: reads wait for their writes across the two
processes, a projector that dies is started again, and none outlives the service that started it."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
import psutil

from ..conftest import Api
from .servers import ServerProcess, Servers, poll


def projectors(server: ServerProcess) -> list[psutil.Process]:
    """The `driftstack project` children of this server."""
    try:
        children = psutil.Process(server.process.pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "project" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue  # gone (or a zombie) meanwhile
    return found


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
    [projector] = projectors(server)
    key = await servers.new_key("api_scale", scopes="read,write,admin")
    async with aiohttp.ClientSession() as http:
        api = Api(http, server.base, key)
        await a_write_read_back(api)
        status, health, _ = await api.get("/healthz")
        assert status == 200 and all(v["status"] == "following" for v in health["views"].values()), health

        projector.send_signal(signal.SIGKILL)

        async def replaced() -> list[psutil.Process]:
            return [p for p in projectors(server) if p.pid != projector.pid]

        [restarted] = await poll(replaced, what="a new projector")
        await a_write_read_back(api)

    # The service killed alone (not its group): its projector notices and ends by itself.
    os.kill(server.process.pid, signal.SIGKILL)
    await asyncio.to_thread(server.process.wait, 10)

    async def ended() -> bool:
        return not running(restarted)

    await poll(ended, what="the projector to end with its service")


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
