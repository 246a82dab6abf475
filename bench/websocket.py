"""What the WebSocket protocol costs: the action mix goto → fill → click → content → evaluate → screenshot
on one Chromium page three ways in the same run, interleaved round by round: raw Playwright (the floor),
the same over REST (one session; evaluate has no REST endpoint), and over one `browser` socket. Then a
`standard` socket's `goto` of a local page against raw aiohttp GETs of the same URL."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import statistics
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from harness import (
    Client,
    Figure,
    Report,
    Service,
    client,
    finish,
    local_site,
    persona_options,
    raw_playwright,
    serving,
    timed,
    timed_steps,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
WARMUP = 5
GETS = 4 * ROUNDS  # the standard client's gotos (cheap: no browser)
TEXT = "hello world"
SCRIPT = "({title: document.title, value: document.getElementById('name').value})"
TARGET = 1.05  # the socket's whole mix against raw Playwright's
MIX = ("goto", "fill", "click", "content", "evaluate", "screenshot")
# What REST does of the mix, in the same order: `type` (keystrokes) is its closest to `fill`.
REST_MIX = ("goto", "type", "click", "content", "screenshot")
# The same browser work on all three sides.
COMMON = ("goto", "click", "content", "screenshot")
SIDES = ("raw", "rest", "socket")
Steps = dict[str, Callable[[], Awaitable[Any]]]


# Figures with a mean beside the median


@dataclasses.dataclass(frozen=True)
class Timed(Figure):
    mean: float | None = None

    @classmethod
    def of(cls, name: str, samples: list[float], *, unit: str = "ms", **kw: Any) -> Timed:
        return super().of(name, samples, unit=unit, mean=statistics.fmean(samples), **kw)  # type: ignore[return-value]

    def line(self) -> str:
        return super().line() + (f", mean {self.mean:.1f}" if self.mean is not None else "")


class TimedReport(Report):
    """The harness's report with a mean column."""

    def markdown(self) -> str:
        lines = super().markdown().splitlines()
        lines[2] = "| figure | median | mean | p95 | p99 | floor | ratio | target | |"
        lines[3] = "|---|---:|---:|---:|---:|---:|---:|---|---|"
        for n, figure in enumerate(self.figures, start=4):
            cells = lines[n].split(" | ")
            mean = getattr(figure, "mean", None)
            cells.insert(2, f"{mean:.1f}" if mean is not None else "")
            lines[n] = " | ".join(cells)
        return "\n".join(lines) + "\n"


# The three sides


async def raw_steps(page: Any, url: str) -> Steps:
    async def type_text() -> None:
        # What the service does for REST's `type`: focus the element, then keystrokes.
        await page.focus("#name")
        await page.keyboard.type(TEXT)

    return {
        "goto": lambda: page.goto(url, wait_until="load"),
        "fill": lambda: page.fill("#name", TEXT),
        "type": type_text,  # REST's floor only: not in the mix's whole
        # The persona has touch: the service's `click` is a tap, as the action mix's floor is.
        "click": lambda: page.tap("#tap-me"),
        "content": page.content,
        "evaluate": lambda: page.evaluate(SCRIPT),
        "screenshot": lambda: page.screenshot(type="png"),
    }


def rest_steps(api: Client, session_id: str, url: str) -> Steps:
    base = f"/v1/sessions/{session_id}"
    return {
        "goto": lambda: api.call("POST", f"{base}/navigate", {"url": url, "wait_until": "load"}),
        "type": lambda: api.call(
            "POST", f"{base}/interact", {"type": "type", "selector": "#name", "text": TEXT}
        ),
        "click": lambda: api.call("POST", f"{base}/interact", {"type": "tap", "selector": "#tap-me"}),
        "content": lambda: api.call("GET", f"{base}/state"),
        "screenshot": lambda: api.call("POST", f"{base}/capture", {"kind": "screenshot", "keep": False}),
    }


