"""Processes `serve` supervises: started with the service, restarted when they die, stopped with it; and
how such a process notices that the service that started it is gone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import structlog

from .settings import Settings
from .store import Store

log = structlog.get_logger()

# A child that dies is started again after this, doubling up to RESTART_CAP_S while it keeps dying.
RESTART_FIRST_S = 0.2
RESTART_CAP_S = 5.0
# How long a stop waits for a child after SIGTERM before it kills it.
STOP_GRACE_S = 10.0
# The environment variable a child reads its parent's pid from.
PARENT_PID = "DRIFTSTACK_PARENT_PID"


class Supervised:
    """One `driftstack <command>` child of this process."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self._argv = [sys.executable, "-m", "driftstack.cli", *command]
        self._env = {**env, PARENT_PID: str(os.getpid())}
        self._process: asyncio.subprocess.Process | None = None
        self._watching: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._spawn()
        self._watching = asyncio.create_task(self._watch())

    async def _spawn(self) -> None:
        # Its own session: a terminal's Ctrl-C reaches the service, which stops it in order.
        self._process = await asyncio.create_subprocess_exec(
            *self._argv, env=self._env, start_new_session=True
        )
        # Debug: `serve`'s first line is the one that says where it listens.
        log.debug("process.started", process=self.name, pid=self._process.pid)

    async def _watch(self) -> None:
        pause = RESTART_FIRST_S
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            log.error("process.died", process=self.name, exit_code=code, restart_in_s=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESTART_CAP_S)
            if not self._stopping:
                await self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("process.killed", process=self.name, after_s=STOP_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        log.info("process.stopped", process=self.name, exit_code=process.returncode)


def child_env(settings: Settings, store: Store) -> dict[str, str]:
    """A child's environment: the service's own, and the store it opened (an embedded one's address
    included), so the child opens exactly that store."""
    env = dict(os.environ)
    env["DRIFTSTACK_DATABASE_URL"] = store.url
    env["DRIFTSTACK_SECRET_KEY"] = store.cipher_key
    env["DRIFTSTACK_DATA_DIR"] = str(settings.data_dir)
    return env


def stop_with_parent(stop: Callable[[], object], every_s: float = 0.5) -> None:
    """In a child of `serve`: calls `stop` (once, from a thread of its own) when the parent is gone
    (killed at once, say), so no child outlives the service that started it."""
    parent = os.environ.get(PARENT_PID)
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(every_s)
        log.warning("process.parent_gone", parent_pid=int(parent))
        stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
