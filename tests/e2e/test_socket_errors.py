"""What the WebSocket refuses, and how: the upgrade without a valid key (problem+json), another account's
`X-Tenant-Id`, bad frames (an `error`, the socket stays usable), a bad `open` (`fatal`), the bounds."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
import websockets

from ..conftest import Harness
from .socket_client import connect, headers, opened, ws_url


async def test_an_upgrade_without_a_valid_key_is_refused_with_401_problem_json(driftstack: Harness) -> None:
    for key in (None, "ds_live_not_a_key"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await driftstack.http.ws_connect(ws_url(driftstack), headers=headers(key))
        assert refused.value.status == 401
    # What a client that reads the refusal sees: problem+json, before any frame.
    async with driftstack.http.get(
        ws_url(driftstack).replace("ws://", "http://"),
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    ) as response:
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert (await response.json())["status"] == 401


async def test_a_read_only_key_cannot_open_a_socket(driftstack: Harness) -> None:
    api = await driftstack.client(scopes="read")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(driftstack, api.key or "")
    assert refused.value.status == 403


async def test_x_tenant_id_of_another_account_is_refused_and_ones_own_is_taken(driftstack: Harness) -> None:
    mine = await driftstack.account()
    theirs = await driftstack.account()
    key = await driftstack.key(mine)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(driftstack, key, tenant=theirs)
    assert refused.value.status == 403
    socket = await connect(driftstack, key, tenant=mine)
    hello = await socket.ask({"action": "open"})
    status, session, _ = await driftstack.api(key).get(f"/v1/sessions/{hello['id']}")
    assert status == 200 and session["account_id"] == mine
    await socket.close()


async def test_frames_before_open_and_bad_frames_answer_errors_and_the_socket_stays_usable(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    socket = await connect(driftstack, api.key or "")
    early = await socket.ask({"action": "content"})
    assert (early["type"], early["code"]) == ("error", 400) and "open" in early["message"]
    assert (await socket.ask({"action": "open"}))["action"] == "open"

    bad = [
        "not json",
        "[1, 2]",
        json.dumps({"action": "dance"}),
        json.dumps({"action": "goto"}),
        json.dumps({"action": "goto", "url": "ftp://example.com"}),
        json.dumps({"action": "goto", "url": "https://example.com", "method": "BREW"}),
        json.dumps({"action": "fill", "selector": "#a"}),
        json.dumps({"action": "open"}),
        "[" * 100 + "]" * 100,
    ]
    for frame in bad:
        answer = await socket.ask(frame)
        assert (answer["type"], answer["code"]) == ("error", 400), (frame, answer)
        assert answer["message"]
    await socket.ws.send_bytes(b"\x00\x01")
    binary = await socket.read()
    assert (binary["type"], binary["code"]) == ("error", 400)
    too_big = await socket.ask(json.dumps({"action": "evaluate", "script": "x" * (4 * 1024 * 1024 + 1)}))
    assert (too_big["type"], too_big["code"]) == ("error", 413)
    # Still usable.
    assert (await socket.ask({"action": "content"}))["action"] == "content"
    await socket.close()


@pytest.mark.parametrize(
    "open_frame",
    [
        {"timeout": "soon"},
        {"timeout": "10d"},
        {"client": "firefox"},
        {"client": {"kind": "standard", "engine": "webkit"}},
        {"middleware": [{"kind": "rewrite_body"}]},
        {"middleware": [{"kind": "require_status", "min": 300, "max": 200}]},
        {"proxies": ["nowhere"]},
        {"max_redirects": -1},
        {"max_retries": "3"},
        {"surprise": True},
    ],
)
async def test_an_invalid_open_answers_fatal_and_closes(
    driftstack: Harness, open_frame: dict[str, object]
) -> None:
    api = await driftstack.client()
    socket = await connect(driftstack, api.key or "")
    fatal = await socket.ask({"action": "open", **open_frame})
    assert (fatal["type"], fatal["code"]) == ("fatal", 400), fatal
    assert await socket.closed() is not None
    _, sessions, _ = await api.get("/v1/sessions")
    assert sessions["data"] == []  # nothing was opened


async def test_the_per_account_socket_bound_answers_429_at_open(start_driftstack: object) -> None:
    service: Harness = await start_driftstack(ws_sockets_per_account=1)  # type: ignore[operator]
    api = await service.client()
    first, _ = await opened(service, api.key or "")
    second = await connect(service, api.key or "")
    refused = await second.ask({"action": "open"})
    assert (refused["type"], refused["code"]) == ("fatal", 429)
    await first.close()


async def test_a_revoked_key_ends_the_socket_with_a_fatal_401(start_driftstack: object) -> None:
    import driftstack.http.socket as socket_module

    service: Harness = await start_driftstack()  # type: ignore[operator]
    account = await service.account()
    issued, key, _ = await asyncio.to_thread(service.application.issue_key, account, ["read", "write"])
    socket, _ = await opened(service, key)
    await asyncio.to_thread(service.application.revoke_key, f"key_{issued.id}")
    recheck, socket_module.AUTH_RECHECK_S = socket_module.AUTH_RECHECK_S, 0.0
    try:
        # The revocation reaches the keys' view a moment after it is stored: the first frame after it fails.
        for _ in range(500):
            fatal = await socket.ask({"action": "content"})
            if "type" in fatal:
                break
    finally:
        socket_module.AUTH_RECHECK_S = recheck
    assert (fatal["type"], fatal["code"]) == ("fatal", 401), fatal
    assert await socket.closed() is not None


async def test_an_independent_client_speaks_the_protocol(driftstack: Harness) -> None:
    """The `websockets` library, not aiohttp: headers on the upgrade, JSON frames, ping, close."""
    api = await driftstack.client()
    async with websockets.connect(ws_url(driftstack), additional_headers=headers(api.key)) as ws:
        await ws.send(json.dumps({"proxies": [], "timeout": "30s"}))  # seed 004's own example
        hello = json.loads(await ws.recv())
        assert hello["action"] == "open" and hello["client"] == "standard"
        pong = await ws.ping()
        await asyncio.wait_for(pong, 10)
        await ws.send(json.dumps({"action": "close"}))
        assert json.loads(await ws.recv()) == {"action": "closed"}
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()


async def test_an_idle_socket_times_out_with_a_fatal_408(start_driftstack: object) -> None:
    service: Harness = await start_driftstack(idle_timeout_s=0.5)  # type: ignore[operator]
    api = await service.client()
    socket, hello = await opened(service, api.key or "")
    fatal = await socket.read()
    assert (fatal["type"], fatal["code"]) == ("fatal", 408), fatal
    assert await socket.closed() is not None
    _, session, _ = await api.get(f"/v1/sessions/{hello['id']}")
    assert (session["status"], session["reason"]) == ("destroyed", "idle_timeout")


async def test_a_stop_of_the_service_ends_each_socket_with_a_fatal_503(driftstack: Harness) -> None:
    api = await driftstack.client()
    socket, hello = await opened(driftstack, api.key or "")
    await driftstack.web_app.shutdown()  # what a SIGTERM runs first
    fatal = await socket.read()
    assert (fatal["type"], fatal["code"]) == ("fatal", 503), fatal
    assert await socket.closed() is not None
    _, session, _ = await api.get(f"/v1/sessions/{hello['id']}")
    assert (session["status"], session["reason"]) == ("destroyed", "service_stopped")
