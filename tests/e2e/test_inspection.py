"""What happened in a session, read after it ends and after a restart: its action log, navigation
history, counts and health (seed 003)."""

from __future__ import annotations

from typing import Any

from ..conftest import BOTH_ENGINES, Api, Harness, StartDriftstack
from .servers import poll

pytestmark = BOTH_ENGINES


async def run_a_short_session(api: Api, site: str) -> str:
    """Navigates, types, navigates, submits by a tap, fails a tap, reads the state, takes a screenshot;
    then ends the session."""
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    assert (await api.post(f"{path}/navigate", {"url": f"{site}/form"}))[0] == 200
    typing = {"type": "type", "selector": "#name", "text": "hunter2"}
    assert (await api.post(f"{path}/interact", typing))[0] == 200
    assert (await api.post(f"{path}/navigate", {"url": f"{site}/signup"}))[0] == 200
    assert (await api.post(f"{path}/interact", {"type": "tap", "selector": "#send"}))[0] == 200
    missing = {"type": "tap", "selector": "#missing", "timeout_ms": 500}
    assert (await api.post(f"{path}/interact", missing))[0] != 200
    assert (await api.get(f"{path}/state"))[0] == 200
    assert (await api.post(f"{path}/capture", {"kind": "screenshot"}))[0] == 200
    assert (await api.delete(path))[0] == 204
    return path


async def every(api: Api, path: str, limit: int = 2) -> tuple[list[dict[str, Any]], int]:
    """Every entry of an oldest-first list, page by page, and the total it reported."""
    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page, _ = await api.get(f"{path}?limit={limit}{cursor}")
        assert status == 200, page
        entries.extend(page["data"])
        if not page["has_more"]:
            return entries, page["total"]
        cursor = f"&cursor={page['next_cursor']}"


async def test_the_action_log_and_history_are_readable_after_the_session_ends_and_a_restart(
    driftstack: Harness, start_driftstack: StartDriftstack, site: str
) -> None:
    api = await driftstack.client()
    path = await run_a_short_session(api, site)

    actions, total = await every(api, f"{path}/actions")
    assert total == len(actions) == 7
    assert [(a["type"], a["success"]) for a in actions] == [
        ("navigate", True),
        ("interact", True),
        ("navigate", True),
        ("interact", True),
        ("interact", False),
        ("state", True),
        ("capture", True),
    ]
    navigate, typed, _, tapped, failed, _, captured = actions
    assert navigate["details"]["url"] == f"{site}/form" and navigate["details"]["http_status"] == 200
    assert typed["details"] == {"type": "type", "selector": "#name", "text_length": 7}
    assert "hunter2" not in str(actions), "typed text is never kept"
    assert failed["error"]["reason"] == "selector_not_found" and failed["error"]["message"]
    assert failed["details"]["selector"] == "#missing"
    assert captured["details"]["kind"] == "screenshot" and captured["details"]["byte_size"] > 0
    assert all(a["id"].startswith("act_") and a["duration_ms"] >= 0 for a in actions)
    assert [a["at"] for a in actions] == sorted(a["at"] for a in actions)

    navigations, total = await every(api, f"{path}/navigations", limit=1)
    assert total == 3
    welcome = f"{site}/welcome?who=ada"
    assert [(n["url"], n["title"], n["http_status"]) for n in navigations] == [
        (f"{site}/form", "Form", 200),
        (f"{site}/signup", "Sign up", 200),
        (welcome, "Welcome ada", None),
    ]
    assert [n["action_id"] for n in navigations] == [actions[0]["id"], actions[2]["id"], tapped["id"]], (
        "each navigation names the action that led there: a navigate, or the tap that submitted a form"
    )

    status, session, _ = await api.get(path)
    assert status == 200
    assert (session["action_count"], session["screenshot_count"]) == (7, 1)
    assert (session["current_url"], session["title"]) == (welcome, "Welcome ada")
    assert session["duration_ms"] > 0
    status, again, _ = await api.get(path)
    assert again["duration_ms"] == session["duration_ms"], "an ended session's duration stops running"

    restarted = await start_driftstack()
    same_key = restarted.api(api.key)
    assert await every(same_key, f"{path}/actions") == (actions, 7)
    assert (await every(same_key, f"{path}/navigations"))[0] == navigations


