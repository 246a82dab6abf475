"""The /v1/webhooks API: registration, its refusals, access, rotation, Ed25519, pings, redelivery, disabling."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from driftstack.domain.webhook_endpoint import EVENT_TYPES
from driftstack.webhooks.signing import signed_content

from ..conftest import Api, Harness, StartDriftstack
from .receivers import Receiver, an_endpoint, deliveries
from .servers import poll

PUBLIC_URL = "https://93.184.215.14/hooks"  # an IP literal: public, and needs no DNS
NO_SUCH_ENDPOINT = f"whep_{uuid.UUID(int=1)}"
VALIDATION_FAILED = "https://driftstack.dev/problems/validation-failed"


async def admin(driftstack: Harness, **caps: Any) -> Api:
    return await driftstack.client(scopes="read,write,admin", **caps)


async def test_registering_shows_the_secret_once_and_the_endpoint_reads_back_without_it(
    driftstack: Harness,
) -> None:
    api = await admin(driftstack)
    status, created, _ = await api.post(
        "/v1/webhooks",
        {"url": PUBLIC_URL, "event_types": ["session.completed"], "description": "billing"},
    )
    assert status == 201, created
    assert created["id"].startswith("whep_") and created["secret"].startswith("whsec_")
    assert created["url"] == PUBLIC_URL and created["event_types"] == ["session.completed"]
    assert (created["enabled"], created["disabled_reason"], created["description"]) == (True, None, "billing")
    assert (created["signature_scheme"], created["public_key"]) == ("v1", None)

    _, shown, _ = await api.get(f"/v1/webhooks/{created['id']}")
    assert "secret" not in shown
    assert shown == {k: v for k, v in created.items() if k != "secret"}

    second = await an_endpoint(api, PUBLIC_URL, ["session.failed"])
    _, page, _ = await api.get("/v1/webhooks?limit=1")
    assert [e["id"] for e in page["data"]] == [second["id"]] and page["has_more"]
    _, rest, _ = await api.get(f"/v1/webhooks?limit=1&cursor={page['next_cursor']}")
    assert [e["id"] for e in rest["data"]] == [created["id"]] and not rest["has_more"]
    assert all("secret" not in e for e in page["data"] + rest["data"])


async def test_the_event_type_catalogue_lists_every_type_with_a_description_and_an_example(
    driftstack: Harness,
) -> None:
    api = await admin(driftstack)
    status, catalogue, _ = await api.get("/v1/webhooks/event-types")
    assert status == 200
    assert [t["type"] for t in catalogue["data"]] == [*EVENT_TYPES, "webhook.test"]
    assert [t["type"] for t in catalogue["data"] if t["subscribable"]] == list(EVENT_TYPES)
    ping = catalogue["data"][-1]
    assert "POST /v1/webhooks/:id/test" in ping["description"] and ping["example"]["data"]["endpoint_id"]
    status, problem, _ = await api.post("/v1/webhooks", {"url": PUBLIC_URL, "event_types": ["webhook.test"]})
    assert status == 400 and problem["errors"][0]["field"].startswith("event_types"), problem
    for entry in catalogue["data"]:
        assert entry["description"] and entry["example"]["type"] == entry["type"]
        assert set(entry["example"]) == {"id", "type", "created_at", "data"}
    completed = next(t for t in catalogue["data"] if t["type"] == "session.completed")["example"]
    assert completed["data"]["status"] == "destroyed" and "metadata" in completed["data"]
    assert "reason" in completed["data"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook", "event_types": ["session.completed"]}, "url"),
        ({"url": "https://", "event_types": ["session.completed"]}, "url"),
        ({"url": "https://user:pw@example.com/", "event_types": ["session.completed"]}, "url"),
        ({"event_types": ["session.completed"]}, "url"),
        ({"url": PUBLIC_URL, "event_types": ["session.exploded"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": []}, "event_types"),
        ({"url": PUBLIC_URL}, "event_types"),
        (
            {"url": PUBLIC_URL, "event_types": ["session.failed"], "signature_scheme": "v2"},
            "signature_scheme",
        ),
        ({"url": PUBLIC_URL, "event_types": ["session.failed"], "colour": "red"}, "colour"),
    ],
)
async def test_a_bad_url_or_an_unknown_event_type_answers_400(
    driftstack: Harness, body: dict[str, Any], field: str
) -> None:
    api = await admin(driftstack)
    status, problem, _ = await api.post("/v1/webhooks", body)
    assert status == 400 and problem["type"] == VALIDATION_FAILED, problem
    assert problem["errors"][0]["field"] == field, problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://100.64.0.1/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number
        # Loopback and the metadata service in the IPv6 forms that embed an IPv4 address.
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "http://[fd00:ec2::254]/latest/meta-data/",
    ],
)
async def test_a_host_that_is_not_public_is_refused_naming_the_setting_that_would_allow_it(
    driftstack: Harness, url: str
) -> None:
    api = await admin(driftstack)
    status, problem, _ = await api.post("/v1/webhooks", {"url": url, "event_types": ["session.completed"]})
    assert_refused_url(status, problem)
    assert "not a public address" in problem["detail"], problem
    assert "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE" in problem["detail"], problem
    endpoint = await an_endpoint(api, PUBLIC_URL, ["session.completed"])
    status, problem, _ = await api.call("PATCH", f"/v1/webhooks/{endpoint['id']}", {"url": url})
    assert_refused_url(status, problem)
    assert "not a public address" in problem["detail"], problem
    _, page, _ = await api.get("/v1/webhooks")
    assert [(e["id"], e["url"]) for e in page["data"]] == [(endpoint["id"], PUBLIC_URL)]


async def test_the_same_hosts_are_accepted_when_the_operator_allows_private_addresses(
    start_driftstack: StartDriftstack,
) -> None:
    api = await admin(await start_driftstack(webhook_allow_private=True))
    for url in ("http://[64:ff9b::7f00:1]/hook", "http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        status, created, _ = await api.post(
            "/v1/webhooks", {"url": url, "event_types": ["session.completed"]}
        )
        assert status == 201 and created["url"] == url, created


@pytest.mark.parametrize(
    "url",
    [
        "http://\u00ba\u0081",  # a host IDNA cannot encode
        "http://\udcff.example/",
        "http://a..b/",
        f"http://{'a' * 64}.example/",
        "http://exa mple.com/",
    ],
)
async def test_a_host_that_is_no_encodable_dns_name_answers_400_on_create_and_on_any_patch(
    driftstack: Harness, url: str
) -> None:
    api = await admin(driftstack)
    status, problem, _ = await api.post("/v1/webhooks", {"url": url, "event_types": ["session.completed"]})
    assert_refused_url(status, problem)
    endpoint = await an_endpoint(api, PUBLIC_URL, ["session.completed"])
    for target in (endpoint["id"], NO_SUCH_ENDPOINT, "whep_malformed"):
        status, problem, _ = await api.call("PATCH", f"/v1/webhooks/{target}", {"url": url})
        assert_refused_url(status, problem)
    _, shown, _ = await api.get(f"/v1/webhooks/{endpoint['id']}")
    assert shown["url"] == PUBLIC_URL
    other = await admin(driftstack)
    assert (await an_endpoint(other, PUBLIC_URL, ["session.failed"]))["url"] == PUBLIC_URL


def assert_refused_url(status: int, problem: dict[str, Any]) -> None:
    assert status == 400 and problem["type"] == VALIDATION_FAILED, problem
    assert problem["detail"].startswith("url: ") and [e["field"] for e in problem["errors"]] == ["url"], (
        problem
    )


async def test_writes_need_the_admin_scope_and_another_account_s_endpoint_answers_404(
    driftstack: Harness,
) -> None:
    owner = await admin(driftstack)
    endpoint = await an_endpoint(owner, PUBLIC_URL, ["session.completed"])
    path = f"/v1/webhooks/{endpoint['id']}"
    account_id = endpoint["account_id"]
    writer = driftstack.api(await driftstack.key(account_id, "read,write"))
    status, problem, _ = await writer.post(
        "/v1/webhooks", {"url": PUBLIC_URL, "event_types": ["session.failed"]}
    )
    assert status == 403 and "admin" in problem["detail"]
    for method, sub, body in (
        ("PATCH", "", {"enabled": False}),
        ("DELETE", "", None),
        ("POST", "/rotate-secret", None),
        ("POST", "/test", None),
    ):
        assert (await writer.call(method, path + sub, body))[0] == 403, (method, sub)
    assert (await writer.get(path))[0] == 200, "reads need only the read scope"

    stranger = await admin(driftstack)
    for method, sub, body in (
        ("GET", "", None),
        ("PATCH", "", {"enabled": False}),
        ("POST", "/rotate-secret", None),
        ("POST", "/test", None),
        ("GET", "/deliveries", None),
        ("DELETE", "", None),
    ):
        status, problem, _ = await stranger.call(method, path + sub, body)
        assert status == 404, (method, sub, problem)
    _, mine, _ = await stranger.get("/v1/webhooks")
    assert mine["data"] == []
    assert (await owner.get(path))[0] == 200, "the stranger changed nothing"


async def test_updates_and_deletion_are_audited_without_secrets(driftstack: Harness) -> None:
    api = await admin(driftstack)
    endpoint = await an_endpoint(api, PUBLIC_URL, ["session.completed"])
    path = f"/v1/webhooks/{endpoint['id']}"
    status, updated, _ = await api.call(
        "PATCH", path, {"enabled": False, "event_types": ["session.completed", "session.failed"]}
    )
    assert status == 200, updated
    assert updated["enabled"] is False and updated["event_types"] == ["session.completed", "session.failed"]
    assert (await api.call("PATCH", path, {}))[0] == 400
    assert (await api.call("PATCH", path, {"enabled": None}))[0] == 400
    status, rotated, _ = await api.post(f"{path}/rotate-secret")
    assert (
        status == 200 and rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    )
    assert rotated["previous_secret_expires_at"] is not None

    assert (await api.delete(path))[0] == 204
    assert (await api.delete(path))[0] == 404
    assert (await api.get(path))[0] == 404

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={endpoint['id']}")
    actions = [e["action"] for e in reversed(log["data"])]
    assert actions == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.deleted",
    ]
    assert all(e["resource_type"] == "webhook_endpoint" for e in log["data"])
    text = str(log)
    assert endpoint["secret"] not in text and rotated["secret"] not in text and "whsec_" not in text


async def test_a_test_ping_is_signed_sent_at_once_and_recorded(hooked: Harness, receiver: Receiver) -> None:
    api = await admin(hooked)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    status, delivery, _ = await api.post(f"/v1/webhooks/{endpoint['id']}/test")
    assert status == 200, delivery
    assert delivery["status"] == "succeeded" and delivery["event_type"] == "webhook.test"
    assert delivery["attempts"][0]["response_status"] == 200
    [ping] = receiver.received
    payload = ping.verified_with(endpoint["secret"])
    assert payload["type"] == "webhook.test" and payload["data"]["endpoint_id"] == endpoint["id"]
    assert payload["id"] == delivery["message_id"] == ping.headers["webhook-id"]


async def test_redelivering_sends_the_same_message_again(hooked: Harness, receiver: Receiver) -> None:
    api = await admin(hooked)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    session = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204
    [first] = await receiver.until(lambda: receiver.of_type("session.completed"))

    async def delivered() -> dict[str, Any] | None:
        rows = await deliveries(api, endpoint["id"], "?status=succeeded")
        return rows[0] if rows else None

    delivery = await poll(delivered, deadline_s=20)
    status, again, _ = await api.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver")
    assert status == 202, again
    assert again["status"] in ("pending", "delivering", "succeeded")
    _, second = await receiver.until(lambda: receiver.received[1:] and receiver.received)
    assert second.headers["webhook-id"] == first.headers["webhook-id"] and second.body == first.body
    second.verified_with(endpoint["secret"])

    async def two_attempts() -> dict[str, Any] | None:
        rows = await deliveries(api, endpoint["id"])
        return rows[0] if rows[0]["attempt_count"] == 2 and rows[0]["status"] == "succeeded" else None

    assert len((await poll(two_attempts, deadline_s=20))["attempts"]) == 2
    missing = f"/v1/webhooks/{endpoint['id']}/deliveries/dlv_{uuid.UUID(int=3)}/redeliver"
    assert (await api.post(missing))[0] == 404


async def test_after_a_rotation_both_the_old_and_the_new_secret_verify_a_delivery(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await admin(hooked)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    status, rotated, _ = await api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert status == 200, rotated
    assert (await api.post(f"/v1/webhooks/{endpoint['id']}/test"))[0] == 200
    [ping] = receiver.received
    signatures = ping.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    ping.verified_with(endpoint["secret"])
    ping.verified_with(rotated["secret"])


async def test_after_the_grace_period_only_the_new_secret_signs(
    start_driftstack: StartDriftstack, receiver: Receiver
) -> None:
    driftstack = await start_driftstack(webhook_allow_private=True, webhook_rotation_grace_s=0)
    api = await admin(driftstack)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    _, rotated, _ = await api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert (await api.post(f"/v1/webhooks/{endpoint['id']}/test"))[0] == 200
    [ping] = receiver.received
    assert len(ping.headers["webhook-signature"].split(" ")) == 1
    ping.verified_with(rotated["secret"])


async def test_an_ed25519_endpoint_signs_v1a_that_its_public_key_verifies(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await admin(hooked)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"], signature_scheme="v1a")
    assert endpoint["secret"] is None and endpoint["public_key"].startswith("whpk_")
    assert (await api.post(f"/v1/webhooks/{endpoint['id']}/test"))[0] == 200
    [ping] = receiver.received
    [signature] = ping.headers["webhook-signature"].split(" ")
    scheme, _, encoded = signature.partition(",")
    assert scheme == "v1a"
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(endpoint["public_key"].removeprefix("whpk_"))
    )
    content = signed_content(ping.headers["webhook-id"], int(ping.headers["webhook-timestamp"]), ping.body)
    public.verify(base64.b64decode(encoded), content)  # raises InvalidSignature if wrong


async def test_an_endpoint_that_answers_410_is_disabled_and_the_disabling_audited(
    hooked: Harness, receiver: Receiver
) -> None:
    api = await admin(hooked)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    receiver.answers = [410]
    session = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204

    async def disabled() -> dict[str, Any] | None:
        _, shown, _ = await api.get(f"/v1/webhooks/{endpoint['id']}")
        return shown if not shown["enabled"] else None

    shown = await poll(disabled, deadline_s=20)
    assert shown["disabled_reason"] == "gone"

    async def audited() -> list[dict[str, Any]]:
        # The dispatcher wrote the disabling, not this client: its read does not wait for the audit view.
        query = f"resource_id={endpoint['id']}&action=webhook_endpoint.disabled"
        return (await api.get(f"/v1/audit-log?{query}"))[1]["data"]

    [entry] = await poll(audited, what="the disabling in the audit log")
    assert entry["payload"]["reason"] == "gone"
    assert len(receiver.received) == 1, "a disabled endpoint is sent nothing more"


async def test_an_endpoint_failing_without_a_success_for_too_long_is_disabled(
    start_driftstack: StartDriftstack, receiver: Receiver
) -> None:
    driftstack = await start_driftstack(
        webhook_allow_private=True,
        webhook_retry_schedule_s=(0,) + (0.3,) * 20,
        webhook_disable_after_s=1.0,  # stands for the default's five days
    )
    api = await admin(driftstack)
    endpoint = await an_endpoint(api, receiver.url, ["session.completed"])
    receiver.answers = [500] * 100
    session = await api.ready_session()
    assert (await api.delete(f"/v1/sessions/{session['id']}"))[0] == 204

    async def disabled() -> dict[str, Any] | None:
        _, shown, _ = await api.get(f"/v1/webhooks/{endpoint['id']}")
        return shown if not shown["enabled"] else None

    assert (await poll(disabled, deadline_s=30))["disabled_reason"] == "failing"
    [delivery] = await deliveries(api, endpoint["id"])
    assert delivery["status"] == "pending" and len(delivery["attempts"]) >= 2

    # Enabled again, the held delivery goes out.
    receiver.answers = []
    status, _, _ = await api.call("PATCH", f"/v1/webhooks/{endpoint['id']}", {"enabled": True})
    assert status == 200

    async def succeeded() -> bool:
        rows = await deliveries(api, endpoint["id"])
        return rows[0]["status"] == "succeeded"

    await poll(succeeded, deadline_s=30)


async def test_signing_secrets_are_encrypted_at_rest(driftstack: Harness, database_url: str) -> None:
    api = await admin(driftstack)
    endpoint = await an_endpoint(api, PUBLIC_URL, ["session.completed"])
    _, rotated, _ = await api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    secrets = [s.removeprefix("whsec_") for s in (endpoint["secret"], rotated["secret"])]
    raw = [base64.b64decode(s) for s in secrets]

    def every_stored_byte() -> bytes:
        with psycopg.connect(database_url) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            ]
            dump = b""
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    dump += repr(row).encode() + b"".join(v for v in row if isinstance(v, bytes))
            return dump

    dump = await asyncio.to_thread(every_stored_byte)
    for secret, key in zip(secrets, raw, strict=True):
        assert secret.encode() not in dump and key not in dump
