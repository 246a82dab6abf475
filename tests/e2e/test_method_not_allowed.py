"""A method a route does not take answers 405 with `Allow`, and every method it lists is one the route takes."""

from __future__ import annotations

import pytest

from ..conftest import Harness

PROBLEM_TYPE = "https://driftstack.dev/problems/method-not-allowed"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/sessions", {"GET", "HEAD", "POST"}),
        ("PATCH", "/v1/sessions/ses_00000000-0000-0000-0000-000000000000", {"GET", "HEAD", "DELETE"}),
        ("PUT", "/v1/webhooks/whep_00000000-0000-0000-0000-000000000000", {"GET", "HEAD", "PATCH", "DELETE"}),
        ("GET", "/v1/webhooks/whep_00000000-0000-0000-0000-000000000000/rotate-secret", {"POST"}),
        ("POST", "/v1/account/me", {"GET", "HEAD"}),
        ("DELETE", "/v1/sessions/ws", {"GET", "HEAD"}),  # the socket's route, not a session id
        ("OPTIONS", "/v1/sessions/ws", {"GET", "HEAD"}),
    ],
)
async def test_a_method_the_route_does_not_take_answers_405_with_an_allow_header_naming_what_it_takes(
    driftstack: Harness, method: str, path: str, allowed: set[str]
) -> None:
    api = await driftstack.client(scopes="read,write,admin")
    status, body, headers = await api.call(method, path)
    assert status == 405, body
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["type"] == PROBLEM_TYPE and body["status"] == 405 and body["instance"] == path, body
    listed = {m.strip() for m in headers["Allow"].split(",")}
    assert listed == allowed, headers["Allow"]
    for other in listed - {"HEAD"}:
        # A body no route accepts: the route answers for itself (400, 404, 200), creating nothing.
        body = {"no_such_field": True} if other == "POST" else None
        assert (await api.call(other, path, body))[0] != 405, other
