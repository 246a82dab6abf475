"""Every view applies every event the store holds, whatever text it carries, and reads show it.

The events are appended through the application, as a command does, so the HTTP validation
(which refuses such text at the edge) does not stand in the way: this is the defence behind it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any
from uuid import UUID

import pytest

from driftstack.domain.api_key import NAME_MAX as KEY_NAME_MAX
from driftstack.domain.archetypes import DEFAULT_ARCHETYPE
from driftstack.domain.webhook_endpoint import EVENT_TYPES
from driftstack.projections.storable import REPLACEMENT, storable, storable_document
from driftstack.webhooks import signing

from ..conftest import Api, Harness, StartDriftstack
from .servers import poll


@dataclasses.dataclass(frozen=True)
class Hostile:
    sent: str  # what the event holds
    seen: str  # what a reader sees


HOSTILE = {
    "nul": Hostile("a\x00b\x00", f"a{REPLACEMENT}b{REPLACEMENT}"),
    "control_characters": Hostile(
        "\x01\x07\x08\x1b[31m\x7f\x9f\t\r\n\u2028", "\x01\x07\x08\x1b[31m\x7f\x9f\t\r\n\u2028"
    ),
    "very_long": Hostile("é\x00" * 50_000, f"é{REPLACEMENT}" * 50_000),
}
SCOPES = ["read", "write", "admin"]
# Fields the domain bounds (descriptions) carry the hostile text cut to fit.
DESCRIBED = 400


def metadata_of(text: str, bad_number: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {text: text, "nested": [text, {"k": text}]}
    if bad_number:
        doc.update(nan=math.nan, inf=math.inf)
    return doc


def seen_metadata(h: Hostile) -> dict[str, Any]:
    # NaN and the infinities are not JSON: a reader sees null.
    return {h.seen: h.seen, "nested": [h.seen, {"k": h.seen}], "nan": None, "inf": None}


@dataclasses.dataclass
class Appended:
    account_id: str
    key: str
    ended: str  # a session through every event, then destroyed
    failed: str  # a session errored
    profile: str
    snapshot: str
    restored: str
    endpoint: str


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def append_every_event(driftstack: Harness, text: str) -> Appended:
    """Every event type any view handles, each with `text` in every string it carries."""
    app = driftstack.application
    short = text[:DESCRIBED]
    account = await call(app.create_account, text, "api_starter")
    account_id = f"acc_{account.id}"
    member = await call(app.create_account, text, "api_starter")
    await call(app.add_member, account_id, f"acc_{member.id}", "member")
    key, plaintext, _ = await call(app.issue_key, account_id, SCOPES, text[:KEY_NAME_MAX])
    key_id = f"key_{key.id}"
    # A second key, minted by the first and revoked by it: the accounts view and the audit log see both.
    spare, _, _ = await call(app.issue_key, account_id, ["read"], text[:KEY_NAME_MAX])
    await call(app.revoke_key, f"key_{spare.id}", account_id, key_id)
    endpoint, _ = await call(
        app.register_webhook_endpoint,
        account_id,
        key_id,
        "https://example.com/hooks",
        list(EVENT_TYPES),
        short,
        True,
        signing.new_key("v1"),
    )

    def new_session(profile_id: str | None = None) -> UUID:
        session, _ = app.create_session(
            account_id,
            api_key_id=key_id,
            archetype=DEFAULT_ARCHETYPE,
            purpose=text,
            label=text,
            metadata=metadata_of(text, bad_number=True),
            behavioral_profile=text,
            profile_id=profile_id,
            node="another-node",  # no live browser here: only the events
        )
        return UUID(str(session.id))

    ended = await call(new_session)
    actions = [
        lambda s: s.become_ready(browser=text, duration_ms=1),
        lambda s: s.record_navigation(key_id, text, "load", text, text, 200, 1),
        lambda s: s.record_interaction(key_id, {"type": "type", "text": text, text: text}, text, text, 1),
        lambda s: s.record_wait(key_id, {"kind": text, "nan": math.nan}, text, text, 1),
        lambda s: s.record_state_read(key_id, text, 10, 1, title=text),
        lambda s: s.record_page_moved(text, text),
        lambda s: s.record_capture(key_id, "screenshot", False, 10, 1),
        lambda s: s.record_failure(key_id, text, {text: text}, text, text, 1, url=text, title=text),
    ]
    for action in actions:
        await call(app.update_session, ended, action)
    await call(app.end_session, ended, lambda s: s.destroy(text, key_id))
    failed = await call(new_session)
    await call(app.end_session, failed, lambda s: s.fail(text, text))

    profile, _ = await call(app.create_profile, account_id, key_id, "hostile", DEFAULT_ARCHETYPE, short)
    await call(app.update_profile, account_id, key_id, profile.public_id, None, short + "!")
    held = await call(new_session, profile.public_id)
    await call(app.take_profile, held)
    state = {"cookies": [{"name": text, "value": text}], "origins": []}
    await call(app.end_session, held, lambda s: s.destroy(text, key_id), state)
    snapshot, _ = await call(app.capture_snapshot, account_id, key_id, profile.public_id, "kept", short)
    dropped, _ = await call(app.capture_snapshot, account_id, key_id, profile.public_id, "dropped", short)
    await call(app.delete_snapshot, account_id, key_id, dropped.public_id)
    restored, _ = await call(app.restore_snapshot, account_id, key_id, snapshot.public_id, "restored")
    clone, _ = await call(app.clone_profile, account_id, key_id, profile.public_id, None, None)
    await call(app.delete_profile, account_id, key_id, clone.public_id)

    await call(app.update_webhook_endpoint, account_id, endpoint.id, key_id, {"description": short + "?"})
    await call(
        app.rotate_webhook_secret,
        account_id,
        endpoint.id,
        key_id,
        signing.new_key("v1"),
        "2099-01-01T00:00:00.000Z",
    )
    await call(app.disable_webhook_endpoint, endpoint.id, text, text)
    gone, _ = await call(
        app.register_webhook_endpoint,
        account_id,
        key_id,
        "https://example.com/gone",
        ["session.created"],
        short,
        True,
        signing.new_key("v1"),
    )
    await call(app.delete_webhook_endpoint, account_id, gone.id, key_id)
    return Appended(
        account_id=account_id,
        key=plaintext,
        ended=f"ses_{ended}",
        failed=f"ses_{failed}",
        profile=profile.public_id,
        snapshot=snapshot.public_id,
        restored=restored.public_id,
        endpoint=f"whep_{endpoint.id}",
    )


async def views_at_head(api: Api) -> dict[str, Any] | None:
    status, health, _ = await api.get("/healthz")
    head = health["store"]["head"]
    if all(v["position"] == head or v["status"] == "failing" for v in health["views"].values()):
        return {**health, "http_status": status}
    return None


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
async def test_every_view_applies_events_carrying_hostile_text_and_reads_show_it(
    start_driftstack: StartDriftstack, case: str
) -> None:
    driftstack = await start_driftstack(webhook_dispatch=False)  # the deliveries stay as enqueued
    h = HOSTILE[case]
    appended = await append_every_event(driftstack, h.sent)
    api = driftstack.api(appended.key)

    health = await poll(lambda: views_at_head(api), deadline_s=60, what="every view at the store's head")
    assert health["http_status"] == 200, health
    assert {v["status"] for v in health["views"].values()} == {"following"}, health["views"]

    status, ended, _ = await api.get(f"/v1/sessions/{appended.ended}")
    assert status == 200, ended
    assert (ended["label"], ended["purpose"], ended["behavioral_profile"]) == (h.seen, h.seen, h.seen)
    assert ended["metadata"] == seen_metadata(h)
    assert (ended["current_url"], ended["title"]) == (h.seen, h.seen)
    assert (ended["status"], ended["reason"], ended["action_count"]) == ("destroyed", h.seen, 6)
    status, failed, _ = await api.get(f"/v1/sessions/{appended.failed}")
    assert (status, failed["status"], failed["reason"]) == (200, "errored", h.seen)
    _, listed, _ = await api.get("/v1/sessions?limit=100")
    assert {appended.ended, appended.failed} <= {s["id"] for s in listed["data"]}

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={appended.ended}&limit=100")
    assert [e["action"] for e in reversed(log["data"])] == [
        "session.created",
        "session.ready",
        "session.navigated",
        "session.interacted",
        "session.waited",
        "session.state_read",
        "session.captured",
        "session.action_failed",
        "session.destroyed",
    ]
    created = log["data"][-1]["payload"]
    assert (created["label"], created["metadata"]) == (h.seen, seen_metadata(h))
    assert log["data"][0]["payload"]["reason"] == h.seen

    short = h.seen[:DESCRIBED]  # one character for one: cut before or after, the same
    status, profile, _ = await api.get(f"/v1/profiles/{appended.profile}")
    assert (status, profile["description"]) == (200, short + "!"), profile
    assert profile["last_used_at"] is not None
    status, snapshot, _ = await api.get(f"/v1/profile-snapshots/{appended.snapshot}")
    assert (status, snapshot["description"]) == (200, short), snapshot
    _, snapshots, _ = await api.get(f"/v1/profiles/{appended.profile}/snapshots")
    assert [s["id"] for s in snapshots["data"]] == [appended.snapshot]
    status, restored, _ = await api.get(f"/v1/profiles/{appended.restored}")
    assert (status, restored["name"]) == (200, "restored")
    _, profiles, _ = await api.get("/v1/profiles")
    assert {p["name"] for p in profiles["data"]} == {"hostile", "restored"}

    status, endpoint, _ = await api.get(f"/v1/webhooks/{appended.endpoint}")
    assert (status, endpoint["description"], endpoint["enabled"]) == (200, short + "?", False), endpoint
    status, deliveries, _ = await api.get(f"/v1/webhooks/{appended.endpoint}/deliveries?limit=100")
    assert status == 200, deliveries
    sent = {(d["event_type"], d["payload"]["data"]["id"]): d["payload"]["data"] for d in deliveries["data"]}
    for event_type in ("session.created", "session.ready", "session.completed"):
        data = sent[(event_type, appended.ended)]
        assert (data["label"], data["metadata"]) == (h.seen, seen_metadata(h)), event_type
    assert sent[("session.failed", appended.failed)]["reason"] == h.seen
    assert sent[("profile.created", appended.profile)]["description"] == short

    status, me, _ = await api.get("/v1/account/me")
    assert (status, me["name"]) == (200, h.seen)

    # Another account is served at once: no view stopped at these events.
    other = await driftstack.client(scopes="read,write,admin")
    status, fresh, _ = await other.post("/v1/profiles", {"name": "after-hostile"})
    assert status == 200, fresh
    status, read, _ = await other.get(f"/v1/profiles/{fresh['id']}")
    assert (status, read["name"]) == (200, "after-hostile")


async def test_a_lone_surrogate_is_never_stored_and_every_view_keeps_going(driftstack: Harness) -> None:
    # UTF-8 has no encoding for it: the store refuses the event whole, before anything is written.
    with pytest.raises(UnicodeEncodeError):
        await call(driftstack.application.create_account, "lone \ud800", "api_starter")
    api = await driftstack.client(scopes="read,write,admin")
    status, profile, _ = await api.post("/v1/profiles", {"name": "after-surrogate"})
    assert status == 200, profile
    health = await poll(lambda: views_at_head(api), deadline_s=30, what="every view at the store's head")
    assert health["http_status"] == 200, health


def test_what_postgresql_cannot_hold_is_replaced_and_the_rest_kept() -> None:
    assert storable("a\x00b\ud800c\udfff") == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}"
    assert storable({"k\x00": ["\x00", ("\x01",)]}) == {f"k{REPLACEMENT}": [REPLACEMENT, ("\x01",)]}
    assert storable_document({"n": math.nan, "i": -math.inf, "f": 1.5, "s": "\x00"}) == {
        "n": None,
        "i": None,
        "f": 1.5,
        "s": REPLACEMENT,
    }
    assert storable(b"\x00") == b"\x00"  # bytes go to bytea, which holds anything
