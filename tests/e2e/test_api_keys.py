"""An account's own keys over HTTP: list, mint, revoke; expiry; what the audit log and listings show."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import psycopg

from driftstack import clock
from driftstack.domain.api_key import ApiKey
from driftstack.http.context import SERVICES

from ..conftest import Api, Harness
from .servers import poll
from .test_errors import assert_invalid, assert_problem
from .test_openapi import assert_documented, schema_errors

ALL = "read,write,admin"


async def an_admin(driftstack: Harness, scopes: str = ALL) -> tuple[str, Api]:
    account_id = await driftstack.account()
    return account_id, driftstack.api(await driftstack.key(account_id, scopes))


async def minted(api: Api, **body: Any) -> dict[str, Any]:
    status, key, _ = await api.post("/v1/api-keys", {"scopes": ["read"], **body})
    assert status == 201, key
    return dict(key)


async def listed(api: Api) -> list[dict[str, Any]]:
    status, page, _ = await api.get("/v1/api-keys?limit=100")
    assert status == 200, page
    assert page["has_more"] is False and page["next_cursor"] is None
    return list(page["data"])


async def test_a_minted_key_works_at_once_and_its_secret_is_shown_only_in_the_201(
    driftstack: Harness, database_url: str
) -> None:
    account_id, admin = await an_admin(driftstack)
    key = await minted(admin, scopes=["read", "write"], name="ci runner", expires_in="30d")
    assert key["key"].startswith("ds_live_") and key["id"].startswith("key_")
    assert (key["account_id"], key["name"], key["scopes"]) == (account_id, "ci runner", ["read", "write"])
    assert key["revoked_at"] is None and key["last_used_at"] is None
    lifetime = clock.parse_iso(key["expires_at"]) - clock.parse_iso(key["created_at"])
    assert abs(lifetime - timedelta(days=30)) < timedelta(seconds=1)

    status, me, _ = await driftstack.api(key["key"]).get("/v1/account/me")
    assert status == 200 and me["api_key"]["id"] == key["id"] and me["id"] == account_id

    listing = await listed(admin)
    assert key["id"] in [k["id"] for k in listing]
    with psycopg.connect(database_url) as conn:
        [(stored_hash,)] = conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (key["id"],))
    text = json.dumps(listing)
    assert key["key"] not in text and stored_hash not in text, "a listing shows no secret and no hash"
    assert all(set(k) == set(key) - {"key"} for k in listing)


async def test_a_revoked_key_answers_401_at_once_and_stays_listed_as_revoked(driftstack: Harness) -> None:
    _, admin = await an_admin(driftstack)
    key = await minted(admin, scopes=["read"])
    leaked = driftstack.api(key["key"])
    assert (await leaked.get("/v1/sessions"))[0] == 200

    assert (await admin.delete(f"/v1/api-keys/{key['id']}"))[0] == 204
    problem = assert_problem(await leaked.get("/v1/sessions"), 401, "unauthorized")
    assert problem["detail"] == "this key was revoked"
    assert_problem(await leaked.get("/v1/account/me"), 401, "unauthorized")

    [shown] = [k for k in await listed(admin) if k["id"] == key["id"]]
    assert shown["revoked_at"] is not None
    assert (await admin.delete(f"/v1/api-keys/{key['id']}"))[0] == 204, "revoking again changes nothing"
    assert (await admin.get("/v1/sessions"))[0] == 200, "the revoking key still works"


async def test_a_key_revoked_by_a_second_process_is_refused_as_soon_as_the_view_holds_it(
    driftstack: Harness,
) -> None:
    _, admin = await an_admin(driftstack)
    key = await minted(admin)
    leaked = driftstack.api(key["key"])
    assert (await leaked.get("/v1/sessions"))[0] == 200
    # The operator's store handle is another application, as the command line is.
    _, nid = await asyncio.to_thread(driftstack.application.revoke_key, key["id"])
    # The service's accounts view follows the store (a NOTIFY wakes it); once it holds the event:
    assert await driftstack.web_app[SERVICES].keys.view_progress.reached(nid)
    assert_problem(await leaked.get("/v1/sessions"), 401, "unauthorized")


async def test_a_key_issued_and_revoked_a_moment_ago_is_refused_before_and_after_the_view_holds_it(
    driftstack: Harness,
) -> None:
    account_id = await driftstack.account()
    key, secret = ApiKey.issue(account_id=account_id, scopes=["read"], now=clock.now())
    key.revoke(api_key_id=None)
    [*_, recording] = await asyncio.to_thread(driftstack.application.save, key)
    # At once: the view may not hold the key yet, and the store's copy of it is revoked.
    assert_problem(await driftstack.api(secret).get("/v1/sessions"), 401, "unauthorized")
    assert await driftstack.web_app[SERVICES].keys.view_progress.reached(recording.notification.id)
    problem = assert_problem(await driftstack.api(secret).get("/v1/sessions"), 401, "unauthorized")
    assert problem["detail"] == "this key was revoked"


async def test_an_expired_key_answers_401_and_one_not_yet_expired_works(driftstack: Harness) -> None:
    account_id = await driftstack.account()
    two_hours_ago = clock.now() - timedelta(hours=2)
    expired, expired_secret = ApiKey.issue(
        account_id=account_id, scopes=["read"], lifetime=timedelta(hours=1), now=two_hours_ago
    )
    current, current_secret = ApiKey.issue(
        account_id=account_id, scopes=["read"], lifetime=timedelta(hours=3), now=two_hours_ago
    )
    await asyncio.to_thread(driftstack.application.save, expired, current)

    problem = assert_problem(await driftstack.api(expired_secret).get("/v1/sessions"), 401, "unauthorized")
    assert problem["detail"] == f"this key expired at {expired.expires_at}"
    assert (await driftstack.api(current_secret).get("/v1/sessions"))[0] == 200
    # Once the view holds both (the first answers read the store), the answers are the same. The keys were
    # written straight to the store, past the service's read-your-writes: the list catches up on its own.
    admin = driftstack.api(await driftstack.key(account_id, ALL))

    async def all_three() -> bool:
        return len(await listed(admin)) == 3

    await poll(all_three, deadline_s=5, what="the keys view holding the three keys")
    assert_problem(await driftstack.api(expired_secret).get("/v1/sessions"), 401, "unauthorized")
    assert (await driftstack.api(current_secret).get("/v1/sessions"))[0] == 200


async def test_a_key_cannot_mint_a_scope_it_lacks(driftstack: Harness) -> None:
    account_id, admin_only = await an_admin(driftstack, scopes="admin")
    for scopes in (["read"], ["admin", "write"]):
        answer = await admin_only.post("/v1/api-keys", {"scopes": scopes})
        problem = assert_problem(answer, 403, "forbidden", instance="/v1/api-keys")
        assert "can mint only scopes it has" in problem["detail"]
    writer = driftstack.api(await driftstack.key(account_id, "read,write"))
    assert_problem(await writer.post("/v1/api-keys", {"scopes": ["read"]}), 403, "forbidden")
    assert_problem(await writer.get("/v1/api-keys"), 403, "forbidden")
    assert [k["scopes"] for k in await listed(admin_only)] == [["read", "write"], ["admin"]]
    assert (await minted(admin_only, scopes=["admin"]))["scopes"] == ["admin"]


async def test_another_accounts_key_id_answers_404_exactly_like_a_missing_one(driftstack: Harness) -> None:
    _, owner = await an_admin(driftstack)
    theirs = await minted(owner)
    _, stranger = await an_admin(driftstack)
    missing = f"key_{uuid.uuid4()}"

    foreign = assert_problem(await stranger.delete(f"/v1/api-keys/{theirs['id']}"), 404, "not-found")
    absent = assert_problem(await stranger.delete(f"/v1/api-keys/{missing}"), 404, "not-found")
    assert json.dumps(foreign).replace(theirs["id"], missing) == json.dumps(absent)
    assert_problem(await stranger.delete("/v1/api-keys/not-a-key"), 404, "not-found")
    assert theirs["id"] not in [k["id"] for k in await listed(stranger)]
    assert (await driftstack.api(theirs["key"]).get("/v1/sessions"))[0] == 200, "still valid"


async def test_a_member_cannot_list_mint_or_revoke_the_owners_keys(driftstack: Harness) -> None:
    owner_id, owner = await an_admin(driftstack)
    member_id = await driftstack.account()
    await asyncio.to_thread(driftstack.application.add_member, owner_id, member_id, "admin")
    as_member = driftstack.api(await driftstack.key(member_id, ALL), acting_for=owner_id)
    owners = await minted(owner)

    assert_problem(await as_member.get("/v1/api-keys"), 403, "forbidden")
    assert_problem(await as_member.post("/v1/api-keys", {"scopes": ["read"]}), 403, "forbidden")
    assert_problem(await as_member.delete(f"/v1/api-keys/{owners['id']}"), 403, "forbidden")
    assert (await driftstack.api(owners["key"]).get("/v1/sessions"))[0] == 200
    assert len(await listed(owner)) == 2


async def test_the_audit_log_shows_issue_and_revoke_without_the_secret_or_its_hash(
    driftstack: Harness, database_url: str
) -> None:
    _, admin = await an_admin(driftstack)
    _, me, _ = await admin.get("/v1/account/me")
    key = await minted(admin, name="deploy", expires_in="12h")
    assert (await admin.delete(f"/v1/api-keys/{key['id']}"))[0] == 204

    status, log, _ = await admin.get(f"/v1/audit-log?resource_id={key['id']}")
    assert status == 200
    entries = list(reversed(log["data"]))
    assert [e["action"] for e in entries] == ["api_key.created", "api_key.revoked"]
    assert [e["api_key_id"] for e in entries] == [me["api_key"]["id"]] * 2, "the admin key did both"
    created = entries[0]["payload"]
    assert (created["name"], created["scopes"], created["expires_at"]) == (
        "deploy",
        ["read"],
        key["expires_at"],
    )
    with psycopg.connect(database_url) as conn:
        [(stored_hash,)] = conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (key["id"],))
    assert key["key"] not in json.dumps(log) and stored_hash not in json.dumps(log)


async def test_last_used_is_written_once_a_window_not_on_every_request(driftstack: Harness) -> None:
    _, admin = await an_admin(driftstack)
    key = await minted(admin)
    user = driftstack.api(key["key"])
    assert (await user.get("/v1/sessions"))[0] == 200
    [first] = [k["last_used_at"] for k in await listed(admin) if k["id"] == key["id"]]
    assert first is not None
    for _ in range(3):
        assert (await user.get("/v1/sessions"))[0] == 200
    [again] = [k["last_used_at"] for k in await listed(admin) if k["id"] == key["id"]]
    assert again == first, "uses within the window write nothing"


async def test_bad_mint_requests_answer_400_naming_the_field(driftstack: Harness) -> None:
    _, admin = await an_admin(driftstack)
    for body, field in [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["root"]}, "scopes"),
        ({}, "scopes"),
        ({"scopes": ["read"], "expires_in": "30"}, "expires_in"),
        ({"scopes": ["read"], "expires_in": "0d"}, "expires_in"),
        ({"scopes": ["read"], "expires_in": "10000d"}, "expires_in"),
        ({"scopes": ["read"], "name": "n" * 121}, "name"),
        ({"scopes": ["read"], "secret": "mine"}, "secret"),
    ]:
        assert_invalid(await admin.post("/v1/api-keys", body), field, "/v1/api-keys")
    assert len(await listed(admin)) == 1, "nothing was minted"


async def test_the_key_list_pages_newest_first(driftstack: Harness) -> None:
    _, admin = await an_admin(driftstack)
    made = [(await minted(admin, name=f"k{i}"))["id"] for i in range(4)]
    seen: list[str] = []
    cursor = ""
    while True:
        status, page, _ = await admin.get(f"/v1/api-keys?limit=2{cursor}")
        assert status == 200
        seen += [k["id"] for k in page["data"]]
        if not page["has_more"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen[:4] == list(reversed(made)) and len(seen) == 5


KEY_BODIES: list[dict[str, Any]] = [
    {"scopes": ["read"]},
    {"scopes": ["read", "read", "admin"], "name": "n" * 120, "expires_in": "9999d"},
    {"scopes": ["read"], "name": None, "expires_in": None},
    {"scopes": ["read"], "expires_in": "1m"},
    {"scopes": []},
    {"scopes": ["root"]},
    {"scopes": "read"},
    {},
    {"scopes": ["read"], "expires_in": "90"},
    {"scopes": ["read"], "expires_in": "0h"},
    {"scopes": ["read"], "expires_in": "10000m"},
    {"scopes": ["read"], "expires_in": 30},
    {"scopes": ["read"], "name": "n" * 121},
    {"scopes": ["read"], "name": "a\u0000b"},
    {"scopes": ["read"], "key": "ds_live_mine"},
]


async def test_every_answer_of_the_keys_api_is_documented_and_bodies_are_refused_as_documented(
    driftstack: Harness,
) -> None:
    async with driftstack.http.get(driftstack.base + "/v1/openapi.json") as response:
        document = dict(await response.json())
    _, admin = await an_admin(driftstack)
    one = "/v1/api-keys/{key_id}"
    created = await admin.post("/v1/api-keys", {"scopes": ["read"], "expires_in": "1h"})
    assert_documented(document, "POST", "/v1/api-keys", created)
    assert_documented(document, "GET", "/v1/api-keys", await admin.get("/v1/api-keys?limit=1"))
    assert_documented(document, "GET", "/v1/api-keys", await admin.get("/v1/api-keys?limit=0"))
    assert_documented(document, "DELETE", one, await admin.delete(f"/v1/api-keys/{created[1]['id']}"))
    assert_documented(document, "DELETE", one, await admin.delete(f"/v1/api-keys/key_{uuid.uuid4()}"))
    revoked = driftstack.api(created[1]["key"])
    assert_documented(document, "GET", "/v1/api-keys", await revoked.get("/v1/api-keys"))

    ref = document["paths"]["/v1/api-keys"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    disagreements = []
    for body in KEY_BODIES:
        documented_valid = schema_errors(document, ref["$ref"], body) == []
        answer = await admin.post("/v1/api-keys", body)
        assert answer[0] in (201, 400), (body, answer)
        assert_documented(document, "POST", "/v1/api-keys", answer)
        if (answer[0] == 201) != documented_valid:
            disagreements.append((body, answer[1].get("detail")))
    assert disagreements == []
