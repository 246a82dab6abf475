"""Sessions that end send signed webhooks, verified by the independent `standardwebhooks` package."""

from __future__ import annotations

import time
from typing import Any

from ..conftest import Harness
from .receivers import Receiver, an_endpoint, deliveries
from .servers import poll
from .test_recovery import kill_our_browsers

SESSION_ENDS = ["session.completed", "session.failed"]


async def test_destroying_a_session_sends_a_signed_session_completed_with_its_metadata(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await hooked.client(scopes="read,write,admin")
    endpoint = await an_endpoint(api, receiver.url, SESSION_ENDS)
    assert endpoint["secret"].startswith("whsec_")
    session = await api.ready_session(label="login flow", metadata={"ticket": "SUP-42"})

    destroyed_at = time.monotonic()
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    [completed] = await receiver.until(lambda: receiver.of_type("session.completed"))
    latency_s = time.monotonic() - destroyed_at

    payload = completed.verified_with(endpoint["secret"])
    assert payload["id"] == completed.headers["webhook-id"] and payload["id"].startswith("msg_")
    assert payload["type"] == "session.completed"
    data = payload["data"]
    assert (data["id"], data["status"], data["reason"]) == (session["id"], "destroyed", "client_request")
    assert data["metadata"] == {"ticket": "SUP-42"} and data["label"] == "login flow"
    assert data["destroyed_at"] is not None and data["account_id"] == session["account_id"]
    _, now_shown, _ = await api.get(f"/v1/sessions/{session['id']}")
    assert data == now_shown, "the payload is the session as GET shows it"
    # Not subscribed: created and ready were never sent.
    assert [r.type for r in receiver.received] == ["session.completed"]
    print(f"session.completed arrived {latency_s * 1000:.0f} ms after DELETE returned")

    # The dispatcher records the attempt once the receiver has answered: a moment after it received it.
    async def recorded() -> list[dict[str, Any]]:
        found = await deliveries(api, endpoint["id"])
        return found if found and found[0]["status"] != "delivering" else []

    [delivery] = await poll(recorded, what="the delivery's attempt on record")
    assert delivery["status"] == "succeeded" and delivery["message_id"] == payload["id"]
    [attempt] = delivery["attempts"]
    assert attempt["response_status"] == 200 and attempt["response_body"] == "answered 200"
    assert attempt["duration_ms"] >= 0 and attempt["error"] is None


async def test_a_session_whose_browser_dies_sends_a_signed_session_failed(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await hooked.client(scopes="read,write,admin")
    endpoint = await an_endpoint(api, receiver.url, ["session.failed"])
    session = await api.ready_session(metadata={"run": 7})

    assert kill_our_browsers()
    [failed] = await receiver.until(lambda: receiver.of_type("session.failed"))

    data = failed.verified_with(endpoint["secret"])["data"]
    assert (data["id"], data["status"], data["reason"]) == (session["id"], "errored", "browser_crashed")
    assert data["metadata"] == {"run": 7}


async def test_every_lifecycle_type_is_sent_to_an_endpoint_subscribed_to_it(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await hooked.client(scopes="read,write,admin")
    endpoint = await an_endpoint(api, receiver.url, ["session.created", "session.ready", "session.completed"])
    session = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204

    await receiver.until(lambda: len(receiver.received) >= 3)
    by_type = {r.type: r.verified_with(endpoint["secret"])["data"] for r in receiver.received}
    assert set(by_type) == {"session.created", "session.ready", "session.completed"}
    assert [by_type[t]["status"] for t in ("session.created", "session.ready", "session.completed")] == [
        "creating",
        "ready",
        "destroyed",
    ]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3


async def test_a_receiver_that_fails_then_recovers_gets_every_delivery_with_the_same_id(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await hooked.client(scopes="read,write,admin", concurrency=3)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    # Down for six answers (with Retry-After: 1), whichever deliveries they fall on; 8 attempts each.
    receiver.answers = [500, 503, 500, 429, 502, 500]
    receiver.retry_after = "1"
    ids = []
    for _ in range(3):
        session = await api.ready_session()
        assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
        ids.append(session["id"])

    def all_delivered() -> bool:
        return {r.payload["data"]["id"] for r in receiver.received if r.type == "session.completed"} == set(
            ids
        ) and len(receiver.received) >= 9

    await receiver.until(all_delivered, what="every delivery, after the failures")
    for r in receiver.received:
        r.verified_with(endpoint["secret"])
    by_message: dict[str, set[str]] = {}
    for r in receiver.received:
        by_message.setdefault(r.headers["webhook-id"], set()).add(r.payload["data"]["id"])
    assert len(by_message) == 3 and all(len(sessions) == 1 for sessions in by_message.values())

    async def all_succeeded() -> list[dict[str, Any]] | None:
        rows = await deliveries(api, endpoint["id"])
        return rows if all(d["status"] == "succeeded" for d in rows) else None

    rows = await _poll(all_succeeded)
    assert len(rows) == 3 and sum(len(d["attempts"]) for d in rows) == len(receiver.received) == 9
    for d in rows:
        statuses = [a["response_status"] for a in d["attempts"]]
        assert statuses[-1] == 200 and all(s >= 500 or s == 429 for s in statuses[:-1]), statuses


async def _poll(check: Any, deadline_s: float = 20.0) -> Any:
    return await poll(check, deadline_s=deadline_s, interval_s=0.1)


async def test_creating_and_deleting_a_profile_sends_signed_profile_created_and_profile_deleted(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await hooked.client(scopes="read,write,admin")
    endpoint = await an_endpoint(api, receiver.url, ["profile.created", "profile.deleted"])
    status, profile, _ = await api.post("/v1/profiles", {"name": "checkout", "description": "eu shop"})
    assert status == 200
    status, renamed, _ = await api.call("PATCH", f"/v1/profiles/{profile['id']}", {"name": "checkout-eu"})
    assert status == 200
    assert (await api.delete(f"/v1/profiles/{profile['id']}"))[0] == 204

    await receiver.until(lambda: len(receiver.received) >= 2)
    by_type = {r.type: r.verified_with(endpoint["secret"])["data"] for r in receiver.received}
    assert set(by_type) == {"profile.created", "profile.deleted"}
    created, deleted = by_type["profile.created"], by_type["profile.deleted"]
    assert created == {**profile, "account_id": created["account_id"]}
    assert created["account_id"].startswith("acc_")
    # The deleted profile is sent as it was last, after the rename.
    assert deleted["id"] == profile["id"] and deleted["name"] == "checkout-eu"
    assert deleted["description"] == renamed["description"] == "eu shop"
