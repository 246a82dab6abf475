"""Sessions bound to profiles, on a real browser: the login carries over, and one profile runs one session."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psycopg
import pytest

from ..conftest import BOTH_ENGINES, Api, Harness, StartDriftstack
from .servers import Servers, poll
from .test_errors import assert_invalid, assert_problem
from .test_profiles import ADMIN, OLDER, a_profile
from .test_recovery import kill_our_browsers, status_of

NOTHING = {"cookie": "none", "local": "none", "idb": "none"}


def signed_in_as(user: str) -> dict[str, str]:
    return {"cookie": f"sess-{user}", "local": f"tok-{user}", "idb": f"prefs-{user}"}


async def sign_in(api: Api, sid: str, site: str, user: str) -> None:
    """Signs in on the test site: a server cookie, a localStorage token and an IndexedDB record."""
    status, nav, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/login?user={user}"})
    assert status == 200, nav
    status, waited, _ = await api.post(f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#saved"})
    assert status == 200, waited


async def remembered_in(api: Api, sid: str, site: str) -> dict[str, str]:
    """What the site finds in this session's browser: cookie, localStorage and IndexedDB."""
    assert (await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/whoami"}))[0] == 200
    assert (await api.post(f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#done"}))[0] == 200
    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    return {
        part: re.search(rf'<p id="{part}">([^<]*)</p>', state["html"]).group(1)  # type: ignore[union-attr]
        for part in ("cookie", "local", "idb")
    }


async def remembered_by(api: Api, site: str, profile_id: str | None) -> dict[str, str]:
    """A fresh session (on the profile, if any) and what it remembers; the session is destroyed after."""
    session = await api.ready_session(**({"profile_id": profile_id} if profile_id else {}))
    try:
        return await remembered_in(api, session["id"], site)
    finally:
        assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204


async def a_login_on(api: Api, site: str, profile_id: str, user: str) -> str:
    session = await api.ready_session(profile_id=profile_id)
    await sign_in(api, session["id"], site, user)
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    return str(session["id"])


async def audit(api: Api, resource_id: str, action: str | None = None) -> list[dict[str, Any]]:
    query = f"resource_id={resource_id}&limit=100" + (f"&action={action}" if action else "")
    _, log, _ = await api.get(f"/v1/audit-log?{query}")
    return list(reversed(log["data"]))


@BOTH_ENGINES
async def test_a_login_in_one_session_is_there_in_the_next_session_on_the_same_profile(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "production")

    first = await api.ready_session(profile_id=profile["id"])
    assert first["profile_id"] == profile["id"]
    assert await remembered_in(api, first["id"], site) == NOTHING, "a new profile starts empty"
    await sign_in(api, first["id"], site, "ada")
    assert (await api.delete(f"/v1/sessions/{first['id']}"))[0] == 204

    assert await remembered_by(api, site, profile["id"]) == signed_in_as("ada")
    assert await remembered_by(api, site, None) == NOTHING, "a session without the profile knows nothing"

    _, used, _ = await api.get(f"/v1/profiles/{profile['id']}")
    assert used["last_used_at"] is not None and used["last_used_at"] >= first["created_at"]
    saved = await audit(api, profile["id"], "profile.state_saved")
    assert saved[0]["payload"]["session_id"] == first["id"]
    assert all(e["payload"]["byte_size"] > 0 and "state" not in e["payload"] for e in saved)


@BOTH_ENGINES
async def test_a_restored_snapshot_carries_the_login_a_clone_starts_fresh_and_a_snapshot_outlives_its_profile(
    driftstack: Harness, site: str, database_url: str
) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "production")
    await a_login_on(api, site, profile["id"], "ada")
    snap = (await api.post(f"/v1/profiles/{profile['id']}/snapshots", {"label": "signed-in"}))[1]
    clone = (await api.post(f"/v1/profiles/{profile['id']}/clone"))[1]
    await a_login_on(api, site, profile["id"], "bob")  # the profile moves on after the snapshot

    restored = (await api.post(f"/v1/profile-snapshots/{snap['id']}/restore", {"name": "restored"}))[1]
    assert await remembered_by(api, site, restored["id"]) == signed_in_as("ada"), "frozen at capture"
    assert await remembered_by(api, site, clone["id"]) == NOTHING, "a clone does not copy browser state"
    assert await remembered_by(api, site, profile["id"]) == signed_in_as("bob")

    with psycopg.connect(database_url) as conn:
        owners = {row[0] for row in conn.execute("SELECT owner_id FROM browser_states")}
        assert {profile["id"], snap["id"], restored["id"]} <= owners
        assert (await api.delete(f"/v1/profiles/{profile['id']}"))[0] == 204
        count = "SELECT count(*) FROM browser_states WHERE owner_id = %s"
        assert conn.execute(count, (profile["id"],)).fetchone() == (0,), "its state is deleted with it"
        assert conn.execute(count, (snap["id"],)).fetchone() == (1,), "the snapshot keeps its own copy"
        [(ciphertext,)] = conn.execute(
            "SELECT ciphertext FROM browser_states WHERE owner_id = %s", (snap["id"],)
        ).fetchall()
        assert b"tok-ada" not in bytes(ciphertext) and b"sess-ada" not in bytes(ciphertext), "encrypted"

    again = (await api.post(f"/v1/profile-snapshots/{snap['id']}/restore", {"name": "production"}))[1]
    assert await remembered_by(api, site, again["id"]) == signed_in_as("ada")
    assert (await api.delete(f"/v1/profile-snapshots/{snap['id']}"))[0] == 204
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM browser_states WHERE owner_id = %s", (snap["id"],)
        ).fetchone() == (0,)
    assert await remembered_by(api, site, again["id"]) == signed_in_as("ada"), (
        "the restored profile's own copy"
    )


async def test_a_second_session_on_a_busy_profile_stays_creating_until_the_first_ends(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client(scopes=ADMIN, tier="api_builder")
    profile = await a_profile(api, "production")
    first = await api.ready_session(profile_id=profile["id"])
    await sign_in(api, first["id"], site, "ada")

    status, second, _ = await api.post("/v1/sessions", {"profile_id": profile["id"]})
    assert (status, second["status"]) == (201, "creating")
    await asyncio.sleep(1.5)
    assert (await api.get(f"/v1/sessions/{second['id']}"))[1]["status"] == "creating"
    _, ready_list, _ = await api.get("/v1/sessions?status=ready")
    assert [s["id"] for s in ready_list["data"]] == [first["id"]], "never two live on one profile"

    assert (await api.delete(f"/v1/sessions/{first['id']}"))[0] == 204
    await poll(lambda: status_of(api, second["id"], "ready"), deadline_s=15, what="the waiting session ready")
    assert await remembered_in(api, second["id"], site) == signed_in_as("ada"), (
        "it starts where the first ended"
    )

    destroyed = (await audit(api, first["id"], "session.destroyed"))[0]["occurred_at"]
    ready = (await audit(api, second["id"], "session.ready"))[0]["occurred_at"]
    assert ready >= destroyed
    assert (await api.delete(f"/v1/sessions/{second['id']}"))[0] == 204


async def test_a_session_waiting_past_the_profile_wait_is_errored_with_a_reason(
    start_driftstack: StartDriftstack,
) -> None:
    driftstack = await start_driftstack(profile_wait_s=1.0)
    api = await driftstack.client(scopes=ADMIN, tier="api_starter")  # 2 concurrent sessions
    profile = await a_profile(api, "production")
    holder = await api.ready_session(profile_id=profile["id"])

    status, waiting, _ = await api.post("/v1/sessions?wait=true", {"profile_id": profile["id"]})
    assert (status, waiting["status"], waiting["reason"]) == (201, "errored", "profile_busy")
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={waiting['id']}&action=session.errored")
    assert holder["id"] in log["data"][0]["payload"]["detail"]
    assert (await api.get(f"/v1/sessions/{holder['id']}"))[1]["status"] == "ready", "the holder is untouched"
    # The errored session gave its concurrency slot back.
    other = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{other['id']}"))[0] == 204


async def test_a_session_on_a_deleted_or_unknown_profile_is_refused_with_404(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "short-lived")
    assert (await api.delete(f"/v1/profiles/{profile['id']}"))[0] == 204
    for pid in (profile["id"], "prof_00000000-0000-0000-0000-000000000009"):
        problem = assert_problem(await api.post("/v1/sessions", {"profile_id": pid}), 404, "not-found")
        assert pid in problem["detail"]
    assert_invalid(await api.post("/v1/sessions", {"profile_id": "production"}), "profile_id", "/v1/sessions")
    assert (await api.get("/v1/sessions"))[1]["data"] == [], "no session was made"


async def test_deleting_a_profile_a_live_session_holds_answers_409_until_it_ends(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "production")
    session = await api.ready_session(profile_id=profile["id"])
    path = f"/v1/profiles/{profile['id']}"
    problem = assert_problem(await api.delete(path), 409, "conflict", instance=path)
    assert session["id"] in problem["detail"]
    assert (await api.get(path))[0] == 200
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    assert (await api.delete(path))[0] == 204


async def test_a_session_on_a_profile_runs_as_the_profiles_archetype(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "ios17", archetype=OLDER)
    session = await api.ready_session(profile_id=profile["id"])
    assert session["archetype"] == OLDER
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    same = await api.ready_session(profile_id=profile["id"], archetype=OLDER)
    assert (await api.delete(f"/v1/sessions/{same['id']}"))[0] == 204
    answer = await api.post("/v1/sessions", {"profile_id": profile["id"], "archetype": "macos_safari26_4"})
    assert OLDER in assert_problem(answer, 409, "conflict", instance="/v1/sessions")["detail"]


@BOTH_ENGINES
async def test_an_idle_timeout_writes_the_login_back_to_the_profile(
    start_driftstack: StartDriftstack, site: str
) -> None:
    driftstack = await start_driftstack(idle_timeout_s=2.0)
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "production")
    session = await api.ready_session(profile_id=profile["id"])
    await sign_in(api, session["id"], site, "ada")
    ended = await poll(lambda: status_of(api, session["id"], "destroyed"), deadline_s=15, what="idle timeout")
    assert ended["reason"] == "idle_timeout"
    assert await remembered_by(api, site, profile["id"]) == signed_in_as("ada")


@BOTH_ENGINES
async def test_a_crashed_browser_keeps_the_previous_state_and_frees_the_profile(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "production")
    await a_login_on(api, site, profile["id"], "ada")
    doomed = await api.ready_session(profile_id=profile["id"])
    await sign_in(api, doomed["id"], site, "bob")

    assert kill_our_browsers(), "the test process started no browser to kill"
    crashed = await poll(lambda: status_of(api, doomed["id"], "errored"), deadline_s=15, what="errored")
    assert crashed["reason"] == "browser_crashed"
    assert await remembered_by(api, site, profile["id"]) == signed_in_as("ada"), "nothing could be read back"
    assert [e["payload"]["session_id"] for e in await audit(api, profile["id"], "profile.state_saved")] != [
        doomed["id"]
    ]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def statuses(*held: tuple[Api, str]) -> list[str]:
    """Each session is read on the node that created it: a node waits for its own writes only,
    so another node's create may not be in its view yet."""
    return [(await api.get(f"/v1/sessions/{sid}"))[1]["status"] for api, sid in held]


async def test_sessions_racing_for_one_profile_on_two_servers_never_run_together(
    servers: Servers, http: aiohttp.ClientSession, site: str
) -> None:
    node_a, node_b = await servers.start("node-a"), await servers.start("node-b")
    key = await servers.new_key("api_builder", scopes=ADMIN)
    on_a, on_b = Api(http, node_a.base, key), Api(http, node_b.base, key)
    profile = await a_profile(on_a, "shared")

    (_, one, _), (_, two, _) = await asyncio.gather(
        on_a.post("/v1/sessions", {"profile_id": profile["id"]}),
        on_b.post("/v1/sessions", {"profile_id": profile["id"]}),
    )

    async def one_ready() -> list[str] | None:
        now = await statuses((on_a, one["id"]), (on_b, two["id"]))
        return now if "ready" in now else None

    assert sorted(await poll(one_ready, what="one session ready")) == ["creating", "ready"]
    await asyncio.sleep(1.5)
    now = await statuses((on_a, one["id"]), (on_b, two["id"]))
    assert sorted(now) == ["creating", "ready"], "the loser waits; never two live on one profile"
    pairs = [(one, on_a), (two, on_b)]
    (first, first_api), (second, second_api) = pairs if now[0] == "ready" else pairs[::-1]
    await sign_in(first_api, first["id"], site, "ada")
    assert (await first_api.delete(f"/v1/sessions/{first['id']}"))[0] == 204
    await poll(lambda: status_of(second_api, second["id"], "ready"), deadline_s=20, what="the waiter ready")
    assert await remembered_in(second_api, second["id"], site) == signed_in_as("ada")
    destroyed = (await audit(on_a, first["id"], "session.destroyed"))[0]["occurred_at"]
    assert (await audit(on_a, second["id"], "session.ready"))[0]["occurred_at"] >= destroyed

    # The node holding the profile dies: the profile stays held until that node restarts, and
    # its recovery (errored sessions) lets the profile go to the session waiting elsewhere.
    holder_node, other_api = (node_a, on_b) if second_api is on_a else (node_b, on_a)
    holder_node.crash()
    _, waiter, _ = await other_api.post("/v1/sessions", {"profile_id": profile["id"]})
    await asyncio.sleep(1.0)
    assert (await other_api.get(f"/v1/sessions/{waiter['id']}"))[1]["status"] == "creating"
    await servers.start(holder_node.node_id)
    await poll(lambda: status_of(other_api, waiter["id"], "ready"), deadline_s=30, what="the waiter ready")
    lost = (await other_api.get(f"/v1/sessions/{second['id']}"))[1]
    assert (lost["status"], lost["reason"]) == ("errored", "service_restarted")
    assert (await other_api.delete(f"/v1/sessions/{waiter['id']}"))[0] == 204
