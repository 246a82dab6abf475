"""The service's logs: one JSON object per line, with the ids an operator searches by, and no secrets."""

from __future__ import annotations

import json

from driftstack.domain.api_key import KEY_PREFIX

from .servers import Servers


async def test_logs_are_json_lines_with_request_account_and_session_ids_and_no_secrets(
    servers: Servers,
) -> None:
    import aiohttp

    server = await servers.start("node-logs")
    key = await servers.new_key("api_starter")
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{server.base}/v1/sessions?wait=true", json={"label": "logged"}) as r:
            session = await r.json()
        async with http.post(
            f"{server.base}/v1/sessions/{session['id']}/interact",
            json={"type": "type", "text": "hunter2-password"},
        ) as r:
            assert r.status == 200
        async with http.delete(f"{server.base}/v1/sessions/{session['id']}") as r:
            request_id = r.headers["X-Request-Id"]
    server.stop()

    lines = [line for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    destroy = next(e for e in entries if e.get("request_id") == request_id and e["event"] == "http.request")
    assert destroy["session_id"] == session["id"]
    assert destroy["account_id"] == session["account_id"]
    assert destroy["status"] == 204 and destroy["method"] == "DELETE"
    assert all("timestamp" in e and "level" in e for e in entries)
    text = server.log_path.read_text()
    # The secret is all of the key after its prefix; it may itself hold "_" (base64url), so it is
    # not the last "_"-separated part (that was "0" once, found in any log).
    assert key not in text and key.removeprefix(KEY_PREFIX) not in text
    assert "hunter2-password" not in text
