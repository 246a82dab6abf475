"""Every answer the service gives matches the document's schema for its operation and status, field for field."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from driftstack.domain.webhook_endpoint import EVENT_TYPES

from ..conftest import Api, Harness
from .documented import METHODS, assert_documented, schema_errors, template_of
from .receivers import Receiver

Answer = tuple[int, Any, Any]


@dataclasses.dataclass
class Recording(Api):
    """A client that keeps every answer it got, for checking against the document afterwards."""

    answers: list[tuple[str, str, Answer]] = dataclasses.field(default_factory=list)

    async def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Answer:
        answer = await super().call(method, path, body, raw=raw)
        self.answers.append((method, path, answer))
        return answer


def recording(api: Api, answers: list[tuple[str, str, Answer]]) -> Recording:
    return Recording(api.http, api.base, api.key, api.acting_for, answers)


async def a_session_s_life(api: Recording, site: str) -> dict[str, Any]:
    """Everything a session answers, from creation to after its end; returns the session as it ended."""
    session = await api.ready_session(
        behavioral_profile="power_user", label="conformance", metadata={"k": [1]}
    )
    one = f"/v1/sessions/{session['id']}"
    for path, body in [
        ("navigate", {"url": f"{site}/login?user=ada", "wait_until": "load"}),
        ("state", None),  # a cookie with every member the browser reports
        ("navigate", {"url": f"{site}/form", "wait_for": "domcontentloaded"}),
        ("interact", {"type": "tap", "selector": "#tap-me"}),
        ("interact", {"type": "type", "selector": "#name", "text": "ada"}),
        ("interact", {"type": "scroll", "direction": "down", "pixels": 300}),
        ("interact", {"type": "press", "key": "Enter"}),
        ("wait", {"kind": "selector", "selector": "#result"}),
        ("wait", {"kind": "duration", "timeout_ms": 1}),
        ("capture", {"kind": "screenshot", "full_page": True}),
        ("capture", {"kind": "pdf"}),
        ("capture", {"kind": "dom_snapshot"}),
        ("navigate", {"url": "http://127.0.0.1:1/"}),  # refused: 502 driver-error
        ("navigate", {"url": "http://169.254.169.254/"}),  # 403 egress-refused
        ("interact", {"type": "tap", "selector": "#nowhere", "timeout_ms": 50}),  # 502 too
        ("egress?limit=2", None),  # refused entries, plain-HTTP ones with their status
        ("network?failed=true", None),
        ("actions?limit=3", None),  # failed ones with their error
        ("navigations", None),
        ("console?level=error", None),
        ("health", None),
    ]:
        await api.call("GET" if body is None else "POST", f"{one}/{path}", body)
    await kept_captures(api, one)
    assert (await api.post("/v1/sessions", {}))[0] == 429  # concurrency-limit: one session at a time
    await api.get(one)
    await api.get("/v1/sessions?limit=1")
    await api.get("/v1/sessions?status=ready")
    assert (await api.delete(one))[0] == 204
    assert (await api.post(f"{one}/wait", {"kind": "navigation"}))[0] == 410
    await api.get(f"{one}/health")  # ended
    ended = await api.get(one)
    return dict(ended[1])


async def kept_captures(api: Recording, one: str) -> None:
    """The session's artifacts: listed, read, downloaded (bytes: recorded by hand), deleted."""
    status, listed, _ = await api.get(f"{one}/artifacts?limit=2")
    assert status == 200 and listed["data"], listed
    artifact = listed["data"][0]
    await api.get(f"/v1/artifacts/{artifact['id']}")
    async with api.http.get(artifact["url"]) as answer:
        await answer.read()
        path = artifact["url"].removeprefix(api.base)
        api.answers.append(("GET", path, (answer.status, None, answer.headers)))
    async with api.http.get(artifact["url"].replace("signature=", "signature=0")) as answer:
        api.answers.append(
            ("GET", path, (answer.status, await answer.json(content_type=None), answer.headers))
        )
    assert (await api.delete(f"/v1/artifacts/{artifact['id']}"))[0] == 204


