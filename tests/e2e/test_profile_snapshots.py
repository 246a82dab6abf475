"""Profile snapshots: capture, list, get, restore as a new profile, delete; frozen and outliving their parent."""

from __future__ import annotations

import json
import uuid

from ..conftest import Harness
from .test_errors import assert_invalid, assert_problem
from .test_profiles import ADMIN, DEFAULT, OLDER, a_profile, listed_names

SNAPSHOT_FIELDS = [
    "id",
    "parent_profile_id",
    "parent_name",
    "parent_archetype",
    "label",
    "description",
    "captured_at",
]


async def test_a_snapshot_freezes_its_parent_and_is_read_back_alone_per_profile_and_per_account(
    driftstack: Harness,
) -> None:
    api = await driftstack.client(scopes=ADMIN)
    parent = await a_profile(api, "production", archetype=OLDER, description="primary")
    other = await a_profile(api, "staging")
    at = f"/v1/profiles/{parent['id']}/snapshots"

    status, snap, _ = await api.post(
        at, {"label": "before-iOS-26-rollout", "description": "the known-good baseline"}
    )
    assert status == 200, snap
    assert list(snap) == SNAPSHOT_FIELDS
    assert snap["id"].startswith("psnap_") and uuid.UUID(snap["id"][6:])
    assert (snap["parent_profile_id"], snap["parent_name"], snap["parent_archetype"]) == (
        parent["id"],
        "production",
        OLDER,
    )
    assert (snap["label"], snap["description"]) == ("before-iOS-26-rollout", "the known-good baseline")
    assert snap["captured_at"] >= parent["created_at"]
    assert (await api.get(f"/v1/profile-snapshots/{snap['id']}"))[1] == snap

    # The parent keeps evolving; the snapshot does not.
    await api.call("PATCH", f"/v1/profiles/{parent['id']}", {"name": "production-eu", "description": None})
    assert (await api.get(f"/v1/profile-snapshots/{snap['id']}"))[1] == snap

    second = (await api.post(at, {"label": "second"}))[1]
    assert second["description"] is None and second["parent_name"] == "production-eu"
    elsewhere = (await api.post(f"/v1/profiles/{other['id']}/snapshots", {"label": "other"}))[1]

    _, mine, _ = await api.get(at)
    assert [s["id"] for s in mine["data"]] == [second["id"], snap["id"]], "newest first"
    assert (mine["has_more"], mine["next_cursor"]) == (False, None)
    _, page1, _ = await api.get("/v1/profile-snapshots?limit=2")
    assert [s["id"] for s in page1["data"]] == [elsewhere["id"], second["id"]] and page1["has_more"]
    _, page2, _ = await api.get(f"/v1/profile-snapshots?limit=2&cursor={page1['next_cursor']}")
    assert [s["id"] for s in page2["data"]] == [snap["id"]] and not page2["has_more"]
    assert_invalid(await api.get(f"{at}?limit=0"), "limit", at)


async def test_capture_checks_label_and_description(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    parent = await a_profile(api, "production")
    at = f"/v1/profiles/{parent['id']}/snapshots"
    for body, field in [
        ({}, "label"),
        ({"label": ""}, "label"),
        ({"label": "x" * 121}, "label"),
        ({"label": "ok", "description": "d" * 2049}, "description"),
        ({"label": "ok", "name": "x"}, "name"),
    ]:
        assert_invalid(await api.post(at, body), field, at)
    assert (await api.post(at, {"label": "x" * 120, "description": "d" * 2048}))[0] == 200
    _, listed, _ = await api.get("/v1/profile-snapshots")
    assert len(listed["data"]) == 1


async def test_restoring_makes_a_new_profile_with_the_snapshots_archetype_and_description(
    driftstack: Harness,
) -> None:
    api = await driftstack.client(scopes=ADMIN)
    parent = await a_profile(api, "production", archetype=OLDER, description="primary")
    described = (
        await api.post(f"/v1/profiles/{parent['id']}/snapshots", {"label": "a", "description": "baseline"})
    )[1]
    plain = (await api.post(f"/v1/profiles/{parent['id']}/snapshots", {"label": "b"}))[1]
    await api.call("PATCH", f"/v1/profiles/{parent['id']}", {"name": "renamed", "description": "changed"})

    status, restored, _ = await api.post(
        f"/v1/profile-snapshots/{described['id']}/restore", {"name": "restored-from-baseline"}
    )
    assert status == 200, restored
    assert restored["id"] not in (parent["id"],) and restored["name"] == "restored-from-baseline"
    assert (restored["archetype"], restored["description"]) == (OLDER, "baseline")
    assert restored["last_used_at"] is None
    _, again, _ = await api.post(f"/v1/profile-snapshots/{plain['id']}/restore", {"name": "restored-2"})
    assert again["description"] == "primary", "no description of its own: the parent's at capture"
    _, untouched, _ = await api.get(f"/v1/profiles/{parent['id']}")
    assert (untouched["name"], untouched["description"]) == ("renamed", "changed"), (
        "the parent is not modified"
    )

    at = f"/v1/profile-snapshots/{plain['id']}/restore"
    assert_problem(await api.post(at, {"name": "renamed"}), 409, "conflict", instance=at)
    for body, field in [
        ({}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "x", "archetype": DEFAULT}, "archetype"),
    ]:
        assert_invalid(await api.post(at, body), field, at)

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={restored['id']}")
    [created] = log["data"]
    assert created["action"] == "profile.created"
    assert created["payload"]["restored_from_snapshot"] == described["id"]
    assert created["payload"]["cloned_from"] is None
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={described['id']}")
    assert [e["action"] for e in reversed(log["data"])] == ["snapshot.created", "snapshot.restored"]
    assert log["data"][0]["payload"]["profile_id"] == restored["id"]
    assert log["data"][0]["resource_type"] == "snapshot"


