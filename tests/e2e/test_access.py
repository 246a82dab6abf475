"""Who may see and do what: other accounts, read-only keys, team members, and the caller's own account."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from ..conftest import Api, Harness, at_rest
from .test_errors import ACTIONS, assert_problem, audit_actions, listed_ids


async def everything_on(api: Api, session_id: str) -> list[tuple[str, tuple[int, Any, Any]]]:
    """Every request a client can make on one session: (what, answer)."""
    path = f"/v1/sessions/{session_id}"
    answers = [("GET", await api.get(path)), ("state", await api.get(f"{path}/state"))]
    for method, action, payload in ACTIONS:
        answers.append((action, await api.call(method, f"{path}/{action}", payload)))
    answers.append(("DELETE", await api.delete(path)))
    return answers


async def test_another_accounts_session_answers_exactly_like_a_missing_id(driftstack: Harness) -> None:
    owner = await driftstack.client()
    stranger = await driftstack.client()
    theirs = await owner.ready_session(label="private")
    _, before, _ = await owner.get(f"/v1/sessions/{theirs['id']}")
    missing = f"ses_{uuid.uuid4()}"

    seen = await everything_on(stranger, theirs["id"])
    absent = await everything_on(stranger, missing)
    for (what, answer), (_, missing_answer) in zip(seen, absent, strict=True):
        body = assert_problem(answer, 404, "not-found")
        missing_body = assert_problem(missing_answer, 404, "not-found")
        # Apart from the id itself (in detail and instance), not one byte tells them apart.
        assert json.dumps(body).replace(theirs["id"], missing) == json.dumps(missing_body), what
    assert await listed_ids(stranger) == []

    _, after, _ = await owner.get(f"/v1/sessions/{theirs['id']}")
    assert at_rest(after) == at_rest(before), "the stranger's requests did nothing"
    assert await audit_actions(owner, theirs["id"]) == ["session.created", "session.ready"]


async def test_a_read_only_key_reads_the_accounts_sessions(driftstack: Harness, site: str) -> None:
    account = await driftstack.account()
    writer = driftstack.api(await driftstack.key(account, "read,write"))
    reader = driftstack.api(await driftstack.key(account, "read"))
    session = await writer.ready_session(label="watched")
    path = f"/v1/sessions/{session['id']}"
    assert (await writer.post(f"{path}/navigate", {"url": f"{site}/form"}))[0] == 200

    status, got, _ = await reader.get(path)
    assert status == 200 and got["label"] == "watched" and got["current_url"] == f"{site}/form"
    assert await listed_ids(reader) == [session["id"]]
    status, state, _ = await reader.get(f"{path}/state")
    assert status == 200 and state["url"] == f"{site}/form", state
    status, me, _ = await reader.get("/v1/account/me")
    assert status == 200 and me["api_key"]["scopes"] == ["read"]


async def test_a_team_member_reads_and_writes_the_owners_sessions(driftstack: Harness, site: str) -> None:
    owner_id = await driftstack.account(tier="team_manual")
    member_id = await driftstack.account(tier="solo_manual")
    owner = driftstack.api(await driftstack.key(owner_id))
    member_key = await driftstack.key(member_id)
    as_member = driftstack.api(member_key, acting_for=owner_id)
    held = await owner.ready_session(label="the owner's")
    path = f"/v1/sessions/{held['id']}"
    assert_problem(await as_member.get(path), 403, "forbidden", instance=path)

    await asyncio.to_thread(driftstack.application.add_member, owner_id, member_id, "member")
    # Honoured at once, before the accounts view has caught up with the new membership.
    assert await listed_ids(as_member) == [held["id"]]
    # Without the header the member is on their own account, which holds nothing.
    assert await listed_ids(driftstack.api(member_key)) == []
    assert (await driftstack.api(member_key).get(path))[0] == 404

    status, got, _ = await as_member.get(path)
    assert status == 200 and got["label"] == "the owner's"
    status, nav, _ = await as_member.post(f"{path}/navigate", {"url": f"{site}/form"})
    assert status == 200 and nav["title"] == "Form", nav
    status, _, _ = await as_member.post(f"{path}/interact", {"type": "tap", "selector": "#tap-me"})
    assert status == 200
    made = await as_member.ready_session(label="made by the member")
    assert made["account_id"] == owner_id, "a session made for the owner lives on the owner's account"
    assert (await as_member.delete(path))[0] == 204

    _, me, _ = await as_member.get("/v1/account/me")
    assert (me["id"], me["role"], me["tier"]) == (owner_id, "member", "team_manual")
    assert me["api_key"]["account_id"] == member_id
    assert sorted(await listed_ids(owner)) == sorted([held["id"], made["id"]])
    _, destroyed, _ = await owner.get(path)
    assert destroyed["status"] == "destroyed" and destroyed["current_url"] == f"{site}/form"
    _, log, _ = await owner.get(f"/v1/audit-log?resource_id={held['id']}&action=session.navigated")
    assert [e["api_key_id"] for e in log["data"]] == [me["api_key"]["id"]], "the member did it"


async def test_a_member_with_a_read_only_key_reads_but_cannot_write_the_owners_sessions(
    driftstack: Harness,
) -> None:
    owner_id = await driftstack.account()
    member_id = await driftstack.account()
    await asyncio.to_thread(driftstack.application.add_member, owner_id, member_id, "member")
    owner = driftstack.api(await driftstack.key(owner_id))
    as_member = driftstack.api(await driftstack.key(member_id, "read"), acting_for=owner_id)
    held = await owner.ready_session()
    path = f"/v1/sessions/{held['id']}"

    assert (await as_member.get(path))[0] == 200
    assert_problem(await as_member.delete(path), 403, "forbidden", instance=path)
    assert_problem(await as_member.post("/v1/sessions", {}), 403, "forbidden", instance="/v1/sessions")
    assert await listed_ids(owner) == [held["id"]]
    assert (await owner.get(path))[1]["status"] == "ready"


async def test_naming_a_missing_or_a_foreign_account_answers_the_same_403_byte_for_byte(
    driftstack: Harness,
) -> None:
    owner_id = await driftstack.account()
    owner = driftstack.api(await driftstack.key(owner_id))
    outsider_id = await driftstack.account()
    outsider_key = await driftstack.key(outsider_id)
    held = await owner.ready_session()
    path = f"/v1/sessions/{held['id']}"
    named = {
        "foreign": owner_id,
        "missing": f"acc_{uuid.uuid4()}",
        "malformed": "not-an-account",
        "empty": "",
        "foreign, spelt in capitals": owner_id.upper().replace("ACC_", "acc_"),
    }

    for method, where, body in [
        ("GET", "/v1/sessions", None),
        ("GET", path, None),
        ("POST", "/v1/sessions", {}),
        ("POST", f"{path}/navigate", {"url": "https://example.com"}),
        ("DELETE", path, None),
        ("GET", "/v1/account/me", None),
    ]:
        answers = {}
        for what, acting_for in named.items():
            answer = await driftstack.api(outsider_key, acting_for=acting_for).call(method, where, body)
            problem = assert_problem(answer, 403, "forbidden", instance=where)
            headers = {
                k.lower(): v for k, v in answer[2].items() if k.lower() not in ("date", "x-request-id")
            }
            answers[what] = (json.dumps(problem), headers)
        assert len(set(map(str, answers.values()))) == 1, (method, where, answers)
        assert "X-Driftstack-Account" in json.loads(answers["missing"][0])["detail"]

    assert await listed_ids(owner) == [held["id"]], "nothing was created on the owner's account"
    _, still, _ = await owner.get(path)
    assert still["status"] == "ready" and still["action_count"] == 0
    assert await listed_ids(driftstack.api(outsider_key)) == []


async def raw_get(base: str, path: str, headers: bytes) -> tuple[int, dict[str, Any]]:
    """A GET with header bytes no HTTP client library will send: the status and the problem."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n"
    )
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


