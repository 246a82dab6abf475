"""Every failure a client can meet answers as problem details, and a refused request changes nothing."""

from __future__ import annotations

import base64
import json
import socket
import uuid
from typing import Any

import pytest
from aiohttp import web

from ..conftest import Api, Harness, StartDriftstack, at_rest
from .servers import poll

PROBLEM_TYPE = "https://driftstack.dev/problems/"
TITLES = {
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not-found": "Not found",
    "session-timeout": "Session idle timeout",
    "session-destroyed": "Session destroyed",
    "payload-too-large": "Payload too large",
    "validation-failed": "Validation failed",
    "concurrency-limit": "Concurrency limit",
    "conflict": "Conflict",
    "tier-limit": "Tier limit",
    "driver-error": "Driver error",
    "driver-not-integrated": "Driver not integrated",
}

# One valid body per write action on a session: a refusal must come from who asks or what state
# the session is in, never from the body.
ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "navigate", {"url": "http://127.0.0.1:1/never-fetched"}),
    ("POST", "interact", {"type": "tap", "selector": "#tap-me"}),
    ("POST", "wait", {"kind": "duration", "duration_ms": 1}),
    ("POST", "capture", {"kind": "screenshot"}),
]


def assert_problem(
    answer: tuple[int, Any, Any], status: int, slug: str, *, instance: str | None = None
) -> dict[str, Any]:
    """The answer is the problem `slug` with every member RFC 9457 asks for; returns its body."""
    got_status, body, headers = answer
    assert got_status == status, body
    assert headers["Content-Type"].startswith("application/problem+json"), headers["Content-Type"]
    assert body["type"] == PROBLEM_TYPE + slug, body
    assert body["title"] == TITLES[slug], body
    assert body["status"] == status, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if instance is not None:
        assert body["instance"] == instance, body
    return body


def assert_invalid(answer: tuple[int, Any, Any], field: str, instance: str) -> dict[str, Any]:
    """A 400 whose detail and `errors` name `field`, so the client knows what to fix."""
    body = assert_problem(answer, 400, "validation-failed", instance=instance)
    assert body["detail"].startswith(f"{field}:"), body
    assert [e["field"] for e in body["errors"]] == [field], body
    return body


async def audit_actions(api: Api, session_id: str) -> list[str]:
    _, log, _ = await api.get(f"/v1/audit-log?resource_id={session_id}&limit=100")
    return [entry["action"] for entry in reversed(log["data"])]


async def listed_ids(api: Api) -> list[str]:
    status, page, _ = await api.get("/v1/sessions?limit=100")
    assert status == 200, page
    return [s["id"] for s in page["data"]]