async def test_a_restore_counts_against_the_profile_cap(driftstack: Harness) -> None:
    api = await driftstack.client(tier="trial_pack", scopes=ADMIN)  # 1 profile
    parent = await a_profile(api, "only")
    snap = (await api.post(f"/v1/profiles/{parent['id']}/snapshots", {"label": "s"}))[1]
    at = f"/v1/profile-snapshots/{snap['id']}/restore"
    body = assert_problem(await api.post(at, {"name": "second"}), 429, "tier-limit", instance=at)
    assert (body["limit"], body["current"], body["resource"], body["tier"]) == (1, 1, "profile", "trial_pack")
    assert (await api.delete(f"/v1/profiles/{parent['id']}"))[0] == 204
    assert (await api.post(at, {"name": "second"}))[0] == 200
    assert await listed_names(api) == ["second"]


async def test_deleting_the_parent_keeps_the_snapshot_restorable_without_a_parent(
    driftstack: Harness,
) -> None:
    api = await driftstack.client(scopes=ADMIN)
    parent = await a_profile(api, "production", archetype=OLDER)
    snap = (await api.post(f"/v1/profiles/{parent['id']}/snapshots", {"label": "keep"}))[1]
    assert (await api.delete(f"/v1/profiles/{parent['id']}"))[0] == 204

    status, orphan, _ = await api.get(f"/v1/profile-snapshots/{snap['id']}")
    assert status == 200 and orphan == {**snap, "parent_profile_id": None}
    assert (orphan["parent_name"], orphan["parent_archetype"]) == ("production", OLDER)
    assert [s["id"] for s in (await api.get("/v1/profile-snapshots"))[1]["data"]] == [snap["id"]]
    assert_problem(await api.get(f"/v1/profiles/{parent['id']}/snapshots"), 404, "not-found")
    status, restored, _ = await api.post(
        f"/v1/profile-snapshots/{snap['id']}/restore", {"name": "production"}
    )
    assert (status, restored["archetype"]) == (200, OLDER), "the old name is free again too"


async def test_a_snapshot_is_deleted_once_then_not_found(driftstack: Harness) -> None:
    api = await driftstack.client(scopes=ADMIN)
    parent = await a_profile(api, "production")
    snap = (await api.post(f"/v1/profiles/{parent['id']}/snapshots", {"label": "temp"}))[1]
    path = f"/v1/profile-snapshots/{snap['id']}"
    status, body, _ = await api.delete(path)
    assert (status, body) == (204, None)
    assert_problem(await api.delete(path), 404, "not-found", instance=path)
    assert_problem(await api.get(path), 404, "not-found", instance=path)
    assert_problem(await api.post(f"{path}/restore", {"name": "late"}), 404, "not-found")
    assert (await api.get("/v1/profile-snapshots"))[1]["data"] == []
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={snap['id']}")
    assert [e["action"] for e in reversed(log["data"])] == ["snapshot.created", "snapshot.deleted"]
    assert (await api.get(f"/v1/profiles/{parent['id']}"))[0] == 200, "the parent stays"


async def test_another_accounts_snapshot_answers_like_a_missing_one_and_writes_need_admin(
    driftstack: Harness,
) -> None:
    owner = await driftstack.client(scopes=ADMIN)
    stranger = await driftstack.client(scopes=ADMIN)
    parent = await a_profile(owner, "production")
    snap = (await owner.post(f"/v1/profiles/{parent['id']}/snapshots", {"label": "mine"}))[1]
    missing = f"psnap_{uuid.uuid4()}"
    for method, suffix, body in [
        ("GET", "", None),
        ("POST", "/restore", {"name": "x"}),
        ("DELETE", "", None),
    ]:
        seen = assert_problem(
            await stranger.call(method, f"/v1/profile-snapshots/{snap['id']}{suffix}", body), 404, "not-found"
        )
        absent = assert_problem(
            await stranger.call(method, f"/v1/profile-snapshots/{missing}{suffix}", body), 404, "not-found"
        )
        assert json.dumps(seen).replace(snap["id"], missing) == json.dumps(absent)
    assert (await stranger.get("/v1/profile-snapshots"))[1]["data"] == []

    reader = driftstack.api(await driftstack.key((await owner.get("/v1/account/me"))[1]["id"], "read,write"))
    assert (await reader.get(f"/v1/profile-snapshots/{snap['id']}"))[0] == 200
    assert_problem(
        await reader.post(f"/v1/profile-snapshots/{snap['id']}/restore", {"name": "x"}), 403, "forbidden"
    )
    assert_problem(await reader.delete(f"/v1/profile-snapshots/{snap['id']}"), 403, "forbidden")
    assert (await owner.get(f"/v1/profile-snapshots/{snap['id']}"))[1] == snap
