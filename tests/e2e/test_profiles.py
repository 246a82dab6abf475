"""The profiles API of seed 002: every status code and field rule, caps, scopes and team roles."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from ..conftest import Api, Harness
from .test_errors import assert_invalid, assert_problem

ADMIN = "read,write,admin"
DEFAULT = "iphone16pro_ios18_7_safari26_4"
OLDER = "iphone13_ios17_5_safari17_5"
PROFILE_FIELDS = ["id", "name", "archetype", "description", "last_used_at", "created_at", "updated_at"]


async def a_profile(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    status, profile, _ = await api.post("/v1/profiles", {"name": name, **fields})
    assert status == 200, profile
    return dict(profile)


async def listed_names(api: Api, path: str = "/v1/profiles?limit=100") -> list[str]:
    status, page, _ = await api.get(path)
    assert status == 200, page
    return [p["name"] for p in page["data"]]


async def test_a_profile_is_created_read_edited_and_deleted_with_the_documented_answers(
    driftstack: Harness,
) -> None:
    api = await driftstack.client(scopes=ADMIN)

    status, created, headers = await api.post(
        "/v1/profiles", {"name": "production", "description": "primary prod-data scrape profile"}
    )
    assert status == 200, "200, not 201: seed 002 says so on purpose"
    assert headers["Content-Type"].startswith("application/json")
    assert list(created) == PROFILE_FIELDS
    assert created["id"].startswith("prof_") and uuid.UUID(created["id"][5:])
    assert created["archetype"] == DEFAULT, "new profiles default to the iPhone 16 Pro persona"
    assert created["last_used_at"] is None, "null until first use"
    assert created["created_at"] == created["updated_at"]
    path = f"/v1/profiles/{created['id']}"
    assert (await api.get(path))[1] == created

    status, edited, _ = await api.call("PATCH", path, {"name": "production-eu", "description": "EU-region"})
    assert status == 200
    assert (edited["name"], edited["description"], edited["archetype"]) == (
        "production-eu",
        "EU-region",
        DEFAULT,
    )
    assert edited["updated_at"] >= created["updated_at"] and edited["created_at"] == created["created_at"]
    status, kept, _ = await api.call("PATCH", path, {"name": "production-eu2"})
    assert (status, kept["description"]) == (200, "EU-region"), "an absent description is kept"
    status, cleared, _ = await api.call("PATCH", path, {"description": None})
    assert (status, cleared["name"], cleared["description"]) == (200, "production-eu2", None)
    status, same, _ = await api.call("PATCH", path, {})
    assert (status, same) == (200, cleared)

    assert (await api.delete(path))[0] == 204
    assert_problem(await api.delete(path), 404, "not-found", instance=path)
    assert_problem(await api.get(path), 404, "not-found", instance=path)
    assert await listed_names(api) == []


async def test_an_explicit_archetype_is_pinned_and_can_never_be_patched(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    pinned = await a_profile(api, "hold-on-ios17", archetype=OLDER)
    assert pinned["archetype"] == OLDER
    assert (await a_profile(api, "defaulted", archetype="default"))["archetype"] == DEFAULT
    path = f"/v1/profiles/{pinned['id']}"
    assert_invalid(await api.call("PATCH", path, {"archetype": DEFAULT}), "archetype", path)
    assert_invalid(await api.call("PATCH", path, {"name": "x", "archetype": OLDER}), "archetype", path)
    assert (await api.get(path))[1] == pinned, "a refused patch changes nothing"
    assert_invalid(
        await api.post("/v1/profiles", {"name": "p", "archetype": "nokia3310"}), "archetype", "/v1/profiles"
    )
    assert_invalid(
        await api.post("/v1/profiles", {"name": "p", "archetype": "Not A Slug"}), "archetype", "/v1/profiles"
    )


async def test_every_field_rule_answers_400_validation_failed_naming_the_field(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    at = "/v1/profiles"
    refused: list[tuple[dict[str, Any] | None, str]] = [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "two words"}, "name"),
        ({"name": "tab\tname"}, "name"),
        ({"name": "ctrl\u0001"}, "name"),
        ({"name": 7}, "name"),
        ({"name": "ok", "description": "d" * 2049}, "description"),
        ({"name": "ok", "description": 5}, "description"),
        ({"name": "ok", "colour": "red"}, "colour"),
        (None, "body"),
    ]
    for body, field in refused:
        answer = await api.post(at, body) if body is not None else await api.post(at, raw=b"")
        assert_invalid(answer, field, at)
    assert (await api.post(at, raw=b"[1]"))[0] == 400
    assert await listed_names(api) == [], "nothing was created"

    edge = await a_profile(api, "x" * 64, description="d" * 2048)
    assert len(edge["name"]) == 64 and len(edge["description"]) == 2048
    path = f"/v1/profiles/{edge['id']}"
    for body, field in [
        ({"name": "has space"}, "name"),
        ({"name": None}, "name"),
        ({"description": "d" * 2049}, "description"),
        ({"label": "x"}, "label"),
    ]:
        assert_invalid(await api.call("PATCH", path, body), field, path)
    assert (await api.get(path))[1] == edge


async def test_a_name_is_unique_within_the_account_but_not_across_accounts(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    other = await driftstack.client(scopes=ADMIN)
    first = await a_profile(api, "production")
    assert_problem(await api.post("/v1/profiles", {"name": "production"}), 409, "conflict")
    assert_problem(await api.post("/v1/profiles", {"name": "Production"}), 409, "conflict")
    assert (await other.post("/v1/profiles", {"name": "production"}))[0] == 200

    second = await a_profile(api, "staging")
    path = f"/v1/profiles/{second['id']}"
    assert_problem(await api.call("PATCH", path, {"name": "production"}), 409, "conflict", instance=path)
    # A rename frees the old name; a deletion frees the name too.
    assert (await api.call("PATCH", f"/v1/profiles/{first['id']}", {"name": "prod"}))[0] == 200
    assert (await api.call("PATCH", path, {"name": "production"}))[0] == 200
    assert_problem(await api.post("/v1/profiles", {"name": "prod"}), 409, "conflict")
    assert (await api.delete(f"/v1/profiles/{first['id']}"))[0] == 204
    assert (await api.post("/v1/profiles", {"name": "prod"}))[0] == 200
    # Only the case changes: the same name, kept by the same profile.
    status, recased, _ = await api.call("PATCH", path, {"name": "PRODUCTION"})
    assert (status, recased["name"]) == (200, "PRODUCTION")


async def test_racing_creates_of_one_name_make_exactly_one_profile(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN, tier="api_scale")
    answers = await asyncio.gather(*(api.post("/v1/profiles", {"name": "contested"}) for _ in range(8)))
    assert sorted(status for status, _, _ in answers) == [200] + [409] * 7
    assert await listed_names(api) == ["contested"]


async def test_past_the_tier_cap_create_answers_429_tier_limit_and_a_deletion_frees_a_place(
    driftstack: Harness,
) -> None:
    api = await driftstack.client(tier="solo_manual", scopes=ADMIN)  # 5 profiles
    made = [await a_profile(api, f"p{n}") for n in range(5)]
    body = assert_problem(
        await api.post("/v1/profiles", {"name": "p5"}), 429, "tier-limit", instance="/v1/profiles"
    )
    assert {k: body[k] for k in ("limit", "current", "resource", "tier")} == {
        "limit": 5,
        "current": 5,
        "resource": "profile",
        "tier": "solo_manual",
    }
    assert_problem(await api.post(f"/v1/profiles/{made[0]['id']}/clone", {}), 429, "tier-limit")
    assert (await api.delete(f"/v1/profiles/{made[0]['id']}"))[0] == 204
    assert (await api.post("/v1/profiles", {"name": "p5"}))[0] == 200
    assert len(await listed_names(api)) == 5


async def test_racing_creates_for_the_last_place_under_the_cap_never_exceed_it(driftstack: Harness) -> None:
    api = await driftstack.client(tier="trial_pack", scopes=ADMIN)  # 1 profile
    answers = await asyncio.gather(*(api.post("/v1/profiles", {"name": f"r{n}"}) for n in range(6)))
    assert sorted(status for status, _, _ in answers) == [200] + [429] * 5
    assert len(await listed_names(api)) == 1


async def test_many_profiles_created_at_once_on_one_account_all_succeed(driftstack: Harness) -> None:
    # Every create writes the account's stream (its profile slots): racing writers retry, and
    # none of them may give up with a 500 while there is room under the cap.
    api = await driftstack.client(tier="enterprise", scopes=ADMIN)
    answers = await asyncio.gather(*(api.post("/v1/profiles", {"name": f"many-{n}"}) for n in range(30)))
    assert [status for status, _, _ in answers] == [200] * 30
    assert len(await listed_names(api)) == 30


async def test_account_me_shows_the_profile_cap_and_null_for_enterprise(driftstack: Harness) -> None:
    for tier, caps, expected in [
        ("trial_pack", {}, 1),
        ("agency_manual", {}, 200),
        ("api_builder", {}, 25),
        ("enterprise", {"profile_cap": 500}, None),
    ]:
        api = await driftstack.client(tier=tier, **caps)
        assert (await api.get("/v1/account/me"))[1]["profile_cap"] == expected


async def test_profiles_list_newest_first_in_cursor_pages(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN, tier="api_scale")
    names = [f"p{n:02d}" for n in range(7)]
    for name in names:
        await a_profile(api, name)
    seen: list[str] = []
    path = "/v1/profiles?limit=3"
    while True:
        status, page, _ = await api.get(path)
        assert status == 200 and set(page) == {"data", "has_more", "next_cursor"}
        seen += [p["name"] for p in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        path = f"/v1/profiles?limit=3&cursor={page['next_cursor']}"
    assert seen == list(reversed(names))
    _, everything, _ = await api.get("/v1/profiles")
    stamps = [(p["created_at"], p["id"]) for p in everything["data"]]
    assert stamps == sorted(stamps, reverse=True), "created_at desc, id desc"
    for bad in ("limit=0", "limit=101", "limit=x", "cursor=nope", "cursor=WzFd"):
        assert_invalid(await api.get(f"/v1/profiles?{bad}"), bad.split("=")[0], "/v1/profiles")


async def test_another_accounts_profile_answers_exactly_like_a_missing_one(driftstack: Harness) -> None:
    owner = await driftstack.client(scopes=ADMIN)
    stranger = await driftstack.client(scopes=ADMIN)
    theirs = await a_profile(owner, "private")
    missing = f"prof_{uuid.uuid4()}"

    def requests(pid: str) -> list[tuple[str, str, Any]]:
        return [
            ("GET", f"/v1/profiles/{pid}", None),
            ("PATCH", f"/v1/profiles/{pid}", {"name": "mine-now"}),
            ("DELETE", f"/v1/profiles/{pid}", None),
            ("POST", f"/v1/profiles/{pid}/clone", {}),
            ("POST", f"/v1/profiles/{pid}/snapshots", {"label": "grab"}),
            ("GET", f"/v1/profiles/{pid}/snapshots", None),
            ("POST", "/v1/sessions", {"profile_id": pid}),
        ]

    for (method, path, body), (_, missing_path, missing_body) in zip(
        requests(theirs["id"]), requests(missing), strict=True
    ):
        seen = assert_problem(await stranger.call(method, path, body), 404, "not-found")
        absent = assert_problem(await stranger.call(method, missing_path, missing_body), 404, "not-found")
        assert json.dumps(seen).replace(theirs["id"], missing) == json.dumps(absent), (method, path)
    assert await listed_names(stranger) == []
    assert (await owner.get(f"/v1/profiles/{theirs['id']}"))[1] == theirs
    assert_problem(await owner.get("/v1/profiles/not-a-profile-id"), 404, "not-found")


async def test_reads_need_read_and_writes_need_admin(driftstack: Harness) -> None:
    account_id = await driftstack.account()
    admin = driftstack.api(await driftstack.key(account_id, "admin"))
    writer = driftstack.api(await driftstack.key(account_id, "read,write"))
    reader = driftstack.api(await driftstack.key(account_id, "read"))
    profile = await a_profile(admin, "production")
    path = f"/v1/profiles/{profile['id']}"

    assert (await reader.get(path))[0] == 200 and await listed_names(reader) == ["production"]
    for method, where, body in [
        ("POST", "/v1/profiles", {"name": "other"}),
        ("PATCH", path, {"name": "renamed"}),
        ("POST", f"{path}/clone", {}),
        ("POST", f"{path}/snapshots", {"label": "x"}),
        ("DELETE", path, None),
    ]:
        for key in (writer, reader):
            problem = assert_problem(await key.call(method, where, body), 403, "forbidden", instance=where)
            assert "'admin' scope" in problem["detail"]
    assert_problem(await admin.get(path), 403, "forbidden")
    assert (await reader.get(path))[1] == profile and await listed_names(reader) == ["production"]


async def test_a_member_reads_but_cannot_write_the_owners_profiles_and_an_admin_member_can(
    driftstack: Harness,
) -> None:
    owner_id = await driftstack.account(tier="team_manual")
    member_id = await driftstack.account()
    boss_id = await driftstack.account()
    await asyncio.to_thread(driftstack.application.add_member, owner_id, member_id, "member")
    await asyncio.to_thread(driftstack.application.add_member, owner_id, boss_id, "admin")
    owner = driftstack.api(await driftstack.key(owner_id, ADMIN))
    member = driftstack.api(await driftstack.key(member_id, ADMIN), acting_for=owner_id)
    admin_member = driftstack.api(await driftstack.key(boss_id, ADMIN), acting_for=owner_id)
    held = await a_profile(owner, "shared")
    path = f"/v1/profiles/{held['id']}"

    assert (await member.get(path))[1] == held
    assert await listed_names(member) == ["shared"]
    for method, where, body in [
        ("POST", "/v1/profiles", {"name": "members-own"}),
        ("PATCH", path, {"description": "scribbled"}),
        ("POST", f"{path}/clone", {}),
        ("POST", f"{path}/snapshots", {"label": "x"}),
        ("DELETE", path, None),
    ]:
        problem = assert_problem(await member.call(method, where, body), 403, "forbidden", instance=where)
        assert "admin member" in problem["detail"]
    assert (await owner.get(path))[1] == held, "the member changed nothing"

    status, made, _ = await admin_member.post("/v1/profiles", {"name": "from-the-admin"})
    assert status == 200
    assert (await admin_member.call("PATCH", path, {"description": "edited by an admin member"}))[0] == 200
    assert sorted(await listed_names(owner)) == ["from-the-admin", "shared"]
    assert await listed_names(driftstack.api(await driftstack.key(boss_id))) == [], (
        "made on the owner's account"
    )
    _, log, _ = await owner.get(f"/v1/audit-log?resource_id={made['id']}")
    assert [e["action"] for e in log["data"]] == ["profile.created"]
    assert log["data"][0]["api_key_id"] != (await owner.get("/v1/account/me"))[1]["api_key"]["id"]


async def test_clone_copies_archetype_and_description_and_numbers_its_name(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN, tier="api_scale")
    source = await a_profile(api, "production", archetype=OLDER, description="primary")
    at = f"/v1/profiles/{source['id']}/clone"

    status, first, _ = await api.post(at)
    assert status == 200 and list(first) == PROFILE_FIELDS
    assert (first["name"], first["archetype"], first["description"]) == (
        "production (copy)",
        OLDER,
        "primary",
    )
    assert first["id"] != source["id"] and first["last_used_at"] is None
    assert (await api.post(at, {}))[1]["name"] == "production (copy 2)"
    assert (await api.post(at, {}))[1]["name"] == "production (copy 3)"
    status, named, _ = await api.post(at, {"name": "production-staging"})
    assert (status, named["name"], named["archetype"]) == (200, "production-staging", OLDER)
    status, repinned, _ = await api.post(at, {"name": "production-ios18", "archetype": DEFAULT})
    assert (status, repinned["archetype"]) == (200, DEFAULT), "repin via clone with a new archetype"
    assert_problem(await api.post(at, {"name": "production"}), 409, "conflict", instance=at)
    assert_invalid(await api.post(at, {"name": "bad name"}), "name", at)
    assert_invalid(await api.post(at, {"archetype": "nokia3310"}), "archetype", at)
    assert_invalid(await api.post(at, {"description": "x"}), "description", at)
    assert (await api.get(f"/v1/profiles/{source['id']}"))[1] == source, "the source is untouched"

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={first['id']}")
    [entry] = log["data"]
    assert entry["action"] == "profile.created" and entry["payload"]["cloned_from"] == source["id"]
    assert entry["payload"]["restored_from_snapshot"] is None


async def test_automatic_clone_names_stop_at_copy_99_with_409(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN, tier="enterprise")
    source = await a_profile(api, "base")
    at = f"/v1/profiles/{source['id']}/clone"
    for n in range(1, 100):
        status, clone, _ = await api.post(at)
        assert status == 200, clone
        assert clone["name"] == ("base (copy)" if n == 1 else f"base (copy {n})")
    problem = assert_problem(await api.post(at), 409, "conflict", instance=at)
    assert "(copy 99)" in problem["detail"]
    assert (await api.post(at, {"name": "base-100"}))[0] == 200, "a named clone still works"


async def test_profile_changes_are_in_the_audit_log(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    profile = await a_profile(api, "production", description="primary")
    path = f"/v1/profiles/{profile['id']}"
    await api.call("PATCH", path, {"name": "production-eu", "description": None})
    assert (await api.delete(path))[0] == 204
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={profile['id']}")
    entries = list(reversed(log["data"]))
    assert [e["action"] for e in entries] == ["profile.created", "profile.updated", "profile.deleted"]
    assert {e["resource_type"] for e in entries} == {"profile"}
    created, updated, deleted = (e["payload"] for e in entries)
    assert (created["name"], created["archetype"], created["description"]) == (
        "production",
        DEFAULT,
        "primary",
    )
    assert (created["cloned_from"], created["restored_from_snapshot"]) == (None, None)
    assert not any(field.startswith("originator_") for field in created), "no event-store bookkeeping"
    assert updated == {"name": "production-eu", "description": None, "previous_name": "production"}
    assert deleted == {"name": "production-eu"}
    assert all(e["api_key_id"] for e in entries)
