"""A browser's failures answer in Driftstack's words, with a reason a client can branch on."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..conftest import BOTH_ENGINES, Api, Harness, StartDriftstack
from .test_errors import assert_problem, closed_port

pytestmark = BOTH_ENGINES

# Words of the engine's API and of its network stack: never in a problem's detail.
ENGINE_WORDS = ("Page.", "Locator.", "Keyboard.", "ElementHandle.", "net::", "Call log")


def assert_driver_failure(answer: tuple[int, Any, Any], instance: str, reason: str) -> dict[str, Any]:
    """A 502 driver-error with `reason`, told in Driftstack's words; the engine's line only beside."""
    body = assert_problem(answer, 502, "driver-error", instance=instance)
    assert body["reason"] == reason, body
    assert body["detail"].startswith("could not "), body
    for word in ENGINE_WORDS:
        assert word not in body["detail"], (word, body)
    engine = body["engine_message"]
    assert engine is None or ("\n" not in engine and "Call log" not in engine), body
    return body


async def a_session_on(api: Api, url: str) -> str:
    path = f"/v1/sessions/{(await api.ready_session())['id']}"
    status, nav, _ = await api.post(f"{path}/navigate", {"url": url})
    assert status == 200, nav
    return path


@pytest.fixture
async def untrusted_site(tmp_path: Path) -> AsyncIterator[str]:
    """An HTTPS page whose certificate no one signed: a browser refuses its TLS."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<title>Untrusted</title>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"https://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_navigations_that_cannot_reach_a_site_say_why_and_the_session_stays_ready(
    start_driftstack: StartDriftstack, site: str, untrusted_site: str, engine: str
) -> None:
    refused = f"http://127.0.0.1:{closed_port()}/"
    # The egress lets the browser try these loopback ports; what fails is the site, as it would outside.
    opened = (site, refused, untrusted_site)
    driftstack = await start_driftstack(egress_allow=tuple(u.split("/")[2] for u in opened))
    api = await driftstack.client()
    path = await a_session_on(api, f"{site}/form")
    cases = [
        ("http://nonexistent.invalid/", "dns_failed", "the host name does not resolve"),
        (refused, "connection_refused", "the host refused the connection"),
        (untrusted_site, "tls_failed", "certificate"),
        ("http://127.0.0.1:1/", "blocked", "unsafe port"),
    ]
    for url, reason, words in cases:
        body = assert_driver_failure(
            await api.post(f"{path}/navigate", {"url": url}), f"{path}/navigate", reason
        )
        assert body["detail"].startswith(f"could not navigate to {url}: "), body
        assert words in body["detail"], body
        assert body["engine_message"], "the engine's own line stays at hand, beside"
        if engine == "chromium":
            assert "net::ERR_" in body["engine_message"], body

    status, nav, _ = await api.post(f"{path}/navigate", {"url": f"{site}/form"})
    assert status == 200 and nav["title"] == "Form", nav
    _, log, _ = await api.get(
        f"/v1/audit-log?resource_id={path.rsplit('/', 1)[1]}&action=session.action_failed"
    )
    assert [e["payload"]["reason"] for e in reversed(log["data"])] == [c[1] for c in cases]
    for entry in log["data"]:
        assert not any(word in entry["payload"]["error"] for word in ENGINE_WORDS), entry


async def test_actions_the_page_refuses_say_why_in_driftstacks_words(driftstack: Harness, site: str) -> None:
    api = await driftstack.client()
    path = await a_session_on(api, f"{site}/form")
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("interact", {"type": "press", "key": "Entr"}, "unknown_key"),
        ("interact", {"type": "press", "key": "Entr", "selector": "#name"}, "unknown_key"),
        ("interact", {"type": "tap", "selector": "#never", "timeout_ms": 300}, "selector_not_found"),
        (
            "interact",
            {"type": "type", "selector": "#never", "text": "x", "timeout_ms": 300},
            "selector_not_found",
        ),
        ("wait", {"kind": "selector", "selector": "#never", "timeout_ms": 300}, "selector_not_found"),
        ("interact", {"type": "scroll", "pixels": 10, "selector": "##"}, "invalid_selector"),
        ("interact", {"type": "tap", "selector": "##"}, "invalid_selector"),
        ("wait", {"kind": "navigation", "timeout_ms": 300}, "timeout"),
    ]
    for action, body, reason in cases:
        problem = assert_driver_failure(await api.post(f"{path}/{action}", body), f"{path}/{action}", reason)
        if reason == "unknown_key":
            assert problem["detail"].startswith("could not press 'Entr'"), problem
        if reason == "selector_not_found":
            assert "'#never'" in problem["detail"] and "300 ms" in problem["detail"], problem

    _, session, _ = await api.get(path)
    assert session["status"] == "ready" and session["action_count"] == 1 + len(cases), session
    assert (session["current_url"], session["title"]) == (f"{site}/form", "Form")
