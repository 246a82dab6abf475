"""Starting Playwright with its driver process in a session of its own, out of the service's process group.

A terminal's Ctrl-C (and `kill -TERM -PGID`) signals the whole foreground process group. Playwright
already launches each browser in a session of its own, but its Node.js driver, which the browsers'
pipes run through, is spawned in the service's group: the signal reached it and it closed every
browser before the service could read a profile's state back. Playwright's Python API has no option
for how the driver is spawned; what it does offer is `PLAYWRIGHT_NODEJS_PATH`, the Node.js to run the
driver with. Pointing it, for the moment of the start, at a launcher that calls setsid() and then
execs the real Node.js keeps the driver (and so its browsers) out of reach of the group's signals.
The driver still ends with the service: it exits when its stdin, the service's end of the pipe, closes.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import async_playwright

if TYPE_CHECKING:
    from playwright.async_api import Playwright

NODE_VARIABLE = "PLAYWRIGHT_NODEJS_PATH"

# Run by the launcher's Python: argv[1] is Node.js, the rest its arguments. The child Python spawns
# is never a process-group leader, so setsid() succeeds; if it ever failed, the driver still starts.
_SETSID_THEN_EXEC = (
    "import os, sys\ntry:\n    os.setsid()\nexcept OSError:\n    pass\nos.execv(sys.argv[1], sys.argv[1:])\n"
)


def _node() -> str:
    """The Node.js Playwright would run: the operator's PLAYWRIGHT_NODEJS_PATH, else the bundled one."""
    configured = os.environ.get(NODE_VARIABLE)
    if configured:
        return configured
    import playwright

    return str(Path(playwright.__file__).parent / "driver" / ("node.exe" if os.name == "nt" else "node"))


def _launcher(directory: Path, node: str) -> Path:
    script = directory / "node-in-own-session"
    script.write_text(
        "#!/bin/sh\n"
        f'exec {shlex.quote(sys.executable)} -S -c {shlex.quote(_SETSID_THEN_EXEC)} {shlex.quote(node)} "$@"\n'
    )
    script.chmod(0o700)
    return script


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


async def start_playwright() -> Playwright:
    """`async_playwright().start()`, with the driver in a session (and process group) of its own."""
    if os.name != "posix":
        return await async_playwright().start()
    with tempfile.TemporaryDirectory(prefix="driftstack-driver-") as directory:
        launcher = _launcher(Path(directory), _node())
        # Playwright reads the variable when it spawns the driver, inside start(); once the driver
        # runs, the launcher (and the variable) are no longer needed.
        with _environment(NODE_VARIABLE, str(launcher)):
            return await async_playwright().start()
