"""The whole life of a session through the REST API, on a real browser."""

from __future__ import annotations

import asyncio
import base64

from ..conftest import BOTH_ENGINES, Harness

pytestmark = BOTH_ENGINES


async def test_a_session_goes_from_create_to_destroy_and_every_step_is_audited(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()

    status, created, _ = await api.post(
        "/v1/sessions", {"label": "login flow", "metadata": {"ticket": "SUP-42"}}
    )
    assert status == 201
    assert created["status"] == "creating"
    assert created["id"].startswith("ses_")
    assert created["archetype"] == "iphone16pro_ios18_7_safari26_4"
    assert created["purpose"] == "production_customer"
    assert created["last_state_at"] is None and created["destroyed_at"] is None
    sid = created["id"]

    for _ in range(100):
        _, session, _ = await api.get(f"/v1/sessions/{sid}")
        if session["status"] != "creating":
            break
        await asyncio.sleep(0.05)
    assert session["status"] == "ready"

    status, nav, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"})
    assert (status, nav["current_url"], nav["title"]) == (200, f"{site}/form", "Form")

    assert (await api.post(f"/v1/sessions/{sid}/interact", {"type": "tap", "selector": "#tap-me"}))[0] == 200
    status, _, _ = await api.post(
        f"/v1/sessions/{sid}/interact", {"type": "type", "selector": "#name", "text": "ada"}
    )
    assert status == 200
    status, _, _ = await api.post(
        f"/v1/sessions/{sid}/interact", {"type": "scroll", "direction": "down", "pixels": 600}
    )
    assert status == 200

    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    assert "tapped" in state["html"]
    assert state["url"] == f"{site}/form"
    assert state["viewport"]["width"] == 402

    status, _, _ = await api.post(
        f"/v1/sessions/{sid}/interact", {"type": "press", "key": "Enter", "selector": "#name"}
    )
    assert status == 200
    status, _, _ = await api.post(f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#result"})
    assert status == 200

    status, shot, _ = await api.post(f"/v1/sessions/{sid}/capture", {"kind": "screenshot"})
    assert status == 200 and shot["encoding"] == "base64"
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and shot["byte_size"] == len(png)
    _, pdf, _ = await api.post(f"/v1/sessions/{sid}/capture", {"kind": "pdf"})
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
    _, dom, _ = await api.post(f"/v1/sessions/{sid}/capture", {"kind": "dom_snapshot"})
    assert dom["encoding"] == "base64" and 'id="result"' in base64.b64decode(dom["data"]).decode()

    _, session, _ = await api.get(f"/v1/sessions/{sid}")
    assert session["current_url"] == f"{site}/submitted?name=ada"
    assert session["last_state_at"] is not None
    assert session["action_count"] == 10 and session["screenshot_count"] == 1

    assert (await api.delete(f"/v1/sessions/{sid}"))[0] == 204
    assert (await api.delete(f"/v1/sessions/{sid}"))[0] == 204
    _, session, _ = await api.get(f"/v1/sessions/{sid}")
    assert session["status"] == "destroyed" and session["destroyed_at"] is not None

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={sid}&limit=100")
    actions = [entry["action"] for entry in reversed(log["data"])]
    assert actions == [
        "session.created",
        "session.ready",
        "session.navigated",
        "session.interacted",
        "session.interacted",
        "session.interacted",
        "session.state_read",
        "session.interacted",
        "session.waited",
        "session.captured",
        "session.captured",
        "session.captured",
        "session.destroyed",
    ]
    typed = next(e for e in log["data"] if e["payload"].get("details", {}).get("type") == "type")
    assert typed["payload"]["details"]["text_length"] == 3
    assert "'ada'" not in str(log["data"]), "typed text never reaches the audit log"


async def test_an_action_answered_is_recorded_before_anything_after_it(
    driftstack: Harness, site: str
) -> None:
    # An action answers once the browser has done it; its event is stored just after. Whatever the
    # client does next (read it, destroy the session) must already find it stored, in order.
    api = await driftstack.client()
    for _ in range(3):
        sid = (await api.ready_session())["id"]
        await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"})
        await api.post(f"/v1/sessions/{sid}/interact", {"type": "tap", "selector": "#tap-me"})
        _, session, _ = await api.get(f"/v1/sessions/{sid}")
        assert session["action_count"] == 2, "a read right after an action sees it"
        await api.post(f"/v1/sessions/{sid}/capture", {"kind": "screenshot"})
        assert (await api.delete(f"/v1/sessions/{sid}"))[0] == 204
        _, log, _ = await api.get(f"/v1/audit-log?resource_id={sid}&limit=100")
        assert [entry["action"] for entry in reversed(log["data"])][-3:] == [
            "session.interacted",
            "session.captured",
            "session.destroyed",
        ]
