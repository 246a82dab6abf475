"""Starting Driftstack as a newcomer does: one data directory per user, one line saying where it listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ..conftest import chromium_path
from .servers import STARTUP_DEADLINE_S, ServerProcess, free_port, poll


@pytest.fixture
def home() -> Iterator[Path]:
    """A user's home outside pytest's own temporary root: as root, the embedded PostgreSQL runs as
    another user that must traverse the directories above its data, and a pytest starting
    meanwhile takes that right away from its root again."""
    with tempfile.TemporaryDirectory(prefix="driftstack-home-") as path:
        yield Path(path)


def a_users_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who set no DRIFTSTACK_ variable: only HOME and XDG_DATA_HOME say
    where data goes, and no XDG_RUNTIME_DIR (a service, a container, sudo)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTSTACK_", "XDG_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "xdg-data"), **extra)
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftstack.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def answer_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "a command that succeeds says nothing on stderr"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def serving(env: dict[str, str], cwd: Path, log_path: Path) -> ServerProcess:
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "driftstack.cli", "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess("startup", port, process, log_path)

    async def healthy() -> bool:
        assert process.poll() is None, server.log_tail()
        try:
            async with aiohttp.ClientSession() as http, http.get(server.base + "/healthz") as r:
                return r.status == 200 and (await r.json())["browser"]["available"]
        except aiohttp.ClientError:
            return False

    await poll(healthy, deadline_s=STARTUP_DEADLINE_S, interval_s=0.2, what="a healthy serve")
    return server


async def test_a_command_run_from_another_directory_reaches_the_store_serve_created(
    home: Path, tmp_path: Path
) -> None:
    serve_dir, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    for d in (serve_dir, elsewhere):
        d.mkdir()
    env = a_users_env(
        home,
        DRIFTSTACK_BROWSER_EXECUTABLE=chromium_path() or "/usr/bin/chromium",
        DRIFTSTACK_WARM_POOL_SIZE="0",
        DRIFTSTACK_POOL_SIZE="2",
    )
    server = await serving(env, serve_dir, tmp_path / "serve.log")
    try:
        account = answer_of(
            run_cli("accounts", "create", "--name", "acme", "--tier", "api_starter", env=env, cwd=elsewhere)
        )
        key = answer_of(run_cli("keys", "create", account["id"], "--scopes", "read", env=env, cwd=elsewhere))
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.base + "/v1/account/me", headers={"Authorization": f"Bearer {key['key']}"}) as r,
        ):
            assert r.status == 200, await r.text()
            assert (await r.json())["id"] == account["id"]
    finally:
        assert server.stop() == 0, server.log_tail()

    data = home / "xdg-data" / "driftstack"
    log = server.log_path.read_text()
    first = log.splitlines()[0]
    assert first.startswith(f"driftstack: listening on http://127.0.0.1:{server.port} · "), log
    assert "engine Playwright chromium" in first and f"store embedded PostgreSQL at {data}/postgres" in first
    assert f"data {data} (new)" in first
    assert not (serve_dir / ".driftstack").exists() and not (elsewhere / ".driftstack").exists()
    for noise in ("Success. You can now start", "initdb", "pg_ctl", "RuntimeDirWarning", "remaining pids"):
        assert noise not in log, f"{noise!r} in the service log:\n{log}"
    assert "Success. You can now start" in (data / "embedded-postgres.log").read_text(), "kept, not lost"


def test_a_command_that_finds_no_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "xdg-data").mkdir()
    done = run_cli(
        "accounts",
        "create",
        "--name",
        "acme",
        "--tier",
        "trial_pack",
        env=a_users_env(tmp_path),
        cwd=tmp_path,
    )

    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"no Driftstack data in {tmp_path / 'xdg-data' / 'driftstack'}" in done.stderr
    assert "driftstack serve" in done.stderr, "it says what to do"
    assert list((tmp_path / "xdg-data").iterdir()) == [] and not (tmp_path / ".driftstack").exists()


def test_a_command_on_a_database_without_the_services_secret_key_refuses_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    env = a_users_env(tmp_path, DRIFTSTACK_DATABASE_URL=database_url)
    done = run_cli("accounts", "create", "--name", "acme", "--tier", "trial_pack", env=env, cwd=tmp_path)

    assert done.returncode != 0 and done.stdout == ""
    assert "no secret key" in done.stderr and "DRIFTSTACK_SECRET_KEY" in done.stderr, done.stderr
    assert not (tmp_path / "xdg-data").exists(), "no key was generated for it"


def test_init_creates_the_store_that_later_commands_find(home: Path, tmp_path: Path) -> None:
    env = a_users_env(home)
    created = answer_of(run_cli("init", env=env, cwd=tmp_path))
    data = home / "xdg-data" / "driftstack"
    assert created["data_dir"] == str(data) and created["created"] is True
    assert oct((data / "secret.key").stat().st_mode & 0o777) == "0o600"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    account = answer_of(
        run_cli("accounts", "create", "--name", "solo", "--tier", "trial_pack", env=env, cwd=elsewhere)
    )
    key = answer_of(run_cli("keys", "create", account["id"], "--scopes", "read", env=env, cwd=tmp_path))
    assert key["account_id"] == account["id"], "a second process finds the first one's account"
    assert answer_of(run_cli("init", env=env, cwd=elsewhere))["created"] is False
