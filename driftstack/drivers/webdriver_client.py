"""A W3C WebDriver client over aiohttp: the commands Driftstack sends, and their errors as one type.

Any W3C endpoint answers these: a local WebKitWebDriver, a Selenium Grid 4, Apple's safaridriver.
Each session is one `WebDriverSession`; what it gets back is the command's `value`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import aiohttp

# The W3C element reference key.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverFailure(Exception):
    """A command the endpoint refused: `error` is the W3C error code ("no such element", …)."""

    def __init__(self, error: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error
        self.message = message
        self.status = status


async def _answer(response: aiohttp.ClientResponse) -> Any:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    value = body.get("value") if isinstance(body, dict) else None
    if response.status >= 400 or (isinstance(value, dict) and "error" in value and response.status != 200):
        if isinstance(value, dict):
            raise WebDriverFailure(
                str(value.get("error", "unknown error")), str(value.get("message", "")), response.status
            )
        raise WebDriverFailure("unknown error", f"HTTP {response.status}", response.status)
    return value


class WebDriverSession:
    """One W3C session on an endpoint; `capabilities` are what the endpoint granted."""

    def __init__(
        self, http: aiohttp.ClientSession, endpoint: str, session_id: str, capabilities: dict[str, Any]
    ) -> None:
        self._http = http
        self._base = f"{endpoint.rstrip('/')}/session/{session_id}"
        self.session_id = session_id
        self.capabilities = capabilities

    @classmethod
    async def create(
        cls, http: aiohttp.ClientSession, endpoint: str, capabilities: dict[str, Any], *, timeout_s: float
    ) -> WebDriverSession:
        body = {"capabilities": {"alwaysMatch": capabilities}}
        async with http.post(
            f"{endpoint.rstrip('/')}/session", json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            value = await _answer(response)
        if not isinstance(value, dict) or "sessionId" not in value:
            raise WebDriverFailure("session not created", "the endpoint answered without a session id")
        return cls(http, endpoint, value["sessionId"], value.get("capabilities") or {})

    async def command(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout_s: float = 60
    ) -> Any:
        """Sends one command; its `value`, or WebDriverFailure. A command past `timeout_s` raises TimeoutError."""
        url = self._base + path
        if method == "POST" and body is None:
            body = {}
        try:
            async with self._http.request(
                method, url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as response:
                return await _answer(response)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimeoutError(f"{method} {path} took over {timeout_s:.0f} s") from exc
        except aiohttp.ClientError as exc:
            raise WebDriverFailure("session gone", f"{type(exc).__name__}: {exc}") from exc

    async def delete(self) -> None:
        with contextlib.suppress(WebDriverFailure, TimeoutError):  # already gone: what deleting wanted
            await self.command("DELETE", "", timeout_s=10)

    # The commands, named as the W3C specification names them

    async def navigate_to(self, url: str, *, timeout_s: float) -> None:
        await self.command("POST", "/url", {"url": url}, timeout_s=timeout_s)

    async def set_timeouts(self, **timeouts_ms: int) -> None:
        await self.command("POST", "/timeouts", timeouts_ms)

    async def execute(self, script: str, *args: Any, timeout_s: float = 60) -> Any:
        return await self.command(
            "POST", "/execute/sync", {"script": script, "args": list(args)}, timeout_s=timeout_s
        )

    async def execute_async(self, script: str, *args: Any, timeout_s: float = 60) -> Any:
        return await self.command(
            "POST", "/execute/async", {"script": script, "args": list(args)}, timeout_s=timeout_s
        )

    async def find(self, css: str) -> dict[str, str]:
        return await self.command("POST", "/element", {"using": "css selector", "value": css})

    async def click(self, element: dict[str, str]) -> None:
        await self.command("POST", f"/element/{element[ELEMENT]}/click")

    async def send_keys(self, element: dict[str, str], text: str, *, timeout_s: float = 60) -> None:
        await self.command("POST", f"/element/{element[ELEMENT]}/value", {"text": text}, timeout_s=timeout_s)

    async def actions(self, sources: list[dict[str, Any]], *, timeout_s: float = 60) -> None:
        await self.command("POST", "/actions", {"actions": sources}, timeout_s=timeout_s)

    async def release_actions(self) -> None:
        await self.command("DELETE", "/actions")

    async def url(self) -> str:
        return str(await self.command("GET", "/url"))

    async def title(self) -> str:
        return str(await self.command("GET", "/title"))

    async def source(self) -> str:
        return str(await self.command("GET", "/source"))

    async def cookies(self) -> list[dict[str, Any]]:
        return list(await self.command("GET", "/cookie") or [])

    async def screenshot(self) -> str:
        return str(await self.command("GET", "/screenshot"))

    async def set_window_rect(self, width: int, height: int) -> None:
        await self.command("POST", "/window/rect", {"width": width, "height": height})
