"""Real upstream proxies (pproxy, HTTP or SOCKS5) on loopback, with a login, logging each connection:
independent of Driftstack's own proxy code."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

LOGIN = "scout:s3cret-pw"


@dataclass
class UpstreamProxy:
    scheme: str
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOGIN}@127.0.0.1:{self.port}"

    def saw(self, port: int) -> bool:
        """Whether it carried a connection to this port of loopback."""
        return any(f":{port}" in line for line in self.lines)


@asynccontextmanager
async def upstream_proxy(scheme: str) -> AsyncIterator[UpstreamProxy]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pproxy",
        "-l",
        f"{scheme}://127.0.0.1:{port}#{LOGIN}",
        "-v",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    proxy = UpstreamProxy(scheme, port)

    async def read() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            proxy.lines.append(line.decode(errors="replace"))

    reading = asyncio.ensure_future(read())
    for _ in range(200):  # until it listens
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    try:
        yield proxy
    finally:
        process.terminate()
        await process.wait()
        reading.cancel()
