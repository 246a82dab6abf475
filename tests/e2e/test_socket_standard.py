"""The WebSocket's `standard` client (seed 004): HTTP fetches through the egress with its own cookie jar,
redirects, retries, timeout, `goto` fields and middleware; every frame's action on record."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from ..conftest import Harness, StartDriftstack
from .socket_client import Site, connect, opened
from .upstream_proxies import upstream_proxy


def decoded(frame: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(frame["body"]))


async def test_goto_follows_redirects_records_each_hop_and_keeps_the_cookies(
    service: Harness, pages: tuple[Site, str]
) -> None:
    _, base = pages
    api = await service.client()
    socket, hello = await opened(service, api.key or "")
    assert hello["client"] == "standard" and hello["id"] == f"ses_{hello['session_id']}"

    landed = await socket.ask({"action": "goto", "url": f"{base}/moved"})
    assert landed["action"] == "goto"
    assert landed["url"] == f"{base}/landing" and landed["status_code"] == 200
    assert landed["redirects"] == [
        {"url": f"{base}/moved", "location": f"{base}/moved-again", "side": "server", "type": "permanent"},
        {"url": f"{base}/moved-again", "location": f"{base}/landing", "side": "server", "type": "temporary"},
    ]
    assert ["X-Landed", "yes"] in landed["headers"]
    assert landed["content_type"] == "text/html"
    assert b"landed" in base64.b64decode(landed["body"])
    [cookie] = landed["cookies"]
    assert (cookie["name"], cookie["value"], cookie["http_only"], cookie["same_site"]) == (
        "visit",
        "1",
        True,
        "Lax",
    )

    # The jar sends it back, beside the frame's own cookies, headers, agent and referrer.
    echo = await socket.ask(
        {
            "action": "goto",
            "url": f"{base}/echo",
            "method": "POST",
            "body": base64.b64encode(b"hello").decode(),
            "headers": [["X-Mine", "1"]],
            "cookies": [{"name": "extra", "value": "2"}],
            "user_agent": "firefox",
            "referrer": "https://example.com/from",
        }
    )
    seen = decoded(echo)
    assert seen["method"] == "POST" and seen["body"] == "hello"
    assert seen["cookies"] == {"visit": "1", "extra": "2"}
    assert seen["headers"]["X-Mine"] == "1"
    assert "Firefox/" in seen["headers"]["User-Agent"]
    assert seen["headers"]["Referer"] == "https://example.com/from"

    content = await socket.ask({"action": "content"})
    assert json.loads(base64.b64decode(content["content"])) == seen

    assert await socket.ask({"action": "close"}) == {"action": "closed"}
    assert await socket.closed() is not None

    status, session, _ = await api.get(f"/v1/sessions/{hello['id']}")
    assert status == 200, session
    assert (session["status"], session["reason"], session["socket_client"]) == (
        "destroyed",
        "client_request",
        "standard",
    )
    status, actions, _ = await api.get(f"/v1/sessions/{hello['id']}/actions")
    assert [(a["type"], a["success"]) for a in actions["data"]] == [
        ("navigate", True),
        ("navigate", True),
        ("state", True),
    ]
    assert actions["data"][0]["details"]["http_status"] == 200


async def test_the_inndx_agent_is_the_default_and_middleware_sets_and_removes_headers(
    service: Harness, pages: tuple[Site, str]
) -> None:
    _, base = pages
    api = await service.client()
    middleware = [
        {"kind": "set_header", "name": "X-Team", "value": "blue"},
        {"kind": "remove_header", "name": "Accept-Encoding"},
    ]
    socket, _ = await opened(service, api.key or "", middleware=middleware)
    seen = decoded(await socket.ask({"action": "goto", "url": f"{base}/echo"}))
    assert "inndx/" in seen["headers"]["User-Agent"]
    assert seen["headers"]["X-Team"] == "blue"
    assert "Accept-Encoding" not in seen["headers"]
    await socket.close()


async def test_retries_ride_out_503s_and_give_up_past_max_retries(
    service: Harness, pages: tuple[Site, str]
) -> None:
    site, base = pages
    api = await service.client()
    socket, _ = await opened(service, api.key or "", max_retries=2)
    served = await socket.ask({"action": "goto", "url": f"{base}/flaky?key=a&fail=2"})
    assert served["status_code"] == 200 and site.hits["a"] == 3
    # Past the retries the last answer is the answer: a 503 is a response, not an error.
    gave_up = await socket.ask({"action": "goto", "url": f"{base}/flaky?key=b&fail=5"})
    assert gave_up["status_code"] == 503 and site.hits["b"] == 3
    await socket.close()


async def test_response_middleware_and_blocked_urls_answer_error_frames_and_the_socket_stays_usable(
    service: Harness, pages: tuple[Site, str]
) -> None:
    _, base = pages
    api = await service.client()
    middleware = [
        {"kind": "require_status", "min": 200, "max": 299},
        {"kind": "block_urls", "pattern": "*/moved-again"},
    ]
    socket, _ = await opened(service, api.key or "", middleware=middleware)
    refused = await socket.ask({"action": "goto", "url": f"{base}/status/404"})
    assert (refused["type"], refused["code"]) == ("error", 417)
    blocked = await socket.ask({"action": "goto", "url": f"{base}/moved"})
    assert (blocked["type"], blocked["code"]) == ("error", 403)
    assert "moved-again" in blocked["message"]
    fine = await socket.ask({"action": "goto", "url": f"{base}/landing"})
    assert fine["status_code"] == 200
    await socket.close()


async def test_too_many_redirects_and_the_timeout_are_error_frames(
    service: Harness, pages: tuple[Site, str]
) -> None:
    _, base = pages
    api = await service.client()
    socket, _ = await opened(service, api.key or "", max_redirects=1)
    too_many = await socket.ask({"action": "goto", "url": f"{base}/moved"})
    assert (too_many["type"], too_many["code"]) == ("error", 502)
    assert "redirect" in too_many["message"]
    await socket.close()


async def test_a_private_address_is_refused_by_the_egress(service: Harness) -> None:
    api = await service.client()
    socket, _ = await opened(service, api.key or "")
    refused = await socket.ask({"action": "goto", "url": "http://127.0.0.1:9/"})
    assert (refused["type"], refused["code"]) == ("error", 403), refused
    await socket.close()


async def test_the_standard_client_has_no_page_to_click(service: Harness, pages: tuple[Site, str]) -> None:
    api = await service.client()
    socket, hello = await opened(service, api.key or "")
    for frame in (
        {"action": "click", "selector": "#a"},
        {"action": "fill", "selector": "#a", "value": "x"},
        {"action": "evaluate", "script": "1"},
        {"action": "screenshot"},
    ):
        answer = await socket.ask(frame)
        assert (answer["type"], answer["code"]) == ("error", 501), answer
    _, actions, _ = await api.get(f"/v1/sessions/{hello['id']}/actions")
    assert [(a["type"], a["success"], a["error"]["reason"]) for a in actions["data"]] == [
        ("interact", False, "unsupported"),
        ("interact", False, "unsupported"),
        ("evaluate", False, "unsupported"),
        ("capture", False, "unsupported"),
    ]
    # Its session has no browser for REST to drive; it is healthy while its socket is open.
    status, problem, _ = await api.post(
        f"/v1/sessions/{hello['id']}/navigate", {"url": "https://example.com"}
    )
    assert status == 409, problem
    _, health, _ = await api.get(f"/v1/sessions/{hello['id']}/health")
    assert (health["status"], health["browser_responsive"]) == ("healthy", False)
    await socket.close()


async def test_a_dropped_socket_ends_its_session(service: Harness) -> None:
    api = await service.client()
    socket = await connect(service, api.key or "")
    hello = await socket.ask({})  # seed 004's open: every field left to its default
    await socket.close()
    for _ in range(200):
        _, session, _ = await api.get(f"/v1/sessions/{hello['id']}")
        if session["status"] == "destroyed":
            break
    assert (session["status"], session["reason"]) == ("destroyed", "socket_closed")


async def test_named_proxies_carry_the_fetches_and_rotate_across_retries(
    start_driftstack: StartDriftstack, site: str, pages: tuple[Site, str]
) -> None:
    _, base = pages
    port = int(base.rsplit(":", 1)[1])
    async with upstream_proxy("http") as one, upstream_proxy("socks5") as two:
        service = await start_driftstack(
            egress_allow=(base.removeprefix("http://"), f"127.0.0.1:{one.port}", f"127.0.0.1:{two.port}"),
            proxies=json.dumps({"one": one.url, "two": two.url}),
        )
        api = await service.client()
        socket, hello = await opened(service, api.key or "", proxies=["one", "two"], max_retries=1)
        # The first try goes through `one` and gets a 503; the retry goes through `two`.
        served = await socket.ask({"action": "goto", "url": f"{base}/flaky?key=p&fail=1"})
        assert served["status_code"] == 200, served
        assert one.saw(port) and two.saw(port)
        _, egress, _ = await api.get(f"/v1/sessions/{hello['id']}/egress")
        assert {e["upstream"] for e in egress["data"]} == {"one", "two"}
        await socket.close()

        unknown = await connect(service, api.key or "")
        fatal = await unknown.ask({"proxies": ["nowhere"]})
        assert (fatal["type"], fatal["code"]) == ("fatal", 400) and "one" in fatal["message"]
        assert "s3cret" not in json.dumps(fatal)


async def test_standard_sockets_take_no_concurrency_slot(service: Harness) -> None:
    api = await service.client(concurrency=1)
    first, _ = await opened(service, api.key or "")
    second, _ = await opened(service, api.key or "")
    session = await api.ready_session()  # the account's one slot is still free for a browser
    assert session["socket_client"] is None
    await first.close()
    await second.close()


async def test_sockets_acting_at_once_have_every_action_recorded_in_order(
    service: Harness, pages: tuple[Site, str]
) -> None:
    """Their events are stored together when they come at the same moment (a group commit): none lost,
    none out of its session's order."""
    _, base = pages
    api = await service.client()

    async def one(n: int) -> str:
        socket, hello = await opened(service, api.key or "")
        for i in range(6):
            answer = await socket.ask({"action": "goto", "url": f"{base}/echo?socket={n}&step={i}"})
            assert answer["status_code"] == 200, answer
        await socket.ask({"action": "close"})
        return str(hello["id"])

    ids = await asyncio.gather(*(one(n) for n in range(8)))
    for n, session_id in enumerate(ids):
        _, actions, _ = await api.get(f"/v1/sessions/{session_id}/actions?limit=100")
        urls = [a["details"]["url"] for a in actions["data"]]
        assert urls == [f"{base}/echo?socket={n}&step={i}" for i in range(6)], urls
