"""The egress on a real browser: only public addresses and the holes the operator opens; every connection on record."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from ..conftest import Harness, StartDriftstack
from .upstream_proxies import upstream_proxy as started_proxy

PROBE = """<!doctype html><html><head><title>Probe</title></head><body>
<iframe id="frame" name="sink"></iframe>
<form id="post" method="post" action="{target}/posted" target="sink"><input name="x" value="1"></form>
<script>
const target = "{target}";
const outcome = {{}};
const settle = (name, promise) => promise.then(v => outcome[name] = v, e => outcome[name] = 'failed');
const loaded = (el) => new Promise(ok => {{ el.onload = () => ok('loaded'); el.onerror = () => ok('failed'); }});
const attempts = [
  settle('fetch', fetch(target + '/fetched').then(r => 'answered ' + r.status)),
  settle('img', (() => {{ const i = new Image(); const p = loaded(i); i.src = target + '/img.png'; return p; }})()),
  settle('ws', new Promise(ok => {{ const w = new WebSocket(target.replace('http', 'ws') + '/ws');
                                   w.onopen = () => ok('open'); w.onerror = () => ok('failed'); }})),
  settle('iframe', (() => {{ const f = document.createElement('iframe'); const p = loaded(f);
                            f.src = target + '/framed'; document.body.appendChild(f); return p; }})()),
  settle('form', (() => {{ const p = loaded(document.getElementById('frame'));
                          document.getElementById('post').submit(); return p; }})()),
];
Promise.all(attempts).then(() => {{
  const d = document.createElement('pre'); d.id = 'done'; d.textContent = JSON.stringify(outcome);
  document.body.appendChild(d);
}});
</script></body></html>"""


# Gathers ICE candidates against a STUN server: a browser that may send UDP past the proxy sends it there.
WEBRTC = """<!doctype html><html><head><title>WebRTC</title></head><body><script>
const pc = new RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{port}'}}]}});
pc.createDataChannel('probe');
pc.onicegatheringstatechange = () => {{
  if (pc.iceGatheringState !== 'complete') return;
  const d = document.createElement('p'); d.id = 'done'; d.textContent = 'gathered';
  document.body.appendChild(d);
}};
pc.createOffer().then(offer => pc.setLocalDescription(offer));
</script></body></html>"""


class Listener:
    """A server on a loopback port the egress must keep the browser from: it counts what reaches it."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.port = 0

    def app(self) -> web.Application:
        async def anything(request: web.Request) -> web.Response:
            self.hits.append(f"{request.method} {request.path}")
            return web.Response(text="<title>reached</title>", content_type="text/html")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        return app


@pytest.fixture
async def forbidden(aiohttp_server: Any) -> Listener:
    listener = Listener()
    server = await aiohttp_server(listener.app(), host="127.0.0.1")
    listener.port = server.port
    return listener


