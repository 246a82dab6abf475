"""The fuzzed server's sandbox: loopback only, yet its database is reachable through the relay."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from .sandbox import loopback_only

pytestmark = pytest.mark.fuzz

_PROBE = """
import socket, sys, psycopg
print(sorted(name for _, name in socket.if_nameindex()))
with psycopg.connect(sys.argv[1], connect_timeout=10) as conn:
    print(conn.execute("SELECT 1").fetchone()[0])
"""


async def test_inside_the_sandbox_there_is_only_loopback_and_the_database_answers(database_url: str) -> None:
    async with loopback_only(database_url) as (sandbox, inner_database_url, _):
        probe = await asyncio.to_thread(
            subprocess.run,
            sandbox.command([sys.executable, "-c", _PROBE, inner_database_url]),
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert probe.returncode == 0, probe.stderr.decode()[-2000:]
    assert probe.stdout.decode().split() == ["['lo']", "1"]
