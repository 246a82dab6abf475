"""Sessions on real WebKit (WebKitGTK over W3C WebDriver): what a page sees is WebKit, not a costume."""

from __future__ import annotations

import base64
import json
import re
import struct

import pytest

from driftstack.drivers import webkit_host

from ..conftest import Harness, StartDriftstack

pytestmark = pytest.mark.parametrize("engine", ["webkit"], indirect=True)


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _tells(html: str) -> dict:
    found = re.search(r'<pre id="tells">(.*?)</pre>', html, re.S)
    assert found is not None, html
    return json.loads(found.group(1).replace("&quot;", '"'))


async def test_the_iphone_persona_runs_on_webkit_at_its_exact_size_and_scale(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client()
    session = await api.ready_session()
    assert (session["engine"], session["tap_kind"]) == ("webkit", "click")
    assert re.fullmatch(r"2\.\d+\.\d+", session["engine_version"]), session["engine_version"]
    sid = session["id"]

    assert (await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/engine"}))[0] == 200
    assert (await api.post(f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#done"}))[0] == 200
    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    tells = _tells(state["html"])
    # Engine behaviour a user agent cannot fake: JavaScriptCore's stack format, no `window.chrome`,
    # no client hints on the wire; and the shell's message handler is invisible to the page.
    assert tells["v8_stack"] is False and tells["window_chrome"] is False
    assert "absent" in state["html"], "WebKit sends no sec-ch-ua header"
    assert tells["webkit_handlers"] is False
    assert (tells["width"], tells["height"], tells["dpr"]) == (402, 874, 3)
    assert (tells["platform"], tells["max_touch_points"]) == ("iPhone", 5)
    assert tells["vendor"] == "Apple Computer, Inc."
    assert "iPhone" in state["html"] and "Safari/604.1" in state["html"]
    assert state["viewport"] == {"width": 402, "height": 874}

    _, shot, _ = await api.post(f"/v1/sessions/{sid}/capture", {"kind": "screenshot"})
    assert _png_size(base64.b64decode(shot["data"])) == (1206, 2622), "device pixels at scale 3"
    await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"})
    _, full, _ = await api.post(f"/v1/sessions/{sid}/capture", {"kind": "screenshot", "full_page": True})
    width, height = _png_size(base64.b64decode(full["data"]))
    assert width == 1206 and height > 4000 * 3 - 1, "the whole 4,000 px page"


async def test_a_session_may_ask_for_another_engine(driftstack: Harness, site: str) -> None:
    api = await driftstack.client()
    _, health, _ = await api.get("/healthz")
    engines = {e["engine"]: e for e in health["browser"]["engines"]}
    assert engines["webkit"]["default"] and engines["webkit"]["available"]
    assert engines["chromium"]["available"] and not engines["chromium"]["default"]

    session = await api.ready_session(engine="chromium")
    assert (session["engine"], session["tap_kind"]) == ("chromium", "touch")
    await api.post(f"/v1/sessions/{session['id']}/navigate", {"url": f"{site}/engine"})
    _, state, _ = await api.get(f"/v1/sessions/{session['id']}/state")
    assert _tells(state["html"])["v8_stack"] is True

    # An engine not installed here is not in this service's document, and is refused like any invalid value.
    _, document, _ = await api.get("/v1/openapi.json")
    offered = document["components"]["schemas"]["CreateSession"]["properties"]["engine"]["anyOf"][0]["enum"]
    assert offered == ["webkit", "chromium"]
    status, problem, _ = await api.post("/v1/sessions", {"engine": "firefox"})
    assert status == 400 and problem["type"].endswith("/validation-failed"), problem
    assert "firefox" in problem["detail"] and "webkit, chromium" in problem["detail"]


async def test_a_refused_address_is_refused_on_webkit_too(driftstack: Harness) -> None:
    api = await driftstack.client()
    sid = (await api.ready_session())["id"]
    status, problem, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": "http://127.0.0.2:8123/"})
    assert status == 403 and problem["type"].endswith("/egress-refused"), problem
    _, session, _ = await api.get(f"/v1/sessions/{sid}")
    assert session["status"] == "ready"


async def test_a_service_configured_for_webkit_that_cannot_start_it_says_what_to_install(
    start_driftstack: StartDriftstack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WebKitGTK is installed on the machines that run this suite; a machine without it is made by
    # naming a WebKitWebDriver that does not exist.
    monkeypatch.setattr(webkit_host, "WEBDRIVER", "WebKitWebDriver-not-installed")
    driftstack = await start_driftstack(browser="webkit", warm_pool_size=0)
    api = await driftstack.client()
    status, problem, _ = await api.post("/v1/sessions", {})
    assert status == 503 and problem["type"].endswith("/driver-not-integrated"), problem
    assert "webkit2gtk-driver" in problem["detail"] + str(problem.get("hint")), problem
    _, health, _ = await api.get("/healthz")
    assert health["browser"]["available"] is False
