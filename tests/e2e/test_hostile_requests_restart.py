"""Hostile requests change nothing that lasts: after a restart every view follows and other accounts are served."""

from __future__ import annotations

import aiohttp

from ..conftest import Api
from .servers import Servers
from .test_errors import HOSTILE_BODIES


async def test_after_hostile_requests_and_a_restart_every_view_follows_and_other_accounts_are_served(
    servers: Servers,
) -> None:
    async with aiohttp.ClientSession() as http:
        server = await servers.start("node-hostile", DRIFTSTACK_WARM_POOL_SIZE="0")
        hostile = Api(http, server.base, await servers.new_key("api_starter", scopes="read,write,admin"))
        for method, path, raw, _ in HOSTILE_BODIES:
            status, problem, _ = await hostile.call(method, path, raw=raw)
            assert status == 400, (raw[:60], problem)
        assert server.stop() == 0, server.log_tail()

        again = await servers.start("node-hostile-again", DRIFTSTACK_WARM_POOL_SIZE="0")
        async with http.get(again.base + "/healthz") as response:
            report = await response.json()
        assert response.status == 200, report
        assert {v["status"] for v in report["views"].values()} == {"following"}, report

        other = Api(http, again.base, await servers.new_key("api_starter", scopes="read,write,admin"))
        status, session, _ = await other.post("/v1/sessions", {"label": "after", "metadata": {"k": "v"}})
        assert status == 201, session
        assert (await other.get(f"/v1/sessions/{session['id']}"))[0] == 200
        status, page, _ = await other.get("/v1/sessions")
        assert status == 200 and [s["id"] for s in page["data"]] == [session["id"]], page
        status, profile, _ = await other.post("/v1/profiles", {"name": "after"})
        assert status == 200, profile
        assert (await other.get(f"/v1/profiles/{profile['id']}"))[0] == 200
