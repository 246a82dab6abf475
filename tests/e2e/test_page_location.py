"""A session says where its page really is, as `/state` does, and captures come as seed 001 says."""

from __future__ import annotations

import base64

from ..conftest import BOTH_ENGINES, Api, Harness
from .servers import poll

pytestmark = BOTH_ENGINES


async def where(api: Api, path: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(url, title) as the session shows them, then as `/state` reads them from the browser.

    The session first: reading `/state` records what it saw, which would make them agree.
    """
    status, session, _ = await api.get(path)
    assert status == 200, session
    status, state, _ = await api.get(f"{path}/state")
    assert status == 200, state
    return (session["current_url"], session["title"]), (state["url"], state["title"])


async def test_after_a_tap_submits_a_form_the_session_shows_the_page_it_led_to(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    await api.post(f"{path}/navigate", {"url": f"{site}/signup"})

    status, tapped, _ = await api.post(f"{path}/interact", {"type": "tap", "selector": "#send"})
    assert status == 200, tapped

    welcome = (f"{site}/welcome?who=ada", "Welcome ada")
    assert await where(api, path) == (welcome, welcome)


async def test_after_enter_submits_a_form_the_session_shows_the_page_it_led_to(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    await api.post(f"{path}/navigate", {"url": f"{site}/signup"})
    await api.post(f"{path}/interact", {"type": "tap", "selector": "#who"})

    status, pressed, _ = await api.post(f"{path}/interact", {"type": "press", "key": "Enter"})
    assert status == 200, pressed

    welcome = (f"{site}/welcome?who=ada", "Welcome ada")
    assert await where(api, path) == (welcome, welcome)


async def test_after_a_failed_navigation_the_session_is_at_the_url_that_failed_and_moves_on(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    await api.post(f"{path}/navigate", {"url": f"{site}/form"})

    status, _, _ = await api.post(f"{path}/navigate", {"url": "http://nonexistent.invalid/"})
    assert status == 502
    failed = ("http://nonexistent.invalid/", "")
    assert await where(api, path) == (failed, failed), "the browser's error page is for that URL"

    # A link to nowhere, tapped, lands on the same kind of page.
    await api.post(f"{path}/navigate", {"url": f"{site}/signup"})
    status, _, _ = await api.post(f"{path}/interact", {"type": "tap", "selector": "#nowhere"})
    assert status == 200
    assert await where(api, path) == (failed, failed)

    status, nav, _ = await api.post(f"{path}/navigate", {"url": f"{site}/form"})
    assert status == 200 and (nav["current_url"], nav["title"]) == (f"{site}/form", "Form")
    assert await where(api, path) == ((f"{site}/form", "Form"), (f"{site}/form", "Form"))


async def test_when_the_page_moves_by_itself_the_session_follows_it(driftstack: Harness, site: str) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    # The page sends itself on, 300 ms after it loaded: no action of the session takes it there.
    status, nav, _ = await api.post(f"{path}/navigate", {"url": f"{site}/redirecting"})
    assert status == 200, nav

    async def moved_on() -> dict | None:
        _, session, _ = await api.get(path)
        return session if session["title"] == "Submitted" else None

    session = await poll(moved_on, what="the session following the page's own redirect")
    assert session["current_url"] == f"{site}/submitted?name=auto"
    assert session["action_count"] == 1, "the page moved; the client did nothing"
    arrived = (f"{site}/submitted?name=auto", "Submitted")
    assert await where(api, path) == (arrived, arrived)


async def test_every_capture_kind_answers_base64_and_the_dom_snapshot_decodes_to_the_html(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    await api.post(f"{path}/navigate", {"url": f"{site}/form"})
    await api.post(f"{path}/interact", {"type": "tap", "selector": "#tap-me"})

    captured = {}
    for kind in ("screenshot", "pdf", "dom_snapshot"):
        status, capture, _ = await api.post(f"{path}/capture", {"kind": kind})
        assert status == 200, capture
        assert capture["encoding"] == "base64", capture
        captured[kind] = base64.b64decode(capture["data"], validate=True)
        assert capture["byte_size"] == len(captured[kind])

    assert captured["screenshot"].startswith(b"\x89PNG")
    assert captured["pdf"].startswith(b"%PDF")
    html = captured["dom_snapshot"].decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<title>Form</title>" in html
    assert '<h1 id="greeting">tapped</h1>' in html, "the DOM as it is now, not as it was served"
