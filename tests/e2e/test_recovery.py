"""What becomes of sessions when their browser dies, the service dies, or a browser never starts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from ..conftest import BOTH_ENGINES, Api, Harness, StartDriftstack, chromium_path
from .servers import Servers, poll

SESSION_DESTROYED = "https://driftstack.dev/problems/session-destroyed"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def kill_our_browsers() -> list[int]:
    """SIGKILL every browser this test process started, as an OOM kill would: Chromium (through
    Playwright), and WebKitGTK's shell with its web and network processes."""
    killed = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name() or child.name().startswith("WebKitWeb") or _is_webkit_shell(child):
                child.kill()
                killed.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return killed


def _is_webkit_shell(process: psutil.Process) -> bool:
    return any(part.endswith("webkit_shell.py") for part in process.cmdline())


async def status_of(api: Api, sid: str, wanted: str) -> dict[str, Any] | None:
    _, session, _ = await api.get(f"/v1/sessions/{sid}")
    return session if session["status"] == wanted else None


@BOTH_ENGINES
async def test_a_session_whose_browser_dies_is_errored_and_frees_its_slot(
    driftstack: Harness, site: str
) -> None:
    api = await driftstack.client(tier="solo_manual")  # cap 1
    sid = (await api.ready_session(label="doomed"))["id"]
    assert (await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"}))[0] == 200

    assert kill_our_browsers(), "the test process started no browser to kill"
    session = await poll(lambda: status_of(api, sid, "errored"), deadline_s=15, what="errored")
    assert session["reason"] == "browser_crashed"
    assert session["destroyed_at"] is not None

    status, problem, _ = await api.post(f"/v1/sessions/{sid}/navigate", {"url": f"{site}/form"})
    assert status == 410 and problem["type"] == SESSION_DESTROYED, problem
    assert problem["session_status"] == "errored"
    status, problem, _ = await api.post(
        f"/v1/sessions/{sid}/interact", {"type": "tap", "selector": "#tap-me"}
    )
    assert status == 410, problem

    _, log, _ = await api.get(f"/v1/audit-log?resource_id={sid}&action=session.errored")
    assert [e["payload"]["reason"] for e in log["data"]] == ["browser_crashed"]

    # The slot is free, and the next session gets a fresh browser.
    replacement = await api.ready_session(label="after the crash")
    status, nav, _ = await api.post(f"/v1/sessions/{replacement['id']}/navigate", {"url": f"{site}/form"})
    assert (status, nav["title"]) == (200, "Form")
    assert (await api.delete(f"/v1/sessions/{replacement['id']}"))[0] == 204


async def test_sessions_of_a_crashed_node_are_errored_when_it_starts_again(
    servers: Servers, http: aiohttp.ClientSession
) -> None:
    crashing = await servers.start("node-crashing")
    other = await servers.start("node-other")
    key = await servers.new_key("api_starter")  # cap 2
    on_crashing, on_other = Api(http, crashing.base, key), Api(http, other.base, key)
    lost = (await on_crashing.ready_session(label="on the node that dies"))["id"]
    kept = (await on_other.ready_session(label="on a node that lives"))["id"]

    crashing.crash()

    async def all_dead() -> bool:
        return not crashing.survivors()

    await poll(all_dead, deadline_s=10, what="the crashed server and its browser gone")
    restarted = await servers.start("node-crashing")
    on_restarted = Api(http, restarted.base, key)

    _, session, _ = await on_restarted.get(f"/v1/sessions/{lost}")
    assert session["status"] == "errored", session
    assert session["reason"] == "service_restarted"
    status, problem, _ = await on_restarted.post(
        f"/v1/sessions/{lost}/wait", {"kind": "duration", "duration_ms": 1}
    )
    assert status == 410, problem

    # Another node's session is none of the restarted node's business.
    _, session, _ = await on_other.get(f"/v1/sessions/{kept}")
    assert session["status"] == "ready", session
    status, _, _ = await on_other.post(f"/v1/sessions/{kept}/wait", {"kind": "duration", "duration_ms": 1})
    assert status == 200

    # The lost session's slot is free: with the other session live, a cap of 2 still admits one.
    replacement = await on_restarted.ready_session(label="after the restart")
    for api, sid in ((on_restarted, replacement["id"]), (on_other, kept)):
        assert (await api.delete(f"/v1/sessions/{sid}"))[0] == 204


def browser_wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """A browser executable that starts Chromium until told (in its mode file) to fail or hang."""
    mode = tmp_path / "browser-mode"
    wrapper = tmp_path / "chromium-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case "$(cat {mode} 2>/dev/null)" in\n'
        "  fail) echo 'this browser refuses to start' >&2; exit 1 ;;\n"
        "  hang) exec sleep 120 ;;\n"
        "esac\n"
        f'exec {chromium_path() or "/usr/bin/chromium"} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, mode


@pytest.mark.parametrize("broken", ["fail", "hang"])
async def test_waiting_on_a_session_whose_browser_cannot_start_ends_errored(
    start_driftstack: StartDriftstack, tmp_path: Path, broken: str
) -> None:
    wrapper, mode = browser_wrapper(tmp_path)
    provision_timeout_s = 3.0
    driftstack = await start_driftstack(
        browser_executable=str(wrapper), provision_timeout_s=provision_timeout_s
    )
    api = await driftstack.client(tier="solo_manual")  # cap 1
    # The browser started with the service; from now on it will not start again.
    mode.write_text(broken)
    assert kill_our_browsers()
    await asyncio.sleep(0.2)  # let Playwright notice the browser is gone

    started = time.monotonic()
    status, session, _ = await api.post("/v1/sessions?wait=true", {"label": "never starts"})
    assert time.monotonic() - started < provision_timeout_s + 15, "?wait=true hung"
    assert status == 201
    assert session["status"] == "errored", session
    assert session["reason"] in ("provisioning_failed", "provisioning_timeout"), session
    sid = session["id"]
    status, problem, _ = await api.post(f"/v1/sessions/{sid}/wait", {"kind": "duration", "duration_ms": 1})
    assert status == 410, problem

    # The errored session's slot is free, and once the browser starts again so do sessions.
    mode.write_text("")
    replacement = await api.ready_session(label="the browser is back")
    assert (await api.delete(f"/v1/sessions/{replacement['id']}"))[0] == 204
    assert not [p for p in psutil.Process().children(recursive=True) if p.name() == "sleep"]