class Socket:
    """One socket on the service, answering each frame in order; raises on an error frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.largest = 0  # the longest answer frame seen, in characters

    async def call(self, frame: dict[str, Any]) -> dict[str, Any]:
        await self.ws.send_str(json.dumps(frame))
        text = await self.ws.receive_str()
        self.largest = max(self.largest, len(text))
        answer: dict[str, Any] = json.loads(text)
        if answer.get("type") in ("error", "fatal"):
            raise RuntimeError(f"{frame['action']} → {answer}")
        return answer

    def steps(self, url: str) -> Steps:
        return {
            "goto": lambda: self.call({"action": "goto", "url": url}),
            "fill": lambda: self.call({"action": "fill", "selector": "#name", "value": TEXT}),
            "click": lambda: self.call({"action": "click", "selector": "#tap-me"}),
            "content": lambda: self.call({"action": "content"}),
            "evaluate": lambda: self.call({"action": "evaluate", "script": SCRIPT}),
            "screenshot": lambda: self.call({"action": "screenshot"}),
        }


@contextlib.asynccontextmanager
async def socket(
    service: Service, http: aiohttp.ClientSession, opening: dict[str, Any]
) -> AsyncIterator[Socket]:
    url = service.base.replace("http://", "ws://") + "/v1/sessions/ws"
    async with http.ws_connect(url, headers=service.headers) as ws:
        s = Socket(ws)
        opened = await s.call({"action": "open", **opening})
        assert opened["action"] == "open", opened
        yield s
        closed = await s.call({"action": "close"})
        assert closed == {"action": "closed"}, closed


# The runs


async def browser_mix(service: Service, url: str) -> dict[str, list[dict[str, float]]]:
    """Each side's rounds, the sides taking turns first so drift in the machine's load falls on all."""
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    async with (
        raw_playwright() as (pw, browser),
        client(service) as api,
        aiohttp.ClientSession() as http,
        socket(service, http, {"client": "browser"}) as ws,
    ):
        context = await browser.new_context(**persona_options(pw))
        page = await context.new_page()
        session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
        steps = {
            "raw": await raw_steps(page, url),
            "rest": rest_steps(api, session["id"], url),
            "socket": ws.steps(url),
        }
        for n in range(WARMUP + ROUNDS):
            for side in SIDES[n % 3 :] + SIDES[: n % 3]:
                took = await timed_steps(steps[side])
                if side == "raw":
                    took["whole"] -= took["type"]  # the mix alone; `type` is REST's floor
                if n >= WARMUP:
                    runs[side].append(took)
        await api.call("DELETE", f"/v1/sessions/{session['id']}", expect=204)
        await context.close()
    print(f"  largest socket answer: {ws.largest} characters", flush=True)
    return runs


async def standard_gotos(service: Service, url: str) -> dict[str, list[float]]:
    """A `standard` socket's goto, raw aiohttp GETs on one keep-alive session, and on a new connection each."""
    runs: dict[str, list[float]] = {"socket": [], "aiohttp": [], "aiohttp_new": []}

    async def get(http: aiohttp.ClientSession) -> None:
        async with http.get(url) as r:
            await r.read()

    async with (
        aiohttp.ClientSession() as http,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh,
        socket(service, http, {}) as ws,
    ):
        steps = {
            "socket": lambda: ws.call({"action": "goto", "url": url}),
            "aiohttp": lambda: get(http),
            "aiohttp_new": lambda: get(fresh),
        }
        names = tuple(steps)
        for n in range(WARMUP + GETS):
            for name in names[n % 3 :] + names[: n % 3]:
                ms, _ = await timed(steps[name]())
                if n >= WARMUP:
                    runs[name].append(ms)
    return runs


def summed(runs: list[dict[str, float]], names: tuple[str, ...]) -> list[float]:
    return [sum(r[name] for name in names) for r in runs]


def report_mix(report: Report, runs: dict[str, list[dict[str, float]]]) -> None:
    raw, rest, ws = runs["raw"], runs["rest"], runs["socket"]

    def floor(name: str) -> float:
        return statistics.median(r[name] for r in raw)

    whole = statistics.median(r["whole"] for r in raw)
    report.add(Timed.of("raw Playwright: whole mix (6 actions)", [r["whole"] for r in raw]))
    samples = [r["whole"] for r in ws]
    ratio = statistics.median(samples) / whole
    report.add(
        Timed.of(
            "socket: whole mix (6 actions)",
            samples,
            baseline=whole,
            target=f"ratio ≤ {TARGET:.2f}",
            met=ratio <= TARGET,
        )
    )
    for name in MIX:
        report.add(Timed.of(f"  socket: {name}", [r[name] for r in ws], baseline=floor(name)))

    rest_floor = summed(raw, REST_MIX)
    report.add(
        Timed.of(
            "REST: its mix (navigate, type, tap, state, capture)",
            [r["whole"] for r in rest],
            baseline=statistics.median(rest_floor),
        )
    )
    for name in REST_MIX:
        report.add(Timed.of(f"  REST: {name}", [r[name] for r in rest], baseline=floor(name)))

    common_raw = statistics.median(summed(raw, COMMON))
    common_rest = summed(rest, COMMON)
    report.add(Timed.of("common subset: raw Playwright", summed(raw, COMMON)))
    report.add(Timed.of("common subset: REST", common_rest, baseline=common_raw))
    report.add(Timed.of("common subset: socket", summed(ws, COMMON), baseline=common_raw))
    report.add(
        Timed.of(
            "common subset: socket against REST (floor: REST)",
            summed(ws, COMMON),
            baseline=statistics.median(common_rest),
        )
    )


def report_standard(report: Report, runs: dict[str, list[float]]) -> None:
    floor = statistics.median(runs["aiohttp"])
    report.add(Timed.of("raw aiohttp GET, keep-alive", runs["aiohttp"]))
    report.add(Timed.of("raw aiohttp GET, a new connection each", runs["aiohttp_new"], baseline=floor))
    report.add(Timed.of("standard socket: goto", runs["socket"], baseline=floor))


async def main() -> Report:
    report = TimedReport("WebSocket protocol")
    async with local_site() as url, serving() as service:
        mix = await browser_mix(service, url)
        gets = await standard_gotos(service, url)
    report_mix(report, mix)
    report_standard(report, gets)
    report.note(
        f"{ROUNDS} rounds after {WARMUP} warm-up rounds, the three sides in turn within each round (the "
        "first side rotating), in one run: raw Playwright on its own Chromium (the same binary and flags) "
        "with the service's iPhone persona, one REST session, and one socket opened with `client: "
        "browser`, both through a real `driftstack serve` whose sessions go out through its egress. The "
        "page is served on 127.0.0.1."
    )
    report.note(
        "The mix: goto, fill, click (a tap: the persona has touch), content, evaluate, screenshot. REST "
        "has no evaluate and no fill: its mix is navigate, interact `type` (keystrokes, floored by raw "
        "Playwright's focus + keyboard.type, timed in the same rounds but outside raw's whole), interact "
        "tap, GET state and capture with `keep: false`. The common subset (goto, click, content, "
        "screenshot) is the same browser work on all three sides: each row sums those four per round."
    )
    report.note(
        f"Standard client: {GETS} gotos of the same page after {WARMUP} warm-up, in turns with raw aiohttp "
        "GETs on one keep-alive session (the floor) and on a new connection each; the standard client "
        "goes through the egress, a new connection each goto."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