async def test_health_says_whether_the_browser_answers_and_ended_after_the_end(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    await api.post(f"{path}/navigate", {"url": f"{site}/form"})

    status, health, _ = await api.get(f"{path}/health")
    assert status == 200, health
    assert health["status"] == "healthy" and health["browser_responsive"] is True
    assert health["session_status"] == "ready"
    assert health["current_url"] == f"{site}/form"
    assert health["uptime_ms"] > 0

    await api.delete(path)
    status, health, _ = await api.get(f"{path}/health")
    assert status == 200, "an ended session answers, never 410"
    assert (health["status"], health["session_status"], health["browser_responsive"]) == (
        "ended",
        "destroyed",
        False,
    )


async def test_another_accounts_session_history_answers_like_a_missing_one(
    driftstack: Harness, site: str
) -> None:
    owner, stranger = await driftstack.client(), await driftstack.client()
    path = f"/v1/sessions/{(await owner.ready_session())['id']}"
    await owner.post(f"{path}/navigate", {"url": f"{site}/form"})
    missing = "/v1/sessions/ses_00000000-0000-4000-8000-000000000000"
    for read in ("actions", "navigations", "health", "network", "console", "egress", "artifacts"):
        theirs = await stranger.get(f"{path}/{read}")
        nobodys = await stranger.get(f"{missing}/{read}")
        assert theirs[0] == nobodys[0] == 404, read
        assert theirs[1]["type"] == nobodys[1]["type"], read


async def test_the_console_keeps_every_level_and_uncaught_errors_after_the_end_and_a_restart(
    driftstack: Harness, start_driftstack: StartDriftstack, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    assert (await api.post(f"{path}/navigate", {"url": f"{site}/noisy"}))[0] == 200
    waited = await api.post(f"{path}/wait", {"kind": "selector", "selector": "#done"})
    assert waited[0] == 200, (waited[1], (await api.get(f"{path}/console"))[1])

    status, page, _ = await api.get(f"{path}/console?limit=100")
    assert status == 200, page
    said = [(e["level"], e["message"]) for e in page["data"]]
    for expected in [
        ("log", "page loaded 42"),
        ("warn", "careful"),
        ("error", "something broke"),
        ("info", "missing answered 404"),
        ("info", "refused: rejected"),
    ]:
        assert expected in said, (expected, said)
    assert any(level == "error" and "boom" in message for level, message in said), said
    assert said.index(("log", "page loaded 42")) < said.index(("info", "missing answered 404"))
    logged = next(e for e in page["data"] if e["message"] == "page loaded 42")
    assert logged["url"] == f"{site}/noisy"

    status, errors, _ = await api.get(f"{path}/console?level=error&limit=100")
    assert status == 200 and errors["data"]
    assert {e["level"] for e in errors["data"]} == {"error"}

    first, _ = (await api.get(f"{path}/console?limit=2"))[1], None
    assert first["has_more"] and len(first["data"]) == 2
    rest = (await api.get(f"{path}/console?limit=100&cursor={first['next_cursor']}"))[1]
    assert first["data"] + rest["data"] == page["data"]

    await api.delete(path)
    restarted = await start_driftstack()
    status, after, _ = await restarted.api(api.key).get(f"{path}/console?limit=100")
    assert status == 200 and after["data"] == page["data"]

    status, problem, _ = await api.get(f"{path}/console?level=shout")
    assert status == 400 and problem["type"].endswith("validation-failed")


async def test_the_network_log_keeps_each_request_with_its_status_failure_and_refusal(
    driftstack: Harness, start_driftstack: StartDriftstack, site: str
) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    assert (await api.post(f"{path}/navigate", {"url": f"{site}/noisy"}))[0] == 200
    assert (await api.post(f"{path}/wait", {"kind": "selector", "selector": "#done"}))[0] == 200

    # The page saw its fetches settle; the engine reports each finished request a moment later.
    expected = {f"{site}/noisy", f"{site}/missing", "http://127.0.0.2:8080/refused"}

    async def all_reported() -> list[dict[str, Any]]:
        requests, _ = await every_of(api, f"{path}/network")
        return requests if expected <= {r["url"] for r in requests} else []

    requests = await poll(all_reported, what="every request of the page on record")
    by_url = {r["url"]: r for r in requests}
    page = by_url[f"{site}/noisy"]
    assert (page["method"], page["status"], page["resource_type"], page["failure"]) == (
        "GET",
        200,
        "document",
        None,
    )
    assert page["duration_ms"] is not None and page["byte_size"] and page["refused"] is False
    missing = by_url[f"{site}/missing"]
    assert (missing["status"], missing["failure"], missing["refused"]) == (404, None, False)
    refused = by_url["http://127.0.0.2:8080/refused"]
    assert refused["status"] is None and refused["failure"] and refused["refused"] is True

    status, only_404, _ = await api.get(f"{path}/network?status=404")
    assert status == 200 and [r["url"] for r in only_404["data"]] == [f"{site}/missing"]
    status, failed, _ = await api.get(f"{path}/network?failed=true")
    # WebKit asks again once when a connection closes without an answer: each attempt is on record.
    assert status == 200 and {r["url"] for r in failed["data"]} == {"http://127.0.0.2:8080/refused"}
    assert "hunter2" not in str(requests)

    await api.delete(path)
    restarted = await start_driftstack()
    assert (await every_of(restarted.api(api.key), f"{path}/network"))[0] == requests


async def every_of(api: Api, path: str) -> tuple[list[dict[str, Any]], None]:
    """Every entry of an oldest-first list without a total, two at a time."""
    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page, _ = await api.get(f"{path}?limit=2{cursor}")
        assert status == 200, page
        entries.extend(page["data"])
        if not page["has_more"]:
            return entries, None
        cursor = f"&cursor={page['next_cursor']}"