async def a_profile_s_life(api: Recording) -> None:
    """Everything profiles and snapshots answer, a snapshot whose parent is gone included."""
    name = f"p{uuid.uuid4().hex[:8]}"
    created = await api.post("/v1/profiles", {"name": name, "description": "primary"})
    pid = created[1]["id"]
    assert (await api.post("/v1/profiles", {"name": name}))[0] == 409
    await api.get("/v1/profiles?limit=1")
    await api.get(f"/v1/profiles/{pid}")
    await api.call("PATCH", f"/v1/profiles/{pid}", {"description": None})
    clone = await api.post(f"/v1/profiles/{pid}/clone")
    bound = await api.ready_session(profile_id=pid)  # a session with its profile_id; the profile used
    assert (await api.delete(f"/v1/sessions/{bound['id']}"))[0] == 204
    await api.get(f"/v1/sessions/{bound['id']}")
    assert (await api.get(f"/v1/profiles/{pid}"))[1]["last_used_at"] is not None
    snapshot = await api.post(f"/v1/profiles/{pid}/snapshots", {"label": "baseline"})
    sid = snapshot[1]["id"]
    await api.get(f"/v1/profiles/{pid}/snapshots")
    await api.get("/v1/profile-snapshots?limit=1")
    await api.get(f"/v1/profile-snapshots/{sid}")
    restored = await api.post(f"/v1/profile-snapshots/{sid}/restore", {"name": f"{name}-r"})
    assert (await api.delete(f"/v1/profiles/{restored[1]['id']}"))[0] == 204
    assert (await api.delete(f"/v1/profiles/{clone[1]['id']}"))[0] == 204
    assert (await api.delete(f"/v1/profiles/{pid}"))[0] == 204
    await api.get(f"/v1/profile-snapshots/{sid}")  # its parent gone: parent_profile_id null
    assert (await api.delete(f"/v1/profile-snapshots/{sid}"))[0] == 204
    assert (await api.get(f"/v1/profile-snapshots/{sid}"))[0] == 404


async def the_webhooks_api(api: Recording, receiver: Receiver) -> None:
    """Everything the webhook routes answer, on an endpoint that has received every event type."""
    endpoints = await api.get("/v1/webhooks")
    eid = endpoints[1]["data"][0]["id"]
    await api.post(
        "/v1/webhooks", {"url": receiver.url, "event_types": ["session.failed"], "signature_scheme": "v1a"}
    )
    await api.get("/v1/webhooks?limit=1")
    await api.get("/v1/webhooks/event-types")
    await api.get(f"/v1/webhooks/{eid}")
    await api.call("PATCH", f"/v1/webhooks/{eid}", {"description": "every event"})
    await api.post(f"/v1/webhooks/{eid}/rotate-secret", {"signature_scheme": "v1a"})
    await api.post(f"/v1/webhooks/{eid}/rotate-secret")
    await api.get(f"/v1/webhooks/{eid}")  # the previous key still signs: previous_secret_expires_at
    ping = await api.post(f"/v1/webhooks/{eid}/test")
    await api.get(f"/v1/webhooks/{eid}/deliveries")
    await api.get(f"/v1/webhooks/{eid}/deliveries?status=succeeded&limit=2")
    await api.post(f"/v1/webhooks/{eid}/deliveries/{ping[1]['id']}/redeliver")
    assert (await api.delete(f"/v1/webhooks/{eid}"))[0] == 204
    assert (await api.delete(f"/v1/webhooks/{eid}"))[0] == 404