async def test_a_key_or_account_header_that_is_not_utf8_is_refused_and_the_service_keeps_serving(
    driftstack: Harness,
) -> None:
    key = await driftstack.key(await driftstack.account())
    status, problem = await raw_get(
        driftstack.base, "/v1/sessions", b"Authorization: Bearer ds_live_\xff\xfe\r\n"
    )
    assert status in (400, 401) and problem["status"] == status, problem
    status, problem = await raw_get(
        driftstack.base,
        "/v1/sessions",
        b"Authorization: Bearer " + key.encode() + b"\r\nX-Driftstack-Account: acc_\xff\r\n",
    )
    assert status in (400, 403) and problem["status"] == status, problem
    assert await listed_ids(driftstack.api(key)) == []


async def test_account_me_shows_the_tier_and_its_caps(driftstack: Harness) -> None:
    expected: list[tuple[str, dict[str, Any], int, int | None]] = [
        ("trial_pack", {}, 1, 1),
        ("api_starter", {}, 2, 10),
        ("team_manual", {}, 3, 50),
        ("api_scale", {"concurrency": 25}, 25, 100),
        ("enterprise", {"concurrency": 40, "profile_cap": 500}, 40, None),
        ("enterprise", {}, 50, None),
    ]
    for tier, caps, concurrency, profile_cap in expected:
        account_id = await driftstack.account(tier, **caps)
        api = driftstack.api(await driftstack.key(account_id, "read"))
        status, me, headers = await api.get("/v1/account/me")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert me["id"] == account_id and me["role"] == "owner"
        assert (me["tier"], me["concurrency"], me["profile_cap"]) == (tier, concurrency, profile_cap), me
        assert "profile_cap" in me