@pytest.fixture
async def prober(aiohttp_server: Any, forbidden: Listener) -> str:
    """Pages on a port the tests allow: a probe of the forbidden port, and a redirect to it."""

    async def probe(_: web.Request) -> web.Response:
        page = PROBE.format(target=f"http://127.0.0.1:{forbidden.port}")
        return web.Response(text=page, content_type="text/html")

    async def away(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.1:{forbidden.port}/landed")

    async def fine(_: web.Request) -> web.Response:
        return web.Response(text="<title>Fine</title><p id='ok'>ok</p>", content_type="text/html")

    async def webrtc(request: web.Request) -> web.Response:
        page = WEBRTC.format(port=int(request.query["stun"]))
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/webrtc", webrtc)
    app.router.add_get("/probe", probe)
    app.router.add_get("/away", away)
    app.router.add_get("/fine", fine)
    server = await aiohttp_server(app, host="127.0.0.1")
    return f"127.0.0.1:{server.port}"


@pytest.fixture
async def fenced(start_driftstack: StartDriftstack, prober: str, site: str) -> Harness:
    return await start_driftstack(egress_allow=(prober, site.removeprefix("http://")))


async def _network(api: Any, session_id: str) -> dict[str, Any]:
    status, log, _ = await api.get(f"/v1/sessions/{session_id}/egress?limit=100")
    assert status == 200, log
    return dict(log)


async def test_navigating_to_a_refused_port_answers_403_naming_the_setting_and_the_session_stays_ready(
    fenced: Harness, forbidden: Listener
) -> None:
    api = await fenced.client()
    session = await api.ready_session()
    status, problem, _ = await api.post(
        f"/v1/sessions/{session['id']}/navigate", {"url": f"http://127.0.0.1:{forbidden.port}/secret"}
    )
    assert status == 403, problem
    assert problem["type"].endswith("/egress-refused")
    assert problem["host"] == "127.0.0.1" and problem["port"] == forbidden.port
    assert f"DRIFTSTACK_EGRESS_ALLOW=127.0.0.1:{forbidden.port}" in problem["detail"]
    assert "loopback" in problem["detail"]
    assert forbidden.hits == []
    _, after, _ = await api.get(f"/v1/sessions/{session['id']}")
    assert after["status"] == "ready"
    log = await _network(api, session["id"])
    refused = [e for e in log["data"] if e["refused"]]
    assert refused and refused[0]["port"] == forbidden.port and "loopback" in refused[0]["reason"]
    assert log["totals"]["refused"] >= 1


async def test_the_cloud_metadata_address_is_refused(fenced: Harness) -> None:
    api = await fenced.client()
    session = await api.ready_session()
    status, problem, _ = await api.post(
        f"/v1/sessions/{session['id']}/navigate", {"url": "http://169.254.169.254/latest/meta-data/"}
    )
    assert status == 403, problem
    assert problem["host"] == "169.254.169.254" and "link-local" in problem["detail"]


async def test_a_page_can_reach_the_refused_port_by_no_fetch_image_frame_form_or_websocket(
    fenced: Harness, forbidden: Listener, prober: str
) -> None:
    api = await fenced.client()
    session = await api.ready_session()
    sid = session["id"]
    status, navigated, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"http://{prober}/probe"})
    assert status == 200 and navigated["http_status"] == 200, navigated
    status, waited, _ = await api.post(
        f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#done", "timeout_ms": 20_000}
    )
    assert status == 200, waited
    _, state, _ = await api.get(f"/v1/sessions/{sid}/state")
    outcome = json.loads(state["html"].split('<pre id="done">')[1].split("</pre>")[0].replace("&quot;", '"'))
    assert outcome["fetch"] == "failed" and outcome["img"] == "failed" and outcome["ws"] == "failed"
    assert forbidden.hits == [], "the browser reached the forbidden port"
    log = await _network(api, sid)
    refused = [e for e in log["data"] if e["refused"] and e["port"] == forbidden.port]
    # fetch, image, frame, form post (plain http: method and URL seen) and the WebSocket (a tunnel).
    paths = {e["url"].rsplit("/", 1)[-1] for e in refused if e["url"]}
    assert {"fetched", "img.png", "framed", "posted"} <= paths, refused
    assert any(e["kind"] == "tunnel" for e in refused), refused
    allowed = [e for e in log["data"] if not e["refused"]]
    assert any(e["url"] == f"http://{prober}/probe" and e["status"] == 200 for e in allowed)
    assert all(e["bytes_received"] > 0 for e in allowed if e["status"] == 200)
    assert log["totals"]["bytes_received"] > 0
    # The allowed page still works after all of it.
    status, again, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"http://{prober}/fine"})
    assert status == 200 and again["title"] == "Fine"


async def test_a_redirect_from_an_allowed_server_to_a_refused_port_is_refused(
    fenced: Harness, forbidden: Listener, prober: str
) -> None:
    api = await fenced.client()
    session = await api.ready_session()
    status, problem, _ = await api.post(
        f"/v1/sessions/{session['id']}/navigate", {"url": f"http://{prober}/away"}
    )
    assert status == 403, problem
    assert problem["port"] == forbidden.port
    assert forbidden.hits == []