def closed_port() -> int:
    """A loopback port nothing listens on (Chromium refuses some well-known ones outright)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# 401


async def test_a_request_without_a_valid_bearer_key_answers_401_with_www_authenticate(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    held = await api.ready_session()
    session_path = f"/v1/sessions/{held['id']}"
    bad_headers: dict[str, dict[str, str]] = {
        "no header": {},
        "another scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "bearer without a key": {"Authorization": "Bearer "},
        "a key without the scheme": {"Authorization": "ds_live_abc"},
        "an unknown key": {"Authorization": "Bearer ds_live_" + "0" * 40},
    }
    for case, headers in bad_headers.items():
        for method, path, body in [
            ("GET", "/v1/sessions", None),
            ("POST", "/v1/sessions", {}),
            ("GET", session_path, None),
            ("POST", f"{session_path}/navigate", {"url": "https://example.com"}),
            ("DELETE", session_path, None),
            ("GET", "/v1/account/me", None),
        ]:
            async with driftstack.http.request(
                method, driftstack.base + path, headers=headers, json=body
            ) as response:
                answer = (response.status, await response.json(content_type=None), response.headers)
            problem = assert_problem(answer, 401, "unauthorized", instance=path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), (case, path)
            assert "ds_live_abc" not in problem["detail"], "a presented key is never echoed"

    # None of those reached the session or made one.
    assert await listed_ids(api) == [held["id"]]
    assert await audit_actions(api, held["id"]) == ["session.created", "session.ready"]


# 403


async def test_a_read_only_key_is_refused_every_write_and_nothing_changes(
    driftstack: Harness,
) -> None:
    account = await driftstack.account()
    writer = driftstack.api(await driftstack.key(account, "read,write"))
    reader = driftstack.api(await driftstack.key(account, "read"))
    held = await writer.ready_session(label="untouched")
    path = f"/v1/sessions/{held['id']}"
    _, before, _ = await reader.get(path)

    body = assert_problem(
        await reader.post("/v1/sessions", {"label": "refused"}), 403, "forbidden", instance="/v1/sessions"
    )
    assert "write" in body["detail"]
    for method, action, payload in ACTIONS:
        body = assert_problem(
            await reader.call(method, f"{path}/{action}", payload),
            403,
            "forbidden",
            instance=f"{path}/{action}",
        )
        assert "write" in body["detail"], action
    assert_problem(await reader.delete(path), 403, "forbidden", instance=path)

    assert await listed_ids(reader) == [held["id"]], "no session was created"
    _, after, _ = await reader.get(path)
    assert at_rest(after) == at_rest(before), "still ready, no action counted, nothing updated"
    assert after["status"] == "ready"
    assert await audit_actions(reader, held["id"]) == ["session.created", "session.ready"]


async def test_reserved_purposes_need_the_admin_scope(driftstack: Harness) -> None:
    account = await driftstack.account(tier="api_builder")
    customer = driftstack.api(await driftstack.key(account, "read,write"))
    operator = driftstack.api(await driftstack.key(account, "read,write,admin"))

    for purpose in ("cumulative_rig_validation", "test_domain_probe"):
        body = assert_problem(
            await customer.post("/v1/sessions", {"purpose": purpose}),
            403,
            "forbidden",
            instance="/v1/sessions",
        )
        assert purpose in body["detail"]
    assert await listed_ids(customer) == []

    made = []
    for purpose in ("cumulative_rig_validation", "test_domain_probe"):
        status, created, _ = await operator.post("/v1/sessions", {"purpose": purpose})
        assert status == 201, created
        assert created["purpose"] == purpose
        made.append(created["id"])
    assert sorted(await listed_ids(customer)) == sorted(made)


# 404


async def test_unknown_and_malformed_session_ids_and_unknown_routes_answer_404(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    for sid in (f"ses_{uuid.uuid4()}", "ses_123", "nonsense", f"prof_{uuid.uuid4()}", "ses_"):
        path = f"/v1/sessions/{sid}"
        body = assert_problem(await api.get(path), 404, "not-found", instance=path)
        assert sid in body["detail"]
        assert_problem(await api.get(f"{path}/state"), 404, "not-found", instance=f"{path}/state")
        for method, action, payload in ACTIONS:
            assert_problem(
                await api.call(method, f"{path}/{action}", payload),
                404,
                "not-found",
                instance=f"{path}/{action}",
            )
        assert_problem(await api.delete(path), 404, "not-found", instance=path)

    for method, path in [
        ("GET", "/v1/nothing-here"),
        ("GET", "/v2/sessions"),
        ("POST", "/v1/sessions/ses_x/teleport"),
    ]:
        body = assert_problem(await api.call(method, path, {}), 404, "not-found", instance=path)
        assert path in body["detail"]
    assert await listed_ids(api) == []


# 410


async def test_every_action_on_a_destroyed_session_answers_410(driftstack: Harness) -> None:
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}"
    assert (await api.delete(path))[0] == 204

    for method, action, payload in [*ACTIONS, ("GET", "state", None)]:
        body = assert_problem(
            await api.call(method, f"{path}/{action}", payload),
            410,
            "session-destroyed",
            instance=f"{path}/{action}",
        )
        assert body["session_status"] == "destroyed" and body["reason"] == "client_request", body
        assert session["id"] in body["detail"]

    status, gone, _ = await api.get(path)
    assert status == 200 and gone["status"] == "destroyed" and gone["action_count"] == 0
    assert (await api.delete(path))[0] == 204, "DELETE stays idempotent"
    assert await audit_actions(api, session["id"]) == [
        "session.created",
        "session.ready",
        "session.destroyed",
    ]


# 408


async def test_actions_after_the_idle_timeout_answer_408_and_the_session_reads_destroyed(
    start_driftstack: StartDriftstack,
) -> None:
    driftstack = await start_driftstack(idle_timeout_s=1)
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}"

    async def reaped() -> dict[str, Any] | None:
        _, now, _ = await api.get(path)
        return now if now["status"] == "destroyed" else None

    gone = await poll(reaped, deadline_s=10, what="the idle session destroyed")
    assert gone["reason"] == "idle_timeout" and gone["destroyed_at"] is not None

    for method, action, payload in [*ACTIONS, ("GET", "state", None)]:
        body = assert_problem(
            await api.call(method, f"{path}/{action}", payload),
            408,
            "session-timeout",
            instance=f"{path}/{action}",
        )
        assert body["reason"] == "idle_timeout" and body["session_status"] == "destroyed", body
        assert session["id"] in body["detail"]

    status, still, _ = await api.get(path)
    assert status == 200 and still["status"] == "destroyed" and still["reason"] == "idle_timeout"
    assert (await api.delete(path))[0] == 204


# 502


async def test_navigating_to_a_closed_port_answers_502_and_the_session_stays_ready(
    start_driftstack: StartDriftstack, site: str
) -> None:
    closed = closed_port()
    driftstack = await start_driftstack(egress_allow=(site.removeprefix("http://"), f"127.0.0.1:{closed}"))
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}"

    body = assert_problem(
        await api.post(f"{path}/navigate", {"url": f"http://127.0.0.1:{closed}/"}),
        502,
        "driver-error",
        instance=f"{path}/navigate",
    )
    assert body["reason"] == "connection_refused", body

    _, after, _ = await api.get(path)
    assert after["status"] == "ready", after
    status, nav, _ = await api.post(f"{path}/navigate", {"url": f"{site}/form"})
    assert status == 200, nav
    assert (nav["current_url"], nav["title"]) == (f"{site}/form", "Form")


# 503


async def test_creating_without_a_usable_browser_answers_503_with_an_install_hint(
    start_driftstack: StartDriftstack,
) -> None:
    driftstack = await start_driftstack(browser_executable="/nonexistent/chromium")
    api = await driftstack.client()

    for path in ("/v1/sessions", "/v1/sessions?wait=true"):
        body = assert_problem(
            await api.post(path, {"label": "no browser"}),
            503,
            "driver-not-integrated",
            instance="/v1/sessions",
        )
        assert "/nonexistent/chromium" in body["detail"], body
        assert isinstance(body["install"], str) and "chromium" in body["install"], body

    assert await listed_ids(api) == [], "no session was created"


# 429


async def test_creating_past_the_concurrency_cap_answers_429_until_a_slot_frees(
    driftstack: Harness,
) -> None:
    api = await driftstack.client(tier="trial_pack")  # cap 1
    status, first, _ = await api.post("/v1/sessions", {"label": "first"})
    assert status == 201, first

    answer = await api.post("/v1/sessions", {"label": "second"})
    body = assert_problem(answer, 429, "concurrency-limit", instance="/v1/sessions")
    assert int(answer[2]["Retry-After"]) > 0
    assert (body["limit"], body["current"], body["tier"]) == (1, 1, "trial_pack"), body
    assert await listed_ids(api) == [first["id"]]

    assert (await api.delete(f"/v1/sessions/{first['id']}"))[0] == 204
    status, second, _ = await api.post("/v1/sessions", {"label": "second"})
    assert status == 201, second


# 400


async def test_invalid_create_requests_answer_400_naming_the_field_and_create_nothing(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    raw_cases = {b"{not json": "body", b"[1, 2]": "body", b'"a string"': "body", b"42": "body"}
    for raw, field in raw_cases.items():
        assert_invalid(await api.post("/v1/sessions", raw=raw), field, "/v1/sessions")

    cases: list[tuple[dict[str, Any], str]] = [
        ({"colour": "red"}, "colour"),
        ({"label": "x" * 121}, "label"),
        ({"label": 7}, "label"),
        ({"metadata": "SUP-42"}, "metadata"),
        ({"metadata": ["SUP-42"]}, "metadata"),
        ({"archetype": "Bad-Slug"}, "archetype"),
        ({"archetype": "ab"}, "archetype"),
        ({"archetype": "nokia3310_symbian"}, "archetype"),
        ({"purpose": "world_domination"}, "purpose"),
        ({"behavioral_profile": "hyperactive"}, "behavioral_profile"),
    ]
    for body, field in cases:
        problem = assert_invalid(await api.post("/v1/sessions", body), field, "/v1/sessions")
        if field == "label" and body["label"] != 7:
            assert "120" in problem["detail"]
        if body.get("archetype") == "nokia3310_symbian":
            assert "nokia3310_symbian" in problem["detail"]

    assert await listed_ids(api) == [], "no session was created"
    # A label of exactly 120 characters is fine.
    status, created, _ = await api.post("/v1/sessions", {"label": "x" * 120})
    assert status == 201 and created["label"] == "x" * 120


async def test_invalid_action_bodies_answer_400_naming_the_field_and_leave_the_session_untouched(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}"
    _, before, _ = await api.get(path)

    cases: list[tuple[str, dict[str, Any], str]] = [
        ("navigate", {}, "url"),
        ("navigate", {"url": "ftp://example.com/file"}, "url"),
        ("navigate", {"url": "example.com"}, "url"),
        ("navigate", {"url": "https://example.com", "wait_until": "bogus"}, "wait_until"),
        ("navigate", {"url": "https://example.com", "wait_for": "bogus"}, "wait_for"),
        ("navigate", {"url": "https://example.com", "timeout_ms": 0}, "timeout_ms"),
        ("navigate", {"url": "https://example.com", "referrer": "x"}, "referrer"),
        ("interact", {"type": "swipe"}, "type"),
        ("interact", {}, "type"),
        ("interact", {"type": "tap"}, "selector"),
        ("interact", {"type": "type", "selector": "#name"}, "text"),
        ("interact", {"type": "scroll"}, "pixels"),
        ("interact", {"type": "scroll", "pixels": "lots"}, "pixels"),
        ("interact", {"type": "press"}, "key"),
        ("wait", {"kind": "forever"}, "kind"),
        ("wait", {"kind": "selector"}, "selector"),
        ("wait", {"kind": "duration"}, "duration_ms"),
        ("capture", {"kind": "gif"}, "kind"),
        ("capture", {}, "kind"),
        ("capture", {"kind": "screenshot", "full_page": "yes"}, "full_page"),
    ]
    for action, body, field in cases:
        assert_invalid(await api.post(f"{path}/{action}", body), field, f"{path}/{action}")
    for action in ("navigate", "interact", "wait", "capture"):
        for raw in (b"{not json", b"[]", b""):
            assert_invalid(await api.post(f"{path}/{action}", raw=raw), "body", f"{path}/{action}")

    _, after, _ = await api.get(path)
    assert at_rest(after) == at_rest(before), "no action ran, nothing was counted"
    assert await audit_actions(api, session["id"]) == ["session.created", "session.ready"]


async def test_invalid_list_queries_answer_400_naming_the_parameter(driftstack: Harness) -> None:
    api = await driftstack.client()
    await api.ready_session()

    def cursor(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("status=bogus", "status"),
        ("cursor=garbage", "cursor"),
        ("cursor=%21%21%21%21", "cursor"),
        (f"cursor={cursor({'a': 1})}", "cursor"),
        (f"cursor={cursor([1, 2])}", "cursor"),
        (f"cursor={cursor([1, 2, 3])}", "cursor"),
        (f"cursor={cursor(['2026-05-09T22:00:00+00:00', 'not-an-id'])}", "cursor"),
        (f"cursor={cursor(['yesterday', str(uuid.uuid4())])}", "cursor"),
    ]
    for query, field in cases:
        body = assert_invalid(await api.get(f"/v1/sessions?{query}"), field, "/v1/sessions")
        if field == "limit":
            assert "100" in body["detail"]

    # The bounds themselves are fine.
    for query in ("limit=1", "limit=100", "status=ready"):
        status, page, _ = await api.get(f"/v1/sessions?{query}")
        assert status == 200 and len(page["data"]) == 1, (query, page)


async def test_wait_for_is_accepted_for_wait_until_and_wait_until_wins_when_both_are_sent(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}"

    status, nav, _ = await api.post(
        f"{path}/navigate", {"url": f"{site}/form", "wait_for": "domcontentloaded"}
    )
    assert status == 200 and nav["title"] == "Form", nav
    status, nav, _ = await api.post(
        f"{path}/navigate",
        {"url": f"{site}/late", "wait_for": "networkidle", "wait_until": "domcontentloaded"},
    )
    assert status == 200 and nav["title"] == "Late", nav
    status, nav, _ = await api.post(f"{path}/navigate", {"url": f"{site}/cookie"})
    assert status == 200, nav

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={session['id']}&action=session.navigated")
    waited = [(e["payload"]["url"], e["payload"]["wait_until"]) for e in reversed(log["data"])]
    assert waited == [
        (f"{site}/form", "domcontentloaded"),
        (f"{site}/late", "domcontentloaded"),
        (f"{site}/cookie", "load"),
    ]


# 413

# Random pixels at the device's full resolution: PNG cannot compress them, so even one
# screen of a 3x iPhone (1206 x 2622 pixels) is several times the 4 MiB cap.
NOISE = """<!doctype html><html><head><title>Noise</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0 } canvas { display: block }</style></head><body>
<canvas id="noise"></canvas>
<script>
const canvas = document.getElementById("noise");
const cssWidth = window.innerWidth, cssHeight = 1200, dpr = window.devicePixelRatio;
canvas.style.width = cssWidth + "px"; canvas.style.height = cssHeight + "px";
canvas.width = Math.round(cssWidth * dpr); canvas.height = Math.round(cssHeight * dpr);
const ctx = canvas.getContext("2d");
const image = ctx.createImageData(canvas.width, canvas.height);
const pixels = new Uint32Array(image.data.buffer);
for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.random() * 0x1000000) | 0xff000000;
ctx.putImageData(image, 0, 0);
</script></body></html>"""


@pytest.fixture
async def noisy_site(aiohttp_server: Any) -> str:
    async def noise(_: web.Request) -> web.Response:
        return web.Response(text=NOISE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/noise", noise)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


async def test_a_screenshot_over_4_mib_answers_413_and_the_session_stays_usable(
    start_driftstack: StartDriftstack, noisy_site: str, site: str
) -> None:
    driftstack = await start_driftstack(
        egress_allow=tuple(u.removeprefix("http://") for u in (site, noisy_site))
    )
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}"
    status, nav, _ = await api.post(f"{path}/navigate", {"url": f"{noisy_site}/noise"})
    assert status == 200 and nav["title"] == "Noise", nav

    body = assert_problem(
        await api.post(f"{path}/capture", {"kind": "screenshot", "full_page": True}),
        413,
        "payload-too-large",
        instance=f"{path}/capture",
    )
    assert body["limit"] == 4 * 1024 * 1024
    assert body["byte_size"] > body["limit"], body
    assert "screenshot" in body["detail"]

    _, after, _ = await api.get(path)
    assert after["status"] == "ready" and after["screenshot_count"] == 0, after
    await api.post(f"{path}/navigate", {"url": f"{site}/submitted"})
    status, shot, _ = await api.post(f"{path}/capture", {"kind": "screenshot"})
    assert status == 200 and 0 < shot["byte_size"] <= 4 * 1024 * 1024


# 400: text the store cannot hold, and JSON too deep

# (method, path, raw JSON body, field named): raw bytes, so the JSON escapes reach the service as
# a client would send them (a lone surrogate cannot be encoded by a well-behaved client library).
HOSTILE_BODIES: list[tuple[str, str, bytes, str]] = [
    ("POST", "/v1/sessions", b'{"label": "a\\u0000b"}', "label"),
    ("POST", "/v1/sessions", b'{"label": "\\ud800"}', "label"),
    ("POST", "/v1/sessions", b'{"metadata": {"k\\u0000": 1}}', "metadata"),
    ("POST", "/v1/sessions", b'{"metadata": {"\\udfff": "v"}}', "metadata"),
    ("POST", "/v1/sessions", b'{"metadata": {"a": {"b": ["ok", "\\u0000"]}}}', "metadata.a.b.1"),
    ("POST", "/v1/sessions", b'{"metadata": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "body"),
    ("POST", "/v1/sessions", b"[" * 1000 + b"]" * 1000, "body"),
    ("POST", "/v1/sessions", b'{"a": ' * 1000 + b"1" + b"}" * 1000, "body"),
    ("POST", "/v1/profiles", b'{"name": "p\\ud800"}', "name"),
    ("POST", "/v1/profiles", b'{"name": "p", "description": "d\\u0000"}', "description"),
    (
        "POST",
        "/v1/webhooks",
        b'{"url": "https://example.com/\\u0000", "event_types": ["session.ready"]}',
        "url",
    ),
]


async def test_text_the_store_cannot_hold_answers_400_naming_the_field_and_other_accounts_keep_working(
    driftstack: Harness,
) -> None:
    hostile = await driftstack.client(scopes="read,write,admin")
    for method, path, raw, field in HOSTILE_BODIES:
        answer = await hostile.call(method, path, raw=raw)
        body = assert_problem(answer, 400, "validation-failed", instance=path)
        assert [e["field"] for e in body["errors"]] == [field], (raw[:60], body)
    for query in ("status=%00", "label%00=1", "cursor=%ED%A0%80"):
        answer = await hostile.get(f"/v1/sessions?{query}")
        assert_problem(answer, 400, "validation-failed")
    answer = await hostile.get("/v1/sessions/ses_%00")
    assert_problem(answer, 400, "validation-failed")
    # Nothing hostile was stored: the account's lists are empty.
    assert await listed_ids(hostile) == []

    # Another account, at once: creates, reads and lists answer as ever.
    other = await driftstack.client(scopes="read,write,admin")
    status, session, _ = await other.post("/v1/sessions", {"label": "after", "metadata": {"k": "v"}})
    assert status == 201, session
    assert (await other.get(f"/v1/sessions/{session['id']}"))[0] == 200
    assert await listed_ids(other) == [session["id"]]
    status, profile, _ = await other.post("/v1/profiles", {"name": "after", "description": "fine"})
    assert status == 200, profile
    assert (await other.get(f"/v1/profiles/{profile['id']}"))[0] == 200
    _, profiles, _ = await other.get("/v1/profiles")
    assert [p["id"] for p in profiles["data"]] == [profile["id"]]


async def test_unknown_query_parameters_and_out_of_enum_filters_answer_400(driftstack: Harness) -> None:
    api = await driftstack.client()
    for path, field in [
        ("/v1/sessions?colour=red", "colour"),
        ("/v1/audit-log?resource_type=planet", "resource_type"),
        ("/v1/audit-log?action=session.exploded", "action"),
        ("/v1/account/me?verbose=1", "verbose"),
        ("/v1/sessions?limit=5&limit=6", "limit"),
    ]:
        assert_invalid(await api.get(path), field, path.split("?")[0])


async def test_any_cursor_of_the_documented_form_continues_a_list(driftstack: Harness) -> None:
    api = await driftstack.client()
    await api.post("/v1/sessions", {})
    for path in (
        "/v1/sessions?cursor=" + "f" * 48,  # after the far future: everything
        "/v1/profiles?cursor=" + "0" * 48,  # after the epoch: nothing
        "/v1/audit-log?cursor=999999999999999999",
    ):
        status, page, _ = await api.get(path)
        assert status == 200, (path, page)
    assert len((await api.get("/v1/sessions?cursor=" + "f" * 48))[1]["data"]) == 1
    assert (await api.get("/v1/profiles?cursor=" + "0" * 48))[1]["data"] == []


async def test_a_duration_wait_with_only_timeout_ms_sleeps_that_long_and_duration_ms_wins(
    driftstack: Harness,
) -> None:
    api = await driftstack.client()
    session = await api.ready_session()
    path = f"/v1/sessions/{session['id']}/wait"
    status, waited, _ = await api.post(path, {"kind": "duration", "timeout_ms": 300})
    assert status == 200 and waited["duration_ms"] >= 300, waited
    # Both sent: duration_ms is how long it sleeps (were timeout_ms taken, it would sleep 1 ms).
    status, waited, _ = await api.post(path, {"kind": "duration", "duration_ms": 400, "timeout_ms": 1})
    assert status == 200 and waited["duration_ms"] >= 400, waited
