"""Lists, cursors, status filters and the busy status, as a client pages through them."""

from __future__ import annotations

import asyncio
from typing import Any

from ..conftest import BOTH_ENGINES, Api, Harness


async def _all_pages(api: Api, query: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = f"/v1/sessions?{query}" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = await api.get(path)
        assert status == 200, page
        seen.extend(page["data"])
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return seen
        cursor = page["next_cursor"]


async def test_lists_page_newest_first_without_gaps_or_repeats(driftstack: Harness) -> None:
    api = await driftstack.client(tier="api_scale")
    created = []
    for n in range(5):
        status, session, _ = await api.post("/v1/sessions", {"label": f"s{n}"})
        assert status == 201
        created.append(session["id"])
    await api.delete(f"/v1/sessions/{created[1]}")
    await api.delete(f"/v1/sessions/{created[3]}")

    listed = await _all_pages(api, "limit=2")
    assert [s["id"] for s in listed] == list(reversed(created))

    destroyed = await _all_pages(api, "limit=1&status=destroyed")
    assert [s["id"] for s in destroyed] == [created[3], created[1]]
    assert all(s["status"] == "destroyed" for s in destroyed)

    _, first, _ = await api.get("/v1/sessions")
    assert len(first["data"]) == 5 and first["has_more"] is False


async def test_another_accounts_sessions_never_appear_in_a_list(driftstack: Harness) -> None:
    mine, theirs = await driftstack.client(), await driftstack.client()
    await theirs.post("/v1/sessions", {})
    _, page, _ = await mine.get("/v1/sessions")
    assert page == {"data": [], "has_more": False, "next_cursor": None}


async def test_a_session_running_an_action_is_busy_and_ready_again_after(driftstack: Harness) -> None:
    api = await driftstack.client()
    sid = (await api.ready_session())["id"]
    waiting = asyncio.create_task(
        api.post(f"/v1/sessions/{sid}/wait", {"kind": "duration", "duration_ms": 1500})
    )
    statuses = set()
    for _ in range(40):
        _, session, _ = await api.get(f"/v1/sessions/{sid}")
        statuses.add(session["status"])
        if "busy" in statuses:
            break
        await asyncio.sleep(0.05)
    assert "busy" in statuses
    _, busy, _ = await api.get("/v1/sessions?status=busy")
    assert [s["id"] for s in busy["data"]] == [sid]
    status, _, _ = await waiting
    assert status == 200
    _, session, _ = await api.get(f"/v1/sessions/{sid}")
    assert session["status"] == "ready"
    _, ready, _ = await api.get("/v1/sessions?status=ready")
    assert [s["id"] for s in ready["data"]] == [sid]


@BOTH_ENGINES
async def test_a_casual_person_types_slower_than_a_power_user(driftstack: Harness, site: str) -> None:
    api = await driftstack.client(tier="api_builder")

    async def typing_ms(profile: str | None) -> int:
        body = {"behavioral_profile": profile} if profile else {}
        sid = (await api.ready_session(**body))["id"]
        assert (await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"}))[0] == 200
        status, typed, _ = await api.post(
            f"/v1/sessions/{sid}/interact", {"type": "type", "selector": "#name", "text": "0123456789"}
        )
        assert status == 200
        await api.delete(f"/v1/sessions/{sid}")
        return int(typed["duration_ms"])

    casual, power, machine = await typing_ms("casual"), await typing_ms("power_user"), await typing_ms(None)
    assert casual >= 10 * 120, "ten keystrokes at a casual pace take over a second"
    assert power < casual
    assert machine <= power
