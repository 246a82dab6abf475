"""The WebSocket's `browser` client (seed 004) on both engines: a real session, every frame, recorded like
any session's actions; its concurrency slot; a dropped socket or a REST destroy ends it."""

from __future__ import annotations

import base64

from ..conftest import BOTH_ENGINES, Harness
from .socket_client import Site, connect, opened

pytestmark = BOTH_ENGINES

PNG = b"\x89PNG\r\n\x1a\n"


async def test_every_frame_drives_a_real_session_recorded_like_any_other(
    service: Harness, site: str, pages: tuple[Site, str], engine: str
) -> None:
    _, base = pages
    api = await service.client()
    socket, hello = await opened(service, api.key or "", client="browser", timeout="20s")
    assert hello["client"] == "browser"
    session_path = f"/v1/sessions/{hello['id']}"
    status, session, _ = await api.get(session_path)
    assert (status, session["status"], session["socket_client"], session["engine"]) == (
        200,
        "ready",
        "browser",
        engine,
    )

    landed = await socket.ask({"action": "goto", "url": f"{base}/moved"})
    assert landed["action"] == "goto", landed
    assert (landed["url"], landed["status_code"], landed["content_type"]) == (
        f"{base}/landing",
        200,
        "text/html",
    )
    assert [(r["url"], r["type"]) for r in landed["redirects"]] == [
        (f"{base}/moved", "permanent"),
        (f"{base}/moved-again", "temporary"),
    ]
    assert any(name.lower() == "x-landed" for name, _ in landed["headers"])
    assert b"landed" in base64.b64decode(landed["body"])

    await socket.ask({"action": "goto", "url": f"{site}/form"})
    assert await socket.ask({"action": "fill", "selector": "#name", "value": "ada"}) == {"action": "filled"}
    value = await socket.ask({"action": "evaluate", "script": "document.querySelector('#name').value"})
    assert value == {"action": "evaluated", "result": "ada"}
    structured = await socket.ask({"action": "evaluate", "script": "({a: [1, 2], b: null})"})
    assert structured["result"] == {"a": [1, 2], "b": None}
    content = await socket.ask({"action": "content"})
    assert b'id="name"' in base64.b64decode(content["content"])
    shot = await socket.ask({"action": "screenshot"})
    assert base64.b64decode(shot["screenshot"]).startswith(PNG)
    assert await socket.ask({"action": "click", "selector": "#tap-me"}) == {"action": "clicked"}

    threw = await socket.ask({"action": "evaluate", "script": "throw new Error('no')"})
    assert (threw["type"], threw["code"]) == ("error", 422), threw
    as_post = await socket.ask({"action": "goto", "url": f"{base}/echo", "method": "POST"})
    assert (as_post["type"], as_post["code"]) == ("error", 501), as_post

    assert await socket.ask({"action": "close"}) == {"action": "closed"}
    assert await socket.closed() is not None

    _, session, _ = await api.get(session_path)
    assert (session["status"], session["reason"]) == ("destroyed", "client_request")
    _, actions, _ = await api.get(f"{session_path}/actions?limit=100")
    assert [(a["type"], a["success"]) for a in actions["data"]] == [
        ("navigate", True),
        ("navigate", True),
        ("interact", True),
        ("evaluate", True),
        ("evaluate", True),
        ("state", True),
        ("capture", True),
        ("interact", True),
        ("evaluate", False),
    ], actions["data"]
    _, audit, _ = await api.get("/v1/audit-log?limit=100")
    actions_seen = {entry["action"] for entry in audit["data"]}
    assert {"session.created", "session.evaluated", "session.destroyed"} <= actions_seen


async def test_a_dropped_socket_ends_its_browser_session_and_frees_the_slot(service: Harness) -> None:
    api = await service.client(concurrency=1)
    socket, hello = await opened(service, api.key or "", client={"kind": "browser"})
    second = await connect(service, api.key or "")
    refused = await second.ask({"action": "open", "client": "browser"})
    assert (refused["type"], refused["code"]) == ("fatal", 429), refused
    await socket.close()
    # The slot comes back once the drop has ended the session.
    for _ in range(500):
        _, session, _ = await api.get(f"/v1/sessions/{hello['id']}")
        if session["status"] == "destroyed":
            break
    assert (session["status"], session["reason"]) == ("destroyed", "socket_closed")
    again, _ = await opened(service, api.key or "", client="browser")
    await again.close()


async def test_a_rest_destroy_ends_the_socket_with_a_fatal_frame(service: Harness) -> None:
    api = await service.client()
    socket, hello = await opened(service, api.key or "", client="browser", timeout="500ms")
    # An action past the open's timeout is an error frame; the socket stays usable.
    missing = await socket.ask({"action": "click", "selector": "#missing"})
    assert (missing["type"], missing["code"]) in (("error", 404), ("error", 408)), missing
    assert (await socket.ask({"action": "evaluate", "script": "1 + 1"}))["result"] == 2
    assert (await api.delete(f"/v1/sessions/{hello['id']}"))[0] == 204
    fatal = await socket.read()
    assert (fatal["type"], fatal["code"]) == ("fatal", 410), fatal
    assert await socket.closed() is not None


async def test_blocked_urls_stop_the_browsers_subresources_too(
    service: Harness, pages: tuple[Site, str]
) -> None:
    site, base = pages
    api = await service.client()
    socket, _ = await opened(
        service, api.key or "", client="browser", middleware=[{"kind": "block_urls", "pattern": "*/b.png"}]
    )
    landed = await socket.ask({"action": "goto", "url": f"{base}/gallery"})
    assert landed["status_code"] == 200, landed
    assert site.hits["a.png"] == 1 and site.hits["b.png"] == 0
    blocked = await socket.ask({"action": "goto", "url": f"{base}/b.png"})
    assert (blocked["type"], blocked["code"]) == ("error", 403), blocked
    assert site.hits["b.png"] == 0
    await socket.close()
