"""A `driftstack serve` in a network namespace whose only interface is loopback, reachable from the test."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..e2e.servers import REPO, ServerProcess, Servers, _until_healthy, free_port
from .relay import relay

# Inside the namespace every port is free: these are fixed so a log line reads the same on every run.
_INNER_PG_PORT = 5432
_INNER_SERVER_PORT = 8022


class Sandbox:
    """The namespace (held by its relay process) and the relays on this side of it."""

    def __init__(self, holder: subprocess.Popen[bytes], workdir: Path) -> None:
        self.holder = holder
        self.workdir = workdir

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside the namespace."""
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *argv]


@contextlib.asynccontextmanager
async def loopback_only(database_url: str) -> AsyncIterator[tuple[Sandbox, str, int]]:
    """The sandbox, the database URL as seen from inside it, and the port here that reaches its server.

    Needs the right to make a network namespace (root, as CI runs)."""
    pg = urlsplit(database_url)
    # A Unix socket's path is at most 107 bytes: a pytest tmp_path can be longer.
    workdir = Path(tempfile.mkdtemp(prefix="ds-fuzz-"))
    pg_socket, http_socket = workdir / "pg.sock", workdir / "http.sock"
    to_pg = await relay(f"unix:{pg_socket}", f"tcp:{pg.hostname or '127.0.0.1'}:{pg.port or 5432}")
    holder = subprocess.Popen(
        [
            "unshare",
            "--net",
            "--",
            sys.executable,
            "-m",
            "tests.fuzz.relay",
            f"tcp:127.0.0.1:{_INNER_PG_PORT}=unix:{pg_socket}",
            f"unix:{http_socket}=tcp:127.0.0.1:{_INNER_SERVER_PORT}",
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    outer_port = free_port()
    to_server: asyncio.Server | None = None
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), timeout=30)
        assert line.strip() == b"ready", f"the network namespace could not be made (exit {holder.poll()})"
        to_server = await relay(f"tcp:127.0.0.1:{outer_port}", f"unix:{http_socket}")
        inner_url = _with_hostport(database_url, f"127.0.0.1:{_INNER_PG_PORT}")
        yield Sandbox(holder, workdir), inner_url, outer_port
    finally:
        for server in (to_server, to_pg):
            if server is not None:
                server.close()
        holder.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            holder.wait(timeout=10)
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _with_hostport(url: str, hostport: str) -> str:
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{hostport}" if userinfo else hostport))


async def serve_inside(
    sandbox: Sandbox, servers: Servers, inner_database_url: str, outer_port: int, **env: str
) -> ServerProcess:
    """`driftstack serve` in the sandbox, answering /healthz with a browser (through the relays) on return."""
    log_path = servers.workdir / "server-fuzz.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            sandbox.command(
                [sys.executable, "-m", "driftstack.cli", "serve", "--port", str(_INNER_SERVER_PORT)]
            ),
            cwd=REPO,
            env=servers.env(DRIFTSTACK_NODE_ID="fuzz", DRIFTSTACK_DATABASE_URL=inner_database_url, **env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # nsenter execs the server in place, so this process is the server and its group holds its browser.
    server = ServerProcess("fuzz", outer_port, process, log_path)
    servers.started.append(server)
    await _until_healthy(server)
    return server
