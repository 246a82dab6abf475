"""Captures kept as artifacts: listed after the session ends, downloaded through signed links without a
key, refused when a link is altered or expired, deleted by a client or by retention, all on record."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from ..conftest import BOTH_ENGINES, Api, Harness, StartDriftstack


async def captured_session(api: Api, site: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A session that took a kept screenshot and a DOM snapshot, then ended: its path and both answers."""
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    await api.post(f"{path}/navigate", {"url": f"{site}/form"})
    status, shot, _ = await api.post(f"{path}/capture", {"kind": "screenshot"})
    assert status == 200 and shot["artifact_id"].startswith("art_"), shot
    status, dom, _ = await api.post(f"{path}/capture", {"kind": "dom_snapshot"})
    assert status == 200, dom
    status, unkept, _ = await api.post(f"{path}/capture", {"kind": "screenshot", "keep": False})
    assert status == 200 and unkept["artifact_id"] is None
    assert (await api.delete(path))[0] == 204
    return path, shot, dom


async def download(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, str]:
    async with http.get(url) as answer:  # no Authorization header: the link is the grant
        return answer.status, await answer.read(), answer.headers.get("Content-Type", "")


def altered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


@BOTH_ENGINES
async def test_a_kept_capture_downloads_through_its_signed_link_after_the_session_ends(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    path, shot, dom = await captured_session(api, site)

    status, page, _ = await api.get(f"{path}/artifacts")
    assert status == 200, page
    assert [a["id"] for a in page["data"]] == [dom["artifact_id"], shot["artifact_id"]], (
        "newest first, unkept absent"
    )
    listed = page["data"][1]
    png = base64.b64decode(shot["data"])
    assert listed["kind"] == "screenshot" and listed["content_type"] == "image/png"
    assert listed["byte_size"] == len(png) and listed["sha256"] == hashlib.sha256(png).hexdigest()
    assert listed["url"].startswith(f"{driftstack.base}/v1/artifacts/{listed['id']}/content?")

    status, body, content_type = await download(driftstack.http, listed["url"])
    assert (status, body, content_type) == (200, png, "image/png")
    status, html, content_type = await download(driftstack.http, page["data"][0]["url"])
    assert status == 200 and html == base64.b64decode(dom["data"]) and content_type.startswith("text/html")

    status, one, _ = await api.get(f"/v1/artifacts/{listed['id']}")
    assert status == 200 and {k: one[k] for k in ("id", "sha256", "byte_size")} == {
        k: listed[k] for k in ("id", "sha256", "byte_size")
    }


async def test_an_altered_or_expired_link_is_refused_403(
    start_driftstack: StartDriftstack, site: str
) -> None:
    driftstack = await start_driftstack(artifact_url_ttl_s=3.0)
    api = await driftstack.client()
    _, shot, _ = await captured_session(api, site)
    url = (await api.get(f"/v1/artifacts/{shot['artifact_id']}"))[1]["url"]
    assert (await download(driftstack.http, url))[0] == 200
    signature = parse_qs(urlsplit(url).query)["signature"][0]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])

    forged = "0" * 64 if signature != "0" * 64 else "1" * 64
    for link in (
        altered(url, signature=forged),
        altered(url, expires=str(expires + 3600)),  # a longer life than was signed
        altered(url, expires=f"0{expires}"),  # the same number, spelled otherwise
        altered(url, signature="not-a-signature"),
        url.replace(shot["artifact_id"], "art_00000000-0000-4000-8000-000000000000"),
    ):
        async with driftstack.http.get(link) as answer:
            problem = await answer.json(content_type=None)
            assert answer.status == 403, (link, problem)
            assert problem["type"].endswith("/link-refused") and "signature" in problem["detail"]

    for _ in range(100):  # the link's time runs out (its expiry is in whole seconds)
        async with driftstack.http.get(url) as answer:
            if answer.status != 200:
                problem = await answer.json(content_type=None)
                break
        await asyncio.sleep(0.1)
    assert answer.status == 403 and "expired" in problem["detail"], problem


async def test_a_deleted_artifact_is_gone_everywhere_and_on_record(driftstack: Harness, site: str) -> None:
    api = await driftstack.client()
    path, shot, dom = await captured_session(api, site)
    url = (await api.get(f"/v1/artifacts/{shot['artifact_id']}"))[1]["url"]

    stranger = await driftstack.client()
    assert (await stranger.delete(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 404
    assert (await stranger.get(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 404
    assert (await stranger.get(f"{path}/artifacts"))[0] == 404

    reader = driftstack.api(await driftstack.key(await account_of(api), scopes="read"))
    assert (await reader.delete(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 403, "deleting needs write"

    assert (await api.delete(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 204
    assert (await api.delete(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 404
    assert (await api.get(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 404
    assert [a["id"] for a in (await api.get(f"{path}/artifacts"))[1]["data"]] == [dom["artifact_id"]]
    assert (await download(driftstack.http, url))[0] == 404

    status, log, _ = await api.get(f"/v1/audit-log?resource_id={shot['artifact_id']}")
    assert status == 200
    assert [e["action"] for e in log["data"]] == ["artifact.deleted", "artifact.created"]
    assert log["data"][0]["payload"]["reason"] == "client_request"


async def account_of(api: Api) -> str:
    status, me, _ = await api.get("/v1/account/me")
    assert status == 200
    return str(me["id"])


async def test_retention_deletes_what_is_older_than_it(start_driftstack: StartDriftstack, site: str) -> None:
    driftstack = await start_driftstack(artifact_retention_days=2 / 86_400)  # two seconds
    api = await driftstack.client()
    _, shot, _ = await captured_session(api, site)
    for _ in range(100):
        if (await api.get(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 404:
            break
        await asyncio.sleep(0.1)
    assert (await api.get(f"/v1/artifacts/{shot['artifact_id']}"))[0] == 404
    log = (await api.get(f"/v1/audit-log?resource_id={shot['artifact_id']}"))[1]
    assert log["data"][0]["action"] == "artifact.deleted"
    assert log["data"][0]["payload"]["reason"] == "retention"
