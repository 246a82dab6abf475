"""Driftstack as real processes: `driftstack serve` subprocesses and the operator's command line."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from ..conftest import chromium_path

REPO = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class ServerProcess:
    """One `driftstack serve` in a process group of its own (its browser dies with it)."""

    node_id: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def survivors(self) -> list[psutil.Process]:
        """Processes of this server's group still running (zombies awaiting a reaper are dead)."""
        alive = []
        for process in psutil.process_iter():
            try:
                if os.getpgid(process.pid) == self.process.pid and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except (psutil.Error, ProcessLookupError):
                continue
        return alive

    def crash(self) -> None:
        """SIGKILL the server and everything it started, as a power cut would: its group, and the
        projector and dispatcher it supervises (each in a session of its own)."""
        children: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(self.process.pid).children()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (a graceful stop), then SIGKILL what is left of the group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        code = self.process.poll()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        return code


class Servers:
    """Starts servers on one database with one secret key; stops every one of them at the end."""

    def __init__(
        self, database_url: str, secret_key: str, workdir: Path, egress_allow: tuple[str, ...] = ()
    ) -> None:
        self.egress_allow = egress_allow
        self.database_url = database_url
        self.secret_key = secret_key
        self.workdir = workdir
        self.started: list[ServerProcess] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTSTACK_")}
        env.update(
            DRIFTSTACK_DATABASE_URL=self.database_url,
            DRIFTSTACK_SECRET_KEY=self.secret_key,
            DRIFTSTACK_DATA_DIR=str(self.workdir / "data"),
            DRIFTSTACK_BROWSER_EXECUTABLE=chromium_path() or "/usr/bin/chromium",
            DRIFTSTACK_POOL_SIZE="2",
            DRIFTSTACK_LOG_LEVEL="info",
            DRIFTSTACK_EGRESS_ALLOW=",".join(self.egress_allow),
        )
        env.update(extra)
        return env

    async def start(self, node_id: str, **extra_env: str) -> ServerProcess:
        """One server, answering /healthz with a browser, before this returns."""
        port = free_port()
        log_path = self.workdir / f"server-{node_id}-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "driftstack.cli", "serve", "--port", str(port)],
                cwd=REPO,
                env=self.env(DRIFTSTACK_NODE_ID=node_id, **extra_env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = ServerProcess(node_id, port, process, log_path)
        self.started.append(server)
        await _until_healthy(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()

    def cli(self, *args: str) -> dict[str, Any]:
        """The operator's `driftstack …` command against this database; its JSON answer."""
        done = subprocess.run(
            [sys.executable, "-m", "driftstack.cli", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (args, done.returncode, done.stderr.decode()[-2000:])
        return json.loads(done.stdout)

    async def new_key(self, tier: str, *, concurrency: int | None = None, scopes: str = "read,write") -> str:
        """A key (read,write unless told) on a new account of `tier`, made with the operator's commands."""
        create = ["accounts", "create", "--name", f"acct-{os.urandom(3).hex()}", "--tier", tier]
        if concurrency is not None:
            create += ["--concurrency", str(concurrency)]
        account = await asyncio.to_thread(self.cli, *create)
        key = await asyncio.to_thread(self.cli, "keys", "create", account["id"], "--scopes", scopes)
        return str(key["key"])


async def _until_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise AssertionError(
                    f"server {server.node_id} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                async with http.get(server.base + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    body = await r.json()
                    if r.status == 200 and body["browser"]["available"]:
                        return
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"server {server.node_id} did not become healthy:\n{server.log_tail()}")


async def poll(
    check: Any, *, deadline_s: float = 15.0, interval_s: float = 0.05, what: str = "condition"
) -> Any:
    """Awaits `check()` until it returns something truthy; fails after `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"{what} not reached within {deadline_s} s (last: {last!r})")
