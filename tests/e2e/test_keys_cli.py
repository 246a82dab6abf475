"""The operator's keys and accounts commands: against running services, and with none running."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from driftstack import clock

from .servers import Servers
from .test_cli import run_cli


async def status_on(http: aiohttp.ClientSession, base: str, key: str) -> int:
    async with http.get(base + "/v1/sessions", headers={"Authorization": f"Bearer {key}"}) as response:
        return response.status


async def test_a_key_revoked_from_the_command_line_answers_401_on_every_node_at_once(
    servers: Servers, database_url: str
) -> None:
    nodes = [await servers.start("node-a"), await servers.start("node-b")]
    account = await asyncio.to_thread(
        servers.cli, "accounts", "create", "--name", "acme", "--tier", "api_starter"
    )
    key = await asyncio.to_thread(
        servers.cli, "keys", "create", account["id"], "--scopes", "read", "--name", "leaked"
    )
    async with aiohttp.ClientSession() as http:
        assert [await status_on(http, n.base, key["key"]) for n in nodes] == [200, 200]

        revoked = await asyncio.to_thread(servers.cli, "keys", "revoke", key["id"])
        assert revoked["in_effect"] is True and revoked["revoked_at"] is not None, revoked
        assert [await status_on(http, n.base, key["key"]) for n in nodes] == [401, 401]

    listing = await asyncio.to_thread(servers.cli, "keys", "list", account["id"])
    [shown] = listing["data"]
    assert (shown["id"], shown["name"], shown["revoked_at"]) == (key["id"], "leaked", revoked["revoked_at"])
    assert shown["last_used_at"] is not None, "it was used before it was revoked"
    with psycopg.connect(database_url) as conn:
        [(stored_hash,)] = conn.execute("SELECT key_hash FROM api_keys").fetchall()
    assert key["key"] not in json.dumps(listing) and stored_hash not in json.dumps(listing)


def cli_json(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_with_no_service_running_the_operator_lists_shows_issues_and_revokes(
    database_url: str, tmp_path: Path
) -> None:
    env = {
        "DRIFTSTACK_DATABASE_URL": database_url,
        "DRIFTSTACK_DATA_DIR": str(tmp_path),
        "DRIFTSTACK_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    first = cli_json("accounts", "create", "--name", "first", "--tier", "trial_pack", env=env)
    second = cli_json("accounts", "create", "--name", "second", "--tier", "team_manual", env=env)
    assert [a["id"] for a in cli_json("accounts", "list", env=env)["data"]] == [first["id"], second["id"]]
    assert cli_json("accounts", "show", second["id"], env=env) == second

    before = clock.now()
    made = cli_json("keys", "create", second["id"], "--scopes", "read,admin", "--expires-in", "90m", env=env)
    lifetime = clock.parse_iso(made["expires_at"]) - before
    assert timedelta(minutes=89) < lifetime <= timedelta(minutes=91), made
    forever = cli_json("keys", "create", second["id"], "--scopes", "read", env=env)
    assert forever["expires_at"] is None

    revoked = cli_json("keys", "revoke", made["id"], env=env)
    assert revoked["revoked_at"] is not None
    assert revoked["in_effect"] is False and "no running service" in revoked["note"]
    listed = cli_json("keys", "list", second["id"], env=env)["data"]
    assert [(k["id"], k["revoked_at"] is not None) for k in listed] == [
        (made["id"], True),
        (forever["id"], False),
    ]
    assert all("key" not in k for k in listed)
    assert cli_json("keys", "list", first["id"], env=env) == {"data": []}


def test_bad_key_commands_say_why_and_change_nothing(database_url: str, tmp_path: Path) -> None:
    env = {
        "DRIFTSTACK_DATABASE_URL": database_url,
        "DRIFTSTACK_DATA_DIR": str(tmp_path),
        "DRIFTSTACK_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    account = cli_json("accounts", "create", "--name", "a", "--tier", "trial_pack", env=env)
    for args, said in [
        (("keys", "create", account["id"], "--scopes", "read", "--expires-in", "2w"), "expires_in"),
        (("keys", "revoke", "key_00000000-0000-0000-0000-000000000000"), "not found"),
        (("keys", "revoke", "not-a-key"), "not found"),
        (("keys", "list", "acc_00000000-0000-0000-0000-000000000000"), "not found"),
        (("accounts", "show", "acc_00000000-0000-0000-0000-000000000000"), "not found"),
    ]:
        done = run_cli(*args, env=env)
        assert done.returncode == 2 and said in done.stderr and done.stdout == "", (args, done.stderr)
    assert cli_json("keys", "list", account["id"], env=env) == {"data": []}