async def problems(driftstack: Harness, api: Recording, answers: list[tuple[str, str, Answer]]) -> None:
    """The problems a client meets most, each with the members its type carries."""
    nobody = f"ses_{uuid.UUID(int=1)}"
    await api.post("/v1/sessions", {"colour": "red"})  # 400 with errors[]
    await api.get("/v1/sessions?colour=red")
    await api.post(f"/v1/sessions/{nobody}/navigate", {"url": "https://example.com"})  # 404
    await api.post("/v1/sessions", raw=b"[" * 64 + b"]" * 64)  # too deep: 400
    await api.post("/v1/sessions", raw=b'{"label": "' + b"x" * (1024 * 1024) + b'"}')  # 413, no members
    await recording(driftstack.api("ds_live_nope"), answers).get("/v1/sessions")  # 401
    reader = recording(driftstack.api(await driftstack.key(await driftstack.account(), "read")), answers)
    await reader.post("/v1/sessions", {})  # 403
    capped = recording(await driftstack.client(tier="trial_pack", scopes="read,write,admin"), answers)
    await capped.post("/v1/profiles", {"name": "first"})
    assert (await capped.post("/v1/profiles", {"name": "second"}))[0] == 429  # tier-limit
    await recording(driftstack.api(None), answers).get("/v1/openapi.json")
    await recording(driftstack.api(None), answers).get("/v1/asyncapi.json")
    assert (await api.get("/v1/sessions/ws"))[0] == 426  # a plain GET to the WebSocket's route
    await api.get("/healthz")
    await api.get("/livez")
    await api.get("/v1/account/me")


async def test_every_answer_matches_the_documented_schema_of_its_operation_and_status(
    hooked: Harness, receiver: Receiver, site: str
) -> None:
    async with hooked.http.get(hooked.base + "/v1/openapi.json") as response:
        document = dict(await response.json())
    answers: list[tuple[str, str, Answer]] = []
    api = recording(await hooked.client(scopes="read,write,admin", concurrency=1), answers)
    await api.post("/v1/webhooks", {"url": receiver.url, "event_types": list(EVENT_TYPES)})

    ended = await a_session_s_life(api, site)
    await a_profile_s_life(api)
    await receiver.until(
        lambda: {"session.completed", "profile.deleted"} <= {r.type for r in receiver.received},
        what="the session's and the profiles' events",
    )
    await the_webhooks_api(api, receiver)
    await api.get("/v1/audit-log")
    first = await api.get("/v1/audit-log?limit=1&resource_type=session")
    await api.get(f"/v1/audit-log?limit=1&cursor={first[1]['next_cursor']}")
    minted = await api.post("/v1/api-keys", {"scopes": ["read"], "expires_in": "90m"})
    await api.get("/v1/api-keys?limit=1")
    await api.delete(f"/v1/api-keys/{minted[1]['id']}")
    await problems(hooked, api, answers)

    seen, wrong = set(), []
    for method, path, answer in answers:
        template = template_of(document, method, path)
        seen.add((method, template, str(answer[0])))
        try:
            assert_documented(document, method, template, answer)
        except AssertionError as e:
            wrong.append(f"{method} {path} {answer[0]}: {e}")
    assert wrong == []

    # Every operation was seen succeeding, so every success schema was checked against a real answer.
    unanswered = [
        (method.upper(), template)
        for template, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
        and not any(
            (method.upper(), template, status) in seen for status in op["responses"] if status < "300"
        )
    ]
    # The WebSocket's success is its upgrade (101), which the socket tests prove.
    assert unanswered == [("GET", "/v1/sessions/ws")]
    statuses = {status for _, _, status in seen}
    assert {"400", "401", "403", "404", "409", "410", "413", "426", "429", "502"} <= statuses

    # What Driftstack sent to the receiver matches what the document says each webhook carries.
    for received in receiver.received:
        content = document["webhooks"].get(received.type, {}).get("post", {}).get("requestBody", {})
        schema = content["content"]["application/json"]["schema"]["$ref"] if content else None
        if schema is not None:
            assert schema_errors(document, schema, received.payload) == [], received.payload
    assert {r.type for r in receiver.received} >= set(EVENT_TYPES) - {"session.failed"}

    # The schemas are tight enough to fail: an undeclared member, or null where none is allowed.
    session = "#/components/schemas/Session"
    assert schema_errors(document, session, ended) == []
    assert schema_errors(document, session, {**ended, "undeclared": 1}) != []
    assert schema_errors(document, session, {**ended, "action_count": None}) != []
