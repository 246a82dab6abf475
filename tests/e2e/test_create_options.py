"""What a create may ask for beside the persona: a first page (`initial_url`) and a viewport of its own."""

from __future__ import annotations

import re

from ..conftest import BOTH_ENGINES, Api, Harness

pytestmark = BOTH_ENGINES


async def test_a_session_created_with_an_initial_url_and_a_viewport_is_there_when_ready(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    session = await api.ready_session(initial_url=f"{site}/form", viewport={"width": 600, "height": 500})
    assert (session["current_url"], session["title"], session["action_count"]) == (f"{site}/form", "Form", 1)
    sid = session["id"]
    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    assert state["viewport"] == {"width": 600, "height": 500}
    width = await _inner_width(api, sid, site)
    assert width == "600"
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={sid}&limit=10")
    first = next(e for e in reversed(log["data"]) if e["action"] == "session.navigated")
    assert first["payload"]["url"] == f"{site}/form"
    assert first["api_key_id"] == session["api_key_id"], "by the creating key"


async def _inner_width(api: Api, sid: str, site: str) -> str:
    await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/engine"})
    await api.post(f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#done"})
    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    assert "iPhone" in state["html"], "the persona's user agent stays"
    found = re.search(r"&quot;width&quot;:(\d+)|\"width\":(\d+)", state["html"])
    assert found is not None, state["html"]
    return found.group(1) or found.group(2)


async def test_an_initial_url_that_fails_leaves_the_session_ready_with_the_failure_on_record(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    session = await api.ready_session(initial_url="http://127.0.0.2:8123/")
    assert session["status"] == "ready"
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={session['id']}&action=session.action_failed")
    [failed] = log["data"]
    assert (failed["payload"]["action"], failed["payload"]["reason"]) == ("navigate", "egress_refused")


async def test_a_viewport_outside_its_bounds_is_refused_and_nothing_is_created(driftstack: Harness) -> None:
    api = await driftstack.client()
    for viewport in ({"width": 100, "height": 500}, {"width": 600, "height": 5000}, {"width": 600}):
        status, problem, _ = await api.post("/v1/sessions", {"viewport": viewport})
        assert status == 400 and problem["type"].endswith("/validation-failed"), problem
    assert (await api.get("/v1/sessions"))[1]["data"] == []
