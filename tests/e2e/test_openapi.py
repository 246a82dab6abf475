"""GET /v1/openapi.json describes exactly the API the service runs: its routes, scopes, bodies and answers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from driftstack.domain.api_key import SCOPES
from driftstack.http.problems import PROBLEM_BASE, TYPES
from driftstack.projections.sessions import FIELDS

from ..conftest import Harness
from .receivers import Receiver

DOCUMENT_URI = "urn:driftstack:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
NO_SUCH_SESSION = f"ses_{uuid.UUID(int=1)}"
NO_SUCH = {
    "{session_id}": NO_SUCH_SESSION,
    "{profile_id}": f"prof_{uuid.UUID(int=3)}",
    "{snapshot_id}": f"psnap_{uuid.UUID(int=4)}",
    "{endpoint_id}": f"whep_{uuid.UUID(int=1)}",
    "{delivery_id}": f"dlv_{uuid.UUID(int=1)}",
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


def schema_errors(document: dict[str, Any], ref: str, instance: Any) -> list[str]:
    """Why `instance` fails the schema at `ref` (a `#/components/…` pointer), resolving `$ref`s."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": DOCUMENT_URI + ref}, registry=registry, format_checker=FormatChecker()
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def assert_documented(
    document: dict[str, Any], method: str, template: str, answer: tuple[int, Any, Any]
) -> None:
    """The answer's status is one the operation lists, with the documented body and headers."""
    status, body, headers = answer
    op = operations(document)[(method, template)]
    assert str(status) in op["responses"], f"{method} {template} answered an undocumented {status}: {body}"
    response = op["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    for header in response.get("headers", {}):
        assert header in headers, f"{method} {template} {status}: no {header} header"
    if "content" not in response:
        assert body is None, body
        return
    [(media_type, content)] = response["content"].items()
    assert headers["Content-Type"].startswith(media_type), headers["Content-Type"]
    assert schema_errors(document, content["schema"]["$ref"], body) == [], body


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
        (route.method, route.resource.canonical)
        for route in driftstack.web_app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert served == set(operations(document))


async def test_each_operation_needs_exactly_the_scope_it_documents(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    account_id = await driftstack.account(tier="api_scale")
    public = {key for key, op in operations(document).items() if op["security"] == []}
    assert public == {("GET", "/healthz"), ("GET", "/v1/openapi.json")}
    for (method, template), op in operations(document).items():
        path = on_missing(template)
        if (method, template) in public:
            status, _, _ = await driftstack.api(None).call(method, path)
            assert status == 200, (method, template)
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


async def test_every_problem_type_is_documented_with_its_status(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["type"]["enum"] == [PROBLEM_BASE + slug for slug in TYPES]
    for slug, (status, title) in TYPES.items():
        assert f"`{slug}`" in problem["description"]
        example = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": "d"}
        example["instance"] = None
        assert schema_errors(document, "#/components/schemas/Problem", example) == []
        wrong = {**example, "status": 418}
        assert schema_errors(document, "#/components/schemas/Problem", wrong) != []


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
    ("navigate", {"url": "https://example.com/page"}),
    ("navigate", {"url": "about:blank", "wait_for": "networkidle", "wait_until": "load"}),
    ("navigate", {"url": "ftp://example.com"}),
    ("navigate", {"url": "https://example.com", "wait_until": "commit"}),
    ("navigate", {"wait_until": "load"}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 300_000}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 0}),
    ("navigate", {"url": "https://example.com", "timeout_ms": 300_001}),
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
    ("wait", {"kind": "navigation", "selector": "a"}),
    ("wait", {"kind": "forever"}),
    ("capture", {"kind": "pdf"}),
    ("capture", {"kind": "screenshot", "full_page": None}),
    ("capture", {"kind": "screenshot", "full_page": "yes"}),
    ("capture", {"kind": "video"}),
    ("capture", {}),
]
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
        documented_valid = schema_errors(document, ref, body) == []
        sent = {**body, **PROFILE} if name == "create" and documented_valid else body
        answer = await api.post(template.replace("{session_id}", NO_SUCH_SESSION), sent)
        assert answer[0] in (400, 404), (name, body, answer)
        if (answer[0] != 400) != documented_valid:
            disagreements.append((name, body, answer[1].get("detail")))
    assert disagreements == []


async def test_enums_the_document_lists_are_the_choices_validation_names(
    driftstack: Harness, document: dict[str, Any]
) -> None:
    api = await driftstack.client()
    schemas = document["components"]["schemas"]
    on = f"/v1/sessions/{NO_SUCH_SESSION}"

    def enum(schema: str, field: str) -> list[Any]:
        return list(schemas[schema]["properties"][field]["enum"])

    def kinds(schema: str) -> list[str]:
        return list(schemas[schema]["discriminator"]["mapping"])

    cases: list[tuple[tuple[int, Any, Any], list[Any]]] = [
        (await api.post("/v1/sessions", {"purpose": "?"}), enum("CreateSession", "purpose")),
        (
            await api.post("/v1/sessions", {"behavioral_profile": "?"}),
            enum("CreateSession", "behavioral_profile"),
        ),
        (await api.get("/v1/sessions?status=%3F"), enum("Session", "status")),
        (
            await api.post(f"{on}/navigate", {"url": "about:blank", "wait_until": "?"}),
            enum("Navigate", "wait_until"),
        ),
        (await api.post(f"{on}/interact", {"type": "?"}), kinds("Interaction")),
        (
            await api.post(f"{on}/interact", {"type": "scroll", "direction": "?", "pixels": 1}),
            enum("ScrollInteraction", "direction"),
        ),
        (await api.post(f"{on}/wait", {"kind": "?"}), kinds("Wait")),
        (await api.post(f"{on}/capture", {"kind": "?"}), enum("Capture", "kind")),
    ]
    for (status, problem, _), documented in cases:
        assert status == 400, problem
        [error] = problem["errors"]
        assert error["message"].startswith("one of "), error
        assert set(error["message"].removeprefix("one of ").split(", ")) == set(documented) - {None}, error


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
        documented_valid = schema_errors(document, ref, body) == []
        # Each valid create gets a name of its own (same length), so none collides with another.
        unique = {"name": f"{body['name'][:-3]}{n:03d}"} if name == "create" and documented_valid else {}
        sent = {**body, **unique}
        answer = await api.call(method, on_missing(template), sent)
        assert answer[0] in (200, 400, 404), (name, body, answer)
        if (answer[0] != 400) != documented_valid:
            disagreements.append((name, body, answer[1].get("detail") if answer[1] else None))
    assert disagreements == []
