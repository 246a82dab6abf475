"""The processes behind a WebKitGTK session: one X display for all, one WebKitWebDriver per session, and
the side channel to the session's browser shell.

WebKitGTK 2.50 has no headless mode, so browsers draw on an Xvfb display the driver starts once. Each
session gets a WebKitWebDriver of its own (one accepts a single session) started in a process group of
its own, so a terminal's Ctrl-C reaches only the service, which then ends the sessions in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from driftstack.drivers.base import DriverUnavailable

WEBDRIVER = "WebKitWebDriver"
XVFB = "Xvfb"
# Debian's Python: PyGObject and WebKit2 4.1 are installed for it, not for the service's environment.
SYSTEM_PYTHON = "/usr/bin/python3"
SHELL = Path(__file__).with_name("webkit_shell.py")
# Large enough for every persona's window at its device scale (a desktop 1440 x 900 at 2, an iPhone
# 402 x 874 at 3).
SCREEN = "3000x3000x24"
INSTALL_HINT = (
    "apt-get install webkit2gtk-driver xvfb gir1.2-webkit2-4.1 python3-gi python3-gi-cairo "
    "(Debian/Ubuntu), or set DRIFTSTACK_WEBDRIVER_URL to a W3C WebDriver endpoint"
)
_READY_S = 10.0


def missing_parts() -> list[str]:
    """What a local WebKitGTK session needs and this machine lacks."""
    missing = [name for name in (WEBDRIVER, XVFB) if shutil.which(name) is None]
    if not os.path.exists(SYSTEM_PYTHON):
        missing.append(SYSTEM_PYTHON)
    return missing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it when the service dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


async def _spawn(
    *command: str, env: dict[str, str] | None = None, output: Path | None = None, **options: Any
) -> asyncio.subprocess.Process:
    """Starts a child in a process group of its own; what it prints goes to `output`, if given."""
    with contextlib.ExitStack() as closing:  # the child holds its own copy of the file
        sink: Any = asyncio.subprocess.DEVNULL if output is None else closing.enter_context(output.open("ab"))
        return await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=env,
            start_new_session=True,  # its own process group: a terminal's signal is the service's alone
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            **options,
        )


async def _end(process: asyncio.subprocess.Process, grace_s: float = 2.0) -> None:
    """Terminates the process and its group (the browser WebKitWebDriver launched), then waits until
    none of the group is left running: a web or network process outlives its shell by a few
    milliseconds, and a caller that ended a session must not find its browser still there."""
    group = process.pid
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            await process.wait()
    elif _running_in_group(group):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # what a crashed driver left behind
    if not await _group_ends(group, grace_s):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # whatever ignored the polite request
        await _group_ends(group, grace_s)


async def _group_ends(group: int, within_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while _running_in_group(group):
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _running_in_group(group: int) -> bool:
    """Whether a process of the group is still alive (a zombie is done: only its parent's reaping is left)."""
    if not os.path.isdir("/proc"):
        return False  # the group's end cannot be watched here: the signals have to do
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            return True
    return False


class Display:
    """An Xvfb display for the browsers, started on first use."""

    def __init__(self) -> None:
        self.name: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> str:
        async with self._lock:
            if self._process is not None and self._process.returncode is None and self.name is not None:
                return self.name
            read_end, write_end = os.pipe()
            try:
                self._process = await _spawn(
                    XVFB,
                    "-displayfd",
                    str(write_end),
                    "-screen",
                    "0",
                    SCREEN,
                    "-nolisten",
                    "tcp",
                    pass_fds=(write_end,),
                )
                os.close(write_end)
                write_end = -1
                loop = asyncio.get_running_loop()
                number = await asyncio.wait_for(loop.run_in_executor(None, os.read, read_end, 16), _READY_S)
            except (OSError, TimeoutError) as exc:
                raise DriverUnavailable(f"could not start {XVFB}: {exc}", hint=INSTALL_HINT) from exc
            finally:
                os.close(read_end)
                if write_end >= 0:
                    os.close(write_end)
            if not number.strip():
                raise DriverUnavailable(f"{XVFB} exited before it opened a display", hint=INSTALL_HINT)
            self.name = ":" + number.decode().strip()
            return self.name

    async def stop(self) -> None:
        if self._process is not None:
            await _end(self._process)
        self._process = None
        self.name = None


class LocalWebDriver:
    """One WebKitWebDriver process serving one session, on a loopback port of its own."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.endpoint = f"http://127.0.0.1:{port}"

    @classmethod
    async def start(
        cls, http: aiohttp.ClientSession, display: str, scale: int, output: Path | None = None
    ) -> LocalWebDriver:
        """A WebKitWebDriver on a free port; it and the browser it launches print to `output`."""
        port = free_port()
        env = dict(os.environ, DISPLAY=display, GDK_SCALE=str(scale), GDK_DPI_SCALE="1")
        env.pop("WAYLAND_DISPLAY", None)
        process = await _spawn(WEBDRIVER, f"--port={port}", "--host=127.0.0.1", env=env, output=output)
        driver = cls(process, port)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _READY_S
        while loop.time() < deadline:
            if process.returncode is not None:
                break
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    driver.endpoint + "/status", timeout=aiohttp.ClientTimeout(total=1)
                ) as answer:
                    if answer.status == 200:
                        return driver
            await asyncio.sleep(0.01)
        await driver.stop()
        raise DriverUnavailable(f"{WEBDRIVER} did not start", hint=INSTALL_HINT)

    async def stop(self) -> None:
        await _end(self.process)


def shell_launcher(directory: Path) -> Path:
    """An executable WebKitWebDriver can launch as its browser: Debian's Python running the shell."""
    launcher = directory / "driftstack-webkit-shell"
    launcher.write_text(f'#!/bin/sh\nexec {SYSTEM_PYTHON} -s {SHELL} "$@"\n')
    launcher.chmod(0o700)
    return launcher


class SideChannel:
    """The driver's end of a shell's side channel: a Unix socket the shell connects to.

    Events (`console`, `network`, `committed`, `loaded`, `load_failed`, `crashed`) go to `on_event`;
    `request(op)` sends one request and waits for its answer. The channel closing means the browser is
    gone: `on_closed` is called once.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / "side-channel"
        self.on_event: Callable[[dict[str, Any]], None] = lambda _event: None
        self.on_closed: Callable[[], None] = lambda: None
        self._server: asyncio.AbstractServer | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next = 0

    async def listen(self) -> None:
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:  # one shell per session
            writer.close()
            return
        self._writer = writer
        self._connected.set()
        try:
            while line := await reader.readline():
                with contextlib.suppress(ValueError):
                    self._received(json.loads(line))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError("the browser closed its side channel"))
            self._pending.clear()
            self.on_closed()

    def _received(self, message: dict[str, Any]) -> None:
        ident = message.get("id")
        if ident is not None:
            waiting = self._pending.pop(ident, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(message)
            return
        self.on_event(message)

    async def connected(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def request(self, op: str, *, timeout_s: float, **arguments: Any) -> dict[str, Any]:
        if self._writer is None or self._writer.is_closing():
            raise ConnectionError("the browser's side channel is not open")
        self._next += 1
        ident = self._next
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = answer
        self._writer.write((json.dumps({"id": ident, "op": op, **arguments}) + "\n").encode())
        try:
            return await asyncio.wait_for(answer, timeout_s)
        finally:
            self._pending.pop(ident, None)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()


def session_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="driftstack-webkit-"))


async def shell_version() -> str:
    """The WebKitGTK version the browser shell runs on; DriverUnavailable saying why when it cannot run here
    (its Python lacks PyGObject or WebKit2 4.1)."""
    try:
        process = await asyncio.create_subprocess_exec(
            SYSTEM_PYTHON,
            "-s",
            str(SHELL),
            "--check",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
    except (OSError, TimeoutError) as exc:
        why = str(exc)
    else:
        if process.returncode == 0:
            return out.decode().strip()
        lines = err.decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else f"exit {process.returncode}"
    raise DriverUnavailable(f"the WebKitGTK browser shell cannot run: {why}", hint=INSTALL_HINT)
