"""GET /v1/openapi.json describes exactly the API the service runs: its routes, scopes, bodies and answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from driftstack.domain.api_key import SCOPES
from driftstack.http import openapi
from driftstack.http.openapi_operations import operation
from driftstack.http.problems import PROBLEM_BASE, TYPES
from driftstack.projections.sessions import FIELDS

from ..conftest import Harness
from .documented import assert_documented, operations, schema_errors
from .receivers import Receiver

NO_SUCH_SESSION = f"ses_{uuid.UUID(int=1)}"
NO_SUCH = {
    "{session_id}": NO_SUCH_SESSION,
    "{profile_id}": f"prof_{uuid.UUID(int=3)}",
    "{snapshot_id}": f"psnap_{uuid.UUID(int=4)}",
    "{endpoint_id}": f"whep_{uuid.UUID(int=1)}",
    "{delivery_id}": f"dlv_{uuid.UUID(int=1)}",
    "{key_id}": f"key_{uuid.UUID(int=1)}",
    "{artifact_id}": f"art_{uuid.UUID(int=1)}",
}


def on_missing(template: str) -> str:
    """The path with every id a well-formed one that names nothing."""
    for name, value in NO_SUCH.items():
        template = template.replace(name, value)
    return template


@pytest.fixture
async def document(driftstack: Harness) -> dict[str, Any]:
    async with driftstack.http.get(driftstack.base + "/v1/openapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        return dict(await response.json())


async def test_the_document_is_served_without_a_key_and_is_valid_openapi_3_1(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()
    assert_documented(document, "GET", "/v1/openapi.json", await driftstack.api(None).get("/v1/openapi.json"))


async def test_every_route_the_app_serves_is_documented_and_every_documented_one_is_served(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    served = {
        # The socket's route takes every method so as to refuse all but GET itself (405, Allow: GET, HEAD).
        ("GET" if route.method == "*" else route.method, route.resource.canonical)
        for route in driftstack.web_app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == set(operations(document))


async def test_each_operation_needs_exactly_the_scope_it_documents(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    account_id = await driftstack.account(tier="api_scale")
    public = {key for key, op in operations(document).items() if op["security"] == []}
    # An artifact's content needs no key: its signed link is the grant (without one: 400, never 401).
    content = ("GET", "/v1/artifacts/{artifact_id}/content")
    documents = {("GET", "/v1/openapi.json"), ("GET", "/v1/asyncapi.json")}
    assert public == {("GET", "/healthz"), ("GET", "/livez"), *documents, content}
    for (method, template), op in operations(document).items():
        path = on_missing(template)
        if (method, template) in public:
            status, _, _ = await driftstack.api(None).call(method, path)
            assert status == (400 if (method, template) == content else 200), (method, template)
            continue
        scope = op["x-required-scope"]
        assert op["security"] == [{"bearer": [scope]}] and f"`{scope}` scope" in op["description"]
        without = driftstack.api(await driftstack.key(account_id, ",".join(s for s in SCOPES if s != scope)))
        with_only = driftstack.api(await driftstack.key(account_id, scope))
        # An unknown field: a write that passes the scope check stops at validation, creating nothing.
        body = {"not_a_field": 1} if method in ("POST", "PATCH") else None
        answer = await without.call(method, path, body)
        assert answer[0] == 403, (method, template, answer[1])
        assert_documented(document, method, template, answer)
        answer = await with_only.call(method, path, body)
        assert answer[0] not in (401, 403), (method, template, answer[1])
        assert_documented(document, method, template, answer)


async def test_every_problem_type_is_documented_with_its_status_and_members(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    mapping = problem["discriminator"]["mapping"]
    assert set(mapping) == {PROBLEM_BASE + slug for slug in TYPES}
    for slug, (status, title) in TYPES.items():
        assert f"`{slug}`" in problem["description"]
        response = document["components"]["responses"][mapping[PROBLEM_BASE + slug].rsplit("/", 1)[1][:-7]]
        example = response["content"]["application/problem+json"]["example"]
        assert (example["type"], example["status"], example["title"]) == (PROBLEM_BASE + slug, status, title)
        assert schema_errors(document, "#/components/schemas/Problem", example) == []
        assert schema_errors(document, "#/components/schemas/Problem", {**example, "status": 418}) != []
        # Open to members a type may come to carry.
        assert schema_errors(document, "#/components/schemas/Problem", {**example, "later": 1}) == []


async def test_a_created_session_matches_the_documented_session_resource(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    api = await driftstack.client()
    session_schema = document["components"]["schemas"]["Session"]
    assert set(session_schema["properties"]) == set(FIELDS) == set(session_schema["required"])
    answer = await api.post("/v1/sessions", {"label": "login flow", "metadata": {"ticket": "SUP-42"}})
    assert answer[0] == 201, answer[1]
    assert schema_errors(document, "#/components/schemas/Session", answer[1]) == []
    assert_documented(document, "POST", "/v1/sessions", answer)
    sid = answer[1]["id"]
    assert_documented(document, "GET", "/v1/sessions/{session_id}", await api.get(f"/v1/sessions/{sid}"))
    assert_documented(document, "GET", "/v1/sessions", await api.get("/v1/sessions?limit=1"))
    assert schema_errors(document, "#/components/schemas/Session", {**answer[1], "extra": 1}) != []


async def test_every_answer_of_a_session_s_life_is_documented(
    driftstack: Harness, document: dict[str, Any], site: str
) -> None:
    api = await driftstack.client(concurrency=1)
    session = await api.ready_session(behavioral_profile="power_user")
    sid, one = session["id"], "/v1/sessions/{session_id}"
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "navigate", {"url": f"{site}/form", "wait_for": "domcontentloaded"}),
        ("POST", "interact", {"type": "tap", "selector": "#tap-me"}),
        ("POST", "interact", {"type": "type", "selector": "#name", "text": "ada"}),
        ("POST", "interact", {"type": "scroll", "direction": "down", "pixels": 300}),
        ("POST", "interact", {"type": "press", "key": "Enter"}),
        ("POST", "wait", {"kind": "selector", "selector": "#result"}),
        ("POST", "wait", {"kind": "duration", "duration_ms": 1}),
        ("GET", "state", None),
        ("POST", "capture", {"kind": "screenshot", "full_page": True}),
        ("POST", "capture", {"kind": "dom_snapshot"}),
        ("POST", "navigate", {"url": "http://127.0.0.1:1/"}),  # refused: 502, the session stays ready
    ]
    for method, action, body in steps:
        answer = await api.call(method, f"/v1/sessions/{sid}/{action}", body)
        assert answer[0] in (200, 502), answer[1]
        assert_documented(document, method, f"{one}/{action}", answer)

    assert_documented(document, "POST", "/v1/sessions", await api.post("/v1/sessions", {}))  # 429
    assert_documented(document, "GET", "/v1/account/me", await api.get("/v1/account/me"))
    assert_documented(document, "GET", "/healthz", await api.get("/healthz"))
    assert_documented(document, "DELETE", one, await api.delete(f"/v1/sessions/{sid}"))
    answer = await api.post(f"/v1/sessions/{sid}/wait", {"kind": "navigation"})
    assert answer[0] == 410
    assert_documented(document, "POST", f"{one}/wait", answer)
    answer = await api.get(f"/v1/audit-log?resource_id={sid}&action=session.destroyed")
    assert len(answer[1]["data"]) == 1
    assert_documented(document, "GET", "/v1/audit-log", answer)
    assert_documented(document, "GET", "/v1/audit-log", await api.get("/v1/audit-log?limit=101"))
    assert_documented(document, "GET", one, await driftstack.api("ds_live_nope").get(f"/v1/sessions/{sid}"))


# (operation, body): each is sent to the service, which must refuse it (400) exactly when the
# documented request schema does. Valid bodies on a session that does not exist then answer 404;
# valid creates carry a well-formed profile_id, which answers 404 before any session is made.
ACTIONS = ("navigate", "interact", "wait", "capture")
PROFILE = {"profile_id": f"prof_{uuid.UUID(int=2)}"}
BODIES: list[tuple[str, dict[str, Any]]] = [
    ("create", {}),
    ("create", {"archetype": "default", "label": None, "metadata": None}),
    ("create", {"archetype": "iphone13_ios17_5_safari17_5", "purpose": "production_customer"}),
    ("create", {"archetype": "Not_A_Slug"}),
    ("create", {"archetype": "ab"}),
    ("create", {"archetype": "a" * 61}),
    ("create", {"label": "x" * 120, "behavioral_profile": "casual"}),
    ("create", {"label": "x" * 121}),
    ("create", {"purpose": "sightseeing"}),
    ("create", {"behavioral_profile": "hurried"}),
    ("create", {"metadata": ["not", "an", "object"]}),
    ("create", {"colour": "red"}),
    ("create", {"archetype": "nokia3310_symbian"}),
    ("create", {"label": "a\u0000b"}),
    ("create", {"label": "\ud800"}),
    ("create", {"metadata": {"k\u0000": 1}}),
    ("create", {"metadata": {"k": ["v\udfff"]}}),
    ("create", {"profile_id": "prof_not-a-uuid"}),
    ("navigate", {"url": "https://example.com/page"}),
    ("navigate", {"url": "about:blank", "wait_for": "networkidle", "wait_until": "load"}),
    ("navigate", {"url": "ftp://example.com"}),
    ("navigate", {"url": "https://example.com", "wait_until": "commit"}),
    ("navigate", {"wait_until": "load"}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 60_000}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 60_001}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 0}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 300_001}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 1.0}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 1.5}),
    ("navigate", {"url": "https://example.com", "timeout_ms": "5"}),
    ("interact", {"type": "tap", "selector": "a", "timeout_ms": 5}),
    ("interact", {"type": "tap"}),
    ("interact", {"type": "tap", "selector": ""}),
    ("interact", {"type": "tap", "selector": "a", "text": "x"}),
    ("interact", {"type": "type", "text": "hello"}),
    ("interact", {"type": "type", "selector": None, "text": ""}),
    ("interact", {"type": "scroll", "pixels": 10}),
    ("interact", {"type": "scroll", "direction": "up", "pixels": 100_000, "selector": "main"}),
    ("interact", {"type": "scroll", "direction": "sideways", "pixels": 10}),
    ("interact", {"type": "scroll", "pixels": True}),
    ("interact", {"type": "scroll", "pixels": 0}),
    ("interact", {"type": "scroll", "direction": "up"}),
    ("interact", {"type": "press", "key": "Enter", "selector": "input"}),
    ("interact", {"type": "press", "key": "x" * 65}),
    ("interact", {"type": "swipe"}),
    ("wait", {"kind": "navigation", "timeout_ms": 10}),
    ("wait", {"kind": "selector", "selector": "div.results"}),
    ("wait", {"kind": "selector"}),
    ("wait", {"kind": "duration", "duration_ms": 0}),
    ("wait", {"kind": "duration"}),
    ("wait", {"kind": "duration", "duration_ms": -1}),
    ("wait", {"kind": "duration", "timeout_ms": 300}),
    ("wait", {"kind": "duration", "duration_ms": None}),
    ("wait", {"kind": "navigation", "selector": "a"}),
    ("wait", {"kind": "forever"}),
    ("capture", {"kind": "pdf"}),
    ("capture", {"kind": "screenshot", "full_page": None}),
    ("capture", {"kind": "screenshot", "full_page": "yes"}),
    ("capture", {"kind": "video"}),
    ("capture", {}),
]


def documented_as_valid(document: dict[str, Any], ref: str, body: Any) -> bool:
    """What the document allows: its schemas, and its description's one rule patterns cannot carry
    for every validator (no lone surrogate in any string)."""
    return schema_errors(document, ref, body) == [] and not any(
        "\ud800" <= c <= "\udfff" for c in json.dumps(body, ensure_ascii=False)
    )


REQUESTS = {
    "create": "/v1/sessions",
    **{action: f"/v1/sessions/{{session_id}}/{action}" for action in ACTIONS},
}


async def test_the_documented_request_bodies_accept_exactly_what_the_service_accepts(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    api = await driftstack.client()
    disagreements = []
    for name, body in BODIES:
        template = REQUESTS[name]
        request_body = operations(document)[("POST", template)]["requestBody"]
        ref = request_body["content"]["application/json"]["schema"]["$ref"]
        documented_valid = documented_as_valid(document, ref, body)
        sent = {**body, **PROFILE} if name == "create" and documented_valid else body
        answer = await api.post(template.replace("{session_id}", NO_SUCH_SESSION), sent)
        assert answer[0] in (400, 404), (name, body, answer)
        if (answer[0] != 400) != documented_valid:
            disagreements.append((name, body, answer[1].get("detail")))
    assert disagreements == []


async def test_every_answer_of_the_webhooks_api_is_documented(hooked: Harness, receiver: Receiver) -> None:
    async with hooked.http.get(hooked.base + "/v1/openapi.json") as response:
        document = dict(await response.json())
    api = await hooked.client(scopes="read,write,admin")
    one = "/v1/webhooks/{endpoint_id}"
    created = await api.post("/v1/webhooks", {"url": receiver.url, "event_types": ["session.completed"]})
    assert_documented(document, "POST", "/v1/webhooks", created)
    assert_documented(document, "POST", "/v1/webhooks", await api.post("/v1/webhooks", {"url": "ftp://x"}))
    eid = created[1]["id"]
    v1a = await api.post(
        "/v1/webhooks", {"url": receiver.url, "event_types": ["session.failed"], "signature_scheme": "v1a"}
    )
    assert_documented(document, "POST", "/v1/webhooks", v1a)
    assert_documented(document, "GET", "/v1/webhooks", await api.get("/v1/webhooks?limit=1"))
    assert_documented(document, "GET", "/v1/webhooks/event-types", await api.get("/v1/webhooks/event-types"))
    assert_documented(document, "GET", one, await api.get(f"/v1/webhooks/{eid}"))
    assert_documented(
        document, "PATCH", one, await api.call("PATCH", f"/v1/webhooks/{eid}", {"description": "x"})
    )
    assert_documented(
        document, "POST", f"{one}/rotate-secret", await api.post(f"/v1/webhooks/{eid}/rotate-secret")
    )
    ping = await api.post(f"/v1/webhooks/{eid}/test")
    assert_documented(document, "POST", f"{one}/test", ping)
    assert schema_errors(document, "#/components/schemas/WebhookEvent", receiver.received[0].payload) == []
    deliveries = await api.get(f"/v1/webhooks/{eid}/deliveries")
    assert_documented(document, "GET", f"{one}/deliveries", deliveries)
    redeliver = f"{one}/deliveries/{{delivery_id}}/redeliver"
    again = await api.post(f"/v1/webhooks/{eid}/deliveries/{ping[1]['id']}/redeliver")
    assert_documented(document, "POST", redeliver, again)
    for entry in (await api.get("/v1/webhooks/event-types"))[1]["data"]:
        assert schema_errors(document, "#/components/schemas/WebhookEvent", entry["example"]) == []
    assert set(document["webhooks"]) == {
        t["type"] for t in (await api.get("/v1/webhooks/event-types"))[1]["data"]
    }
    assert_documented(document, "DELETE", one, await api.delete(f"/v1/webhooks/{eid}"))
    assert_documented(document, "DELETE", one, await api.delete(f"/v1/webhooks/{eid}"))


async def test_every_answer_of_a_profile_s_life_is_documented(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    api = await driftstack.client(tier="trial_pack", scopes="read,write,admin")  # 1 profile
    one, snaps = "/v1/profiles/{profile_id}", "/v1/profile-snapshots/{snapshot_id}"

    created = await api.post("/v1/profiles", {"name": "production", "description": "primary"})
    assert created[0] == 200, created[1]
    assert_documented(document, "POST", "/v1/profiles", created)
    pid = created[1]["id"]
    assert_documented(
        document, "POST", "/v1/profiles", await api.post("/v1/profiles", {"name": "production"})
    )
    assert_documented(document, "POST", "/v1/profiles", await api.post("/v1/profiles", {"name": "other"}))
    assert_documented(document, "POST", "/v1/profiles", await api.post("/v1/profiles", {"name": "a b"}))
    assert_documented(document, "GET", "/v1/profiles", await api.get("/v1/profiles?limit=1"))
    assert_documented(document, "GET", one, await api.get(f"/v1/profiles/{pid}"))
    patched = await api.call("PATCH", f"/v1/profiles/{pid}", {"description": None})
    assert patched[0] == 200
    assert_documented(document, "PATCH", one, patched)
    assert_documented(document, "POST", f"{one}/clone", await api.post(f"/v1/profiles/{pid}/clone"))  # 429

    captured = await api.post(f"/v1/profiles/{pid}/snapshots", {"label": "baseline"})
    assert captured[0] == 200
    assert_documented(document, "POST", f"{one}/snapshots", captured)
    sid = captured[1]["id"]
    assert_documented(document, "GET", f"{one}/snapshots", await api.get(f"/v1/profiles/{pid}/snapshots"))
    assert_documented(document, "GET", "/v1/profile-snapshots", await api.get("/v1/profile-snapshots"))
    assert_documented(document, "GET", snaps, await api.get(f"/v1/profile-snapshots/{sid}"))
    restore = f"/v1/profile-snapshots/{sid}/restore"
    assert_documented(document, "POST", f"{snaps}/restore", await api.post(restore, {"name": "production"}))
    assert_documented(document, "DELETE", one, await api.delete(f"/v1/profiles/{pid}"))
    assert_documented(document, "DELETE", one, await api.delete(f"/v1/profiles/{pid}"))  # 404
    restored = await api.post(restore, {"name": "restored"})
    assert restored[0] == 200
    assert_documented(document, "POST", f"{snaps}/restore", restored)
    assert_documented(document, "GET", snaps, await api.get(f"/v1/profile-snapshots/{sid}"))  # no parent
    assert_documented(document, "DELETE", snaps, await api.delete(f"/v1/profile-snapshots/{sid}"))
    assert_documented(document, "DELETE", snaps, await api.delete(f"/v1/profile-snapshots/{sid}"))  # 404


# (operation, body): the service refuses (400) exactly the bodies the documented schema does.
# Valid clone, snapshot and restore bodies then answer 404 (their profile or snapshot does not
# exist); valid creates and patches answer 200 and 404.
PROFILE_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("create", {"name": "prod-eu_1"}),
    ("create", {"name": "x" * 64, "archetype": "default", "description": None}),
    ("create", {"name": "x" * 65}),
    ("create", {"name": ""}),
    ("create", {"name": "two words"}),
    ("create", {"name": "ctl\u0007"}),
    ("create", {"name": "zero\u200bwidth"}),
    ("create", {"archetype": "default"}),
    ("create", {"name": "p", "archetype": "Not_A_Slug"}),
    ("create", {"name": "p", "description": "d" * 2049}),
    ("create", {"name": "p", "colour": "red"}),
    ("patch", {}),
    ("patch", {"name": "renamed", "description": None}),
    ("patch", {"name": None}),
    ("patch", {"description": "d" * 2049}),
    ("patch", {"archetype": "default"}),
    ("clone", {}),
    ("clone", {"name": "copy", "archetype": "iphone13_ios17_5_safari17_5"}),
    ("clone", {"name": "a copy"}),
    ("clone", {"description": "x"}),
    ("snapshot", {"label": "before-iOS-26-rollout", "description": "why"}),
    ("snapshot", {"label": ""}),
    ("snapshot", {"label": " "}),
    ("snapshot", {"label": "x" * 121}),
    ("snapshot", {"label": "tab\there"}),
    ("create", {"name": "p\ud800"}),
    ("snapshot", {"description": "no label"}),
    ("restore", {"name": "restored"}),
    ("restore", {}),
    ("restore", {"name": "restored", "archetype": "default"}),
]
PROFILE_REQUESTS = {
    "create": ("POST", "/v1/profiles"),
    "patch": ("PATCH", "/v1/profiles/{profile_id}"),
    "clone": ("POST", "/v1/profiles/{profile_id}/clone"),
    "snapshot": ("POST", "/v1/profiles/{profile_id}/snapshots"),
    "restore": ("POST", "/v1/profile-snapshots/{snapshot_id}/restore"),
}


async def test_the_documented_profile_bodies_accept_exactly_what_the_service_accepts(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    api = await driftstack.client(tier="enterprise", scopes="read,write,admin")
    disagreements = []
    for n, (name, body) in enumerate(PROFILE_BODIES):
        method, template = PROFILE_REQUESTS[name]
        request_body = operations(document)[(method, template)]["requestBody"]
        ref = request_body["content"]["application/json"]["schema"]["$ref"]
        documented_valid = documented_as_valid(document, ref, body)
        # Each valid create gets a name of its own (same length), so none collides with another.
        unique = {"name": f"{body['name'][:-3]}{n:03d}"} if name == "create" and documented_valid else {}
        sent = {**body, **unique}
        answer = await api.call(method, on_missing(template), sent)
        assert answer[0] in (200, 400, 404), (name, body, answer)
        if (answer[0] != 400) != documented_valid:
            disagreements.append((name, body, answer[1].get("detail") if answer[1] else None))
    assert disagreements == []


def test_two_problem_types_sharing_a_status_on_one_operation_are_both_documented() -> None:
    built = openapi.document
    op = operation("both", "s", "d", tag="t", scope=None, ok={}, problems=("concurrency-limit", "tier-limit"))
    doc = {**built(), "paths": {"/both": {"post": op}}}
    headers = {"X-Request-Id": "r", "Content-Type": "application/problem+json"}
    for slug in ("concurrency-limit", "tier-limit"):
        response = built()["components"]["responses"][slug.title().replace("-", "")]
        example = response["content"]["application/problem+json"]["example"]
        assert_documented(doc, "POST", "/both", (429, example, headers))
    with pytest.raises(AssertionError):
        assert_documented(doc, "POST", "/both", (429, {**example, "resource": "planet"}, headers))