async def test_allowing_a_host_and_port_opens_exactly_that_port(
    start_driftstack: StartDriftstack, forbidden: Listener, prober: str
) -> None:
    harness = await start_driftstack(egress_allow=(f"127.0.0.1:{forbidden.port}",))
    api = await harness.client()
    session = await api.ready_session()
    status, navigated, _ = await api.post(
        f"/v1/sessions/{session['id']}/navigate", {"url": f"http://127.0.0.1:{forbidden.port}/open"}
    )
    assert status == 200 and navigated["title"] == "reached", navigated
    assert forbidden.hits == ["GET /open"] or forbidden.hits[0] == "GET /open"
    # The prober's port is no longer in the allowance: refused.
    status, problem, _ = await api.post(
        f"/v1/sessions/{session['id']}/navigate", {"url": f"http://{prober}/fine"}
    )
    assert status == 403, problem


async def test_webrtc_sends_no_udp_around_the_egress(fenced: Harness, prober: str) -> None:
    stun = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stun.bind(("127.0.0.1", 0))
    stun.setblocking(False)
    with stun:
        api = await fenced.client()
        session = await api.ready_session()
        sid = session["id"]
        url = f"http://{prober}/webrtc?stun={stun.getsockname()[1]}"
        status, navigated, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": url})
        assert status == 200, navigated
        status, waited, _ = await api.post(
            f"/v1/sessions/{sid}/wait", {"kind": "selector", "selector": "#done", "timeout_ms": 20_000}
        )
        assert status == 200, waited  # gathering ended: every packet it meant to send is sent
        with pytest.raises(BlockingIOError):
            stun.recv(2048)  # (Chromium without its WebRTC flags sends this STUN server several)


async def test_another_accounts_session_has_no_network_log_to_read(fenced: Harness) -> None:
    owner = await fenced.client()
    session = await owner.ready_session()
    stranger = await fenced.client()
    status, problem, _ = await stranger.get(f"/v1/sessions/{session['id']}/egress")
    assert status == 404, problem


@pytest.fixture(params=["http", "socks5"])
async def upstream_proxy(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, int, list[str]]]:
    """A real HTTP or SOCKS5 proxy (pproxy) on loopback, with a login; it logs each connection."""
    async with started_proxy(request.param) as proxy:
        yield proxy.scheme, proxy.port, proxy.lines


async def test_a_session_on_a_named_upstream_proxy_reaches_its_page_through_it(
    start_driftstack: StartDriftstack, upstream_proxy: tuple[str, int, list[str]], prober: str
) -> None:
    scheme, port, proxy_log = upstream_proxy
    harness = await start_driftstack(
        egress_allow=(prober, f"127.0.0.1:{port}"),
        proxies=json.dumps({"corp": f"{scheme}://scout:s3cret-pw@127.0.0.1:{port}"}),
    )
    api = await harness.client()
    _, document, _ = await api.get("/v1/openapi.json")
    offered = document["components"]["schemas"]["CreateSession"]["properties"]["proxy"]["anyOf"][0]
    assert offered["enum"] == ["corp"], "the service's document names the proxies its operator offers"
    status, problem, _ = await api.post("/v1/sessions", {"proxy": "nowhere"})
    assert status == 400 and "corp" in problem["detail"] and "s3cret" not in json.dumps(problem)
    session = await api.ready_session(proxy="corp")
    status, navigated, _ = await api.post(
        f"/v1/sessions/{session['id']}/navigate", {"url": f"http://{prober}/fine"}
    )
    assert status == 200 and navigated["title"] == "Fine", navigated
    log = await _network(api, session["id"])
    through = [e for e in log["data"] if e["url"] == f"http://{prober}/fine"]
    assert through and through[0]["upstream"] == "corp" and through[0]["status"] == 200
    assert any(prober.split(":")[1] in line for line in proxy_log), proxy_log
    assert "s3cret" not in json.dumps(log) and "s3cret" not in json.dumps(session)
