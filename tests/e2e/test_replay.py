"""The events are the truth: views rebuilt from them read the same, and they are encrypted at rest."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import aiohttp
import psycopg
import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from driftstack.application import Driftstack
from driftstack.domain.account import Account
from driftstack.store import Store

from ..conftest import Api, Harness
from .servers import Servers

READ_MODEL_TABLES = (
    "sessions",
    "sessions_view_tracking",
    "session_actions",
    "session_navigations",
    "artifacts",
    "audit_log",
    "audit_owners",
    "audit_log_tracking",
    "accounts",
    "api_keys",
    "accounts_view_tracking",
    "profiles",
    "profile_snapshots",
    "profiles_view_tracking",
)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def a_long_history(database_url: str, secret_key: str, accounts: int) -> None:
    """Many events before the ones a test reads: a replay of them takes a while."""
    app = Driftstack(Store(url=database_url, cipher_key=secret_key).eventsourcing_env(pool_size=1))
    try:
        for start in range(0, accounts, 500):
            app.save(*(Account.open(f"history-{n}", "trial_pack") for n in range(start, start + 500)))
    finally:
        app.close()


async def a_full_session(api: Api, site: str, label: str) -> str:
    """Create, drive every kind of action (one of them failing), destroy."""
    sid = (await api.ready_session(label=label, metadata={"ticket": label}))["id"]
    steps: list[tuple[str, dict[str, Any], int]] = [
        ("navigate", {"url": f"{site}/form"}, 200),
        ("interact", {"type": "tap", "selector": "#tap-me"}, 200),
        ("interact", {"type": "type", "selector": "#name", "text": label}, 200),
        ("interact", {"type": "scroll", "direction": "down", "pixels": 300}, 200),
        ("interact", {"type": "tap", "selector": "#not-there", "timeout_ms": 300}, 502),
        ("interact", {"type": "press", "key": "Enter", "selector": "#name"}, 200),
        ("wait", {"kind": "selector", "selector": "#result"}, 200),
        ("capture", {"kind": "screenshot"}, 200),
        ("capture", {"kind": "dom_snapshot"}, 200),
    ]
    for action, body, expected in steps:
        status, answer, _ = await api.post(f"/v1/sessions/{sid}/{action}", body)
        assert status == expected, (action, answer)
    assert (await api.get(f"/v1/sessions/{sid}/state"))[0] == 200
    assert (await api.delete(f"/v1/sessions/{sid}"))[0] == 204
    return sid


async def every_page(api: Api, path: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page, _ = await api.get(f"{path}{'&' if '?' in path else '?'}limit={limit}{cursor}")
        assert status == 200, page
        rows.extend(page["data"])
        if not page["has_more"]:
            return rows
        cursor = f"&cursor={page['next_cursor']}"


async def everything_a_client_reads(api: Api) -> dict[str, Any]:
    _, listed, _ = await api.get("/v1/sessions?limit=100")
    sessions, histories = {}, {}
    for session in listed["data"]:
        one = f"/v1/sessions/{session['id']}"
        status, sessions[session["id"]], _ = await api.get(one)
        assert status == 200
        artifacts = (await api.get(f"{one}/artifacts?limit=100"))[1]["data"]
        histories[session["id"]] = {
            "actions": (await api.get(f"{one}/actions?limit=100"))[1],
            "navigations": (await api.get(f"{one}/navigations?limit=100"))[1],
            # A link is signed afresh at each read: the rest of an artifact is what a rebuild keeps.
            "artifacts": [{k: v for k, v in a.items() if not k.startswith("url")} for a in artifacts],
        }
    return {
        "list": listed,
        "list_in_pages_of_2": await every_page(api, "/v1/sessions", 2),
        "destroyed": (await api.get("/v1/sessions?status=destroyed&limit=100"))[1],
        "sessions": sessions,
        "histories": histories,
        "audit_log": (await api.get("/v1/audit-log?limit=100"))[1],
        "audit_log_in_pages_of_5": await every_page(api, "/v1/audit-log", 5),
        "account": (await api.get("/v1/account/me"))[1],
        "profiles": await every_page(api, "/v1/profiles", 2),
        "snapshots": await every_page(api, "/v1/profile-snapshots", 2),
    }


async def profiles_with_a_history(api: Api) -> None:
    """A profile renamed, cloned, snapshotted and used by a session; a clone deleted after its snapshot."""
    status, profile, _ = await api.post("/v1/profiles", {"name": "production", "description": "primary"})
    assert status == 200, profile
    pid = profile["id"]
    assert (await api.call("PATCH", f"/v1/profiles/{pid}", {"name": "production-eu"}))[0] == 200
    clone = (await api.post(f"/v1/profiles/{pid}/clone"))[1]
    assert (await api.post(f"/v1/profiles/{pid}/snapshots", {"label": "baseline"}))[0] == 200
    assert (await api.post(f"/v1/profiles/{clone['id']}/snapshots", {"label": "orphaned"}))[0] == 200
    assert (await api.delete(f"/v1/profiles/{clone['id']}"))[0] == 204
    session = await api.ready_session(profile_id=pid)
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204


def existing(database_url: str, tables: tuple[str, ...]) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_name = ANY(%s)",
            (list(tables),),
        ).fetchall()
    return {row[0] for row in rows}


def event_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM driftstack_events").fetchone()
    assert row is not None
    return int(row[0])


async def test_views_rebuilt_from_the_events_read_exactly_as_before(
    servers: Servers, http: aiohttp.ClientSession, site: str, database_url: str
) -> None:
    # Enough history that replaying it outlasts the service's start: a service that answered
    # before its views caught up would show sessions missing.
    await asyncio.to_thread(a_long_history, database_url, servers.secret_key, 3000)
    first = await servers.start("node-replay")
    apis = [
        Api(http, first.base, await servers.new_key(tier, scopes="read,write,admin"))
        for tier in ("api_starter", "solo_manual")
    ]
    for n in range(3):
        await a_full_session(apis[0], site, f"first account, session {n}")
    await a_full_session(apis[1], site, "second account")
    await profiles_with_a_history(apis[0])

    before = [await everything_a_client_reads(api) for api in apis]
    assert len(before[0]["sessions"]) == 4 and len(before[1]["sessions"]) == 1
    assert [p["name"] for p in before[0]["profiles"]] == ["production-eu"]
    assert before[0]["profiles"][0]["last_used_at"] is not None
    assert [s["parent_profile_id"] is None for s in before[0]["snapshots"]] == [True, False]
    assert sorted(s["action_count"] for s in before[0]["sessions"].values()) == [0, 10, 10, 10]
    assert len(before[0]["audit_log"]["data"]) > 30
    assert first.stop() == 0, first.log_tail()
    events = event_count(database_url)

    rebuilt = await asyncio.to_thread(servers.cli, "views", "rebuild")
    assert set(rebuilt["dropped"]) == set(READ_MODEL_TABLES)
    assert existing(database_url, READ_MODEL_TABLES) == set()
    assert event_count(database_url) == events, "a rebuild never touches the events"

    second = await servers.start("node-replay")
    assert existing(database_url, READ_MODEL_TABLES) == set(READ_MODEL_TABLES)
    after = [await everything_a_client_reads(Api(http, second.base, api.key)) for api in apis]
    assert after == before


async def test_events_are_encrypted_at_rest(driftstack: Harness, database_url: str) -> None:
    api = await driftstack.client()
    label = "secret-label-XYZ"
    status, created, _ = await api.post("/v1/sessions", {"label": label})
    assert status == 201
    _, session, _ = await api.get(f"/v1/sessions/{created['id']}")
    assert session["label"] == label

    with psycopg.connect(database_url) as conn:
        states = [
            bytes(row[0])
            for row in conn.execute(
                "SELECT state FROM driftstack_events WHERE originator_id = %s",
                (UUID(created["id"].removeprefix("ses_")),),
            )
        ]
        everything = [bytes(row[0]) for row in conn.execute("SELECT state FROM driftstack_events")]
        everything += [bytes(row[0]) for row in conn.execute("SELECT state FROM driftstack_snapshots")]
    assert states, "the session's events are in driftstack_events"
    for state in everything:
        assert label.encode() not in state
        with pytest.raises(zlib.error):
            zlib.decompress(state)  # not merely compressed: the bytes are ciphertext

    # With the service's key the label is there: the test looked at the right bytes.
    cipher = AESCipher(Environment(env={"CIPHER_KEY": driftstack.settings.secret_key or ""}))
    assert any(label.encode() in zlib.decompress(cipher.decrypt(state)) for state in states)
    assert (await api.delete(f"/v1/sessions/{created['id']}"))[0] == 204
