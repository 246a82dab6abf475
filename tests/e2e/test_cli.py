"""The operator's command line: accounts, members and keys (on the embedded store: test_startup.py)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from ..conftest import StartDriftstack


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The operator's command line, as a separate process with `env` over this one's."""
    return subprocess.run(
        [sys.executable, "-m", "driftstack.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def driftstack_cli(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_an_operator_creates_an_account_and_key_that_the_api_accepts(
    database_url: str, start_driftstack: StartDriftstack, tmp_path: Path
) -> None:
    harness = await start_driftstack()
    env = {
        "DRIFTSTACK_DATABASE_URL": database_url,
        "DRIFTSTACK_DATA_DIR": str(tmp_path),
        "DRIFTSTACK_SECRET_KEY": harness.settings.secret_key or "",
    }
    owner = driftstack_cli("accounts", "create", "--name", "acme", "--tier", "team_manual", env=env)
    assert owner["id"].startswith("acc_") and owner["concurrency"] == 3 and owner["profile_cap"] == 50
    member = driftstack_cli("accounts", "create", "--name", "ada", "--tier", "solo_manual", env=env)
    added = driftstack_cli("accounts", "add-member", owner["id"], member["id"], "--role", "admin", env=env)
    assert added["members"] == {member["id"]: "admin"}
    key = driftstack_cli("keys", "create", owner["id"], "--scopes", "read,write", env=env)
    assert key["id"].startswith("key_") and key["key"].startswith("ds_live_")

    status, me, _ = await harness.api(key["key"]).get("/v1/account/me")
    assert status == 200
    assert (me["id"], me["tier"], me["concurrency"], me["profile_cap"]) == (owner["id"], "team_manual", 3, 50)

    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT key_hash FROM api_keys").fetchall()
    assert stored and all(key["key"] not in row[0] for row in stored), "only the hash is kept"


def test_bad_operator_input_is_refused_and_changes_nothing(database_url: str, tmp_path: Path) -> None:
    env = {
        "DRIFTSTACK_DATABASE_URL": database_url,
        "DRIFTSTACK_DATA_DIR": str(tmp_path),
        "DRIFTSTACK_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driftstack.cli",
            "keys",
            "create",
            "acc_00000000-0000-0000-0000-000000000000",
            "--scopes",
            "read",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and "not found" in done.stderr
