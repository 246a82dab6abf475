"""Webhook delivery: DELETE of a session → its `session.completed` at the receiver, and how many
deliveries per second one `serve` sends to a receiver that answers at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator
from datetime import datetime

import psutil
import psycopg
from aiohttp import web
from harness import Client, Figure, Report, Service, client, finish, free_port, serving

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
# Sessions come one after another with this gap, as clients arrive.
GAP_S = float(os.environ.get("BENCH_GAP_S", "0.2"))
# Throughput: this many endpoints subscribe to profile.created, so each profile is this many
# deliveries, enqueued in one transaction: the outbox fills much faster than 300 /s.
ENDPOINTS = int(os.environ.get("BENCH_ENDPOINTS", "100"))
PROFILES = int(os.environ.get("BENCH_PROFILES", "10"))
# Profiles are created by this many clients at once. One: concurrent creates on one account can
# collide on the account's version and answer 500 (the conflict is not retried).
CREATORS = int(os.environ.get("BENCH_CREATORS", "1"))
BURSTS = int(os.environ.get("BENCH_BURSTS", "3"))
DELIVERY_TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class Arrival:
    """One delivery as the receiver saw it."""

    at: float  # time.perf_counter() when its body had been read
    wall: float  # time.time() then, to compare with the timestamps in the payload
    path: str
    message_id: str
    type: str
    data_id: str
    destroyed_at: str | None  # a session's, as the payload carries it


class Receiver:
    """A webhook receiver on loopback that answers 204 at once and records what arrived when."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.url = ""
        self._waiters: dict[tuple[str, str], asyncio.Future[Arrival]] = {}
        self._grew = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.read())
        arrival = Arrival(
            time.perf_counter(),
            time.time(),
            request.path,
            request.headers["webhook-id"],
            payload["type"],
            payload["data"]["id"],
            payload["data"].get("destroyed_at"),
        )
        self.arrivals.append(arrival)
        waiter = self._waiters.pop((arrival.type, arrival.data_id), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrival)
        self._grew.set()
        return web.Response(status=204)

    def expect(self, event_type: str, data_id: str) -> asyncio.Future[Arrival]:
        """A future that resolves when a delivery of `event_type` about `data_id` arrives."""
        waiter: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiters[(event_type, data_id)] = waiter
        return waiter

    async def until(self, count: int, path_prefix: str, timeout: float) -> list[Arrival]:
        """The arrivals under `path_prefix`, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            arrived = [a for a in self.arrivals if a.path.startswith(path_prefix)]
            if len(arrived) >= count:
                return arrived
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{len(arrived)} of {count} deliveries to {path_prefix} arrived")
            self._grew.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._grew.wait(), min(left, 1.0))


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def subscribe(api: Client, url: str, event_types: list[str]) -> None:
    await api.call("POST", "/v1/webhooks", {"url": url, "event_types": event_types}, expect=201)


async def destroy_to_delivery(api: Client, receiver: Receiver) -> tuple[list[float], list[float]]:
    """Per session, milliseconds to its `session.completed` at the receiver: from sending DELETE, and
    from the `destroyed_at` it carries (the event's time: what the webhook path alone adds)."""
    await subscribe(api, f"{receiver.url}/completed", ["session.completed"])
    samples, after_event = [], []
    for n in range(3 + ROUNDS):  # three to warm up
        session = await api.call("POST", "/v1/sessions?wait=true", {}, expect=201)
        arrived = receiver.expect("session.completed", session["id"])
        started = time.perf_counter()
        await api.call("DELETE", f"/v1/sessions/{session['id']}", expect=204)
        arrival = await asyncio.wait_for(arrived, DELIVERY_TIMEOUT_S)
        if n >= 3:
            samples.append((arrival.at - started) * 1000)
            destroyed = datetime.fromisoformat(str(arrival.destroyed_at).replace("Z", "+00:00"))
            after_event.append((arrival.wall - destroyed.timestamp()) * 1000)
        await asyncio.sleep(GAP_S)
    return samples, after_event


def cpu_seconds(service: Service) -> float:
    """CPU time used so far by `serve` (not its browser), its database backends and this process
    (the receiver, and the client creating profiles)."""
    with psycopg.connect(service.env["DRIFTSTACK_DATABASE_URL"], autocommit=True) as conn:
        backends = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    total = 0.0
    for pid in [service.process.pid, os.getpid(), *backends]:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


@dataclasses.dataclass(frozen=True)
class Burst:
    deliveries: int
    created_s: float  # first POST sent → last POST answered (the events stored)
    first_to_last_s: float  # first delivery arrived → last delivery arrived
    sent_to_last_s: float  # first POST sent → last delivery arrived
    cpu_s: float  # CPU time of serve, its database backends and the receiver meanwhile

    @property
    def per_s(self) -> float:
        return self.deliveries / self.first_to_last_s

    @property
    def cpu_ms_each(self) -> float:
        return self.cpu_s * 1000 / self.deliveries


async def burst(api: Client, service: Service, receiver: Receiver, prefix: str) -> Burst:
    """PROFILES profiles created by CREATORS clients at once; every one is ENDPOINTS deliveries."""
    names = iter(f"bench-{secrets.token_hex(4)}" for _ in range(PROFILES))

    async def creator() -> None:
        for name in names:
            await api.call("POST", "/v1/profiles", {"name": name})

    cpu_before = await asyncio.to_thread(cpu_seconds, service)
    started = time.perf_counter()
    await asyncio.gather(*(creator() for _ in range(CREATORS)))
    created = time.perf_counter()
    arrived = await receiver.until(PROFILES * ENDPOINTS, prefix, DELIVERY_TIMEOUT_S * 4)
    cpu_s = await asyncio.to_thread(cpu_seconds, service) - cpu_before
    first, last = min(a.at for a in arrived), max(a.at for a in arrived)
    return Burst(len(arrived), created - started, last - first, last - started, cpu_s)


async def throughput(api: Client, service: Service, receiver: Receiver) -> list[Burst]:
    bursts = []
    for b in range(BURSTS):
        prefix = f"/burst{b}/"
        endpoints = []
        for e in range(ENDPOINTS):
            created = await api.call(
                "POST",
                "/v1/webhooks",
                {"url": f"{receiver.url}{prefix}{e}", "event_types": ["profile.created"]},
                expect=201,
            )
            endpoints.append(created["id"])
        result = await burst(api, service, receiver, prefix)
        if result.deliveries != PROFILES * ENDPOINTS:
            raise RuntimeError(f"{result.deliveries} deliveries, expected {PROFILES * ENDPOINTS}")
        print(
            f"  burst {b}: {result.deliveries} deliveries in {result.first_to_last_s:.2f} s"
            f" ({result.per_s:.0f}/s); profiles stored in {result.created_s:.2f} s,"
            f" last delivery {result.sent_to_last_s:.2f} s after the first create;"
            f" {result.cpu_ms_each:.2f} ms of CPU a delivery",
            flush=True,
        )
        bursts.append(result)
        # Deleted, so the next burst's profiles are delivered to its own endpoints only.
        for endpoint in endpoints:
            await api.call("DELETE", f"/v1/webhooks/{endpoint}", expect=204)
    return bursts


async def main() -> Report:
    report = Report("Webhook delivery")
    concurrency = os.environ.get("BENCH_WEBHOOK_CONCURRENCY")
    settings = {"webhook_allow_private": "1"}
    if concurrency:
        settings["webhook_concurrency"] = concurrency
    async with receiving() as receiver, serving(**settings) as service, client(service) as api:
        latencies, after_event = await destroy_to_delivery(api, receiver)
        bursts = await throughput(api, service, receiver)
        duplicates = len(receiver.arrivals) - len({(a.path, a.message_id) for a in receiver.arrivals})
    p50 = statistics.median(latencies)
    report.add(
        Figure.of(
            "DELETE sent → session.completed received",
            latencies,
            target="p50 ≤ 100 ms",
            met=p50 <= 100,
        )
    )
    report.add(Figure.of("session.destroyed_at → session.completed received", after_event))
    rates = [b.per_s for b in bursts]
    rate = statistics.median(rates)
    report.add(
        Figure(
            "deliveries per second, first → last delivery of a burst",
            "/s",
            rate,
            target="≥ 300 /s",
            met=rate >= 300,
        )
    )
    cpu_ms = statistics.median(b.cpu_ms_each for b in bursts)
    report.add(Figure("CPU per delivery: serve, its database backends, the receiver", "ms", cpu_ms))
    enqueued = statistics.median(PROFILES * ENDPOINTS / b.created_s for b in bursts)
    report.note(
        f"Latency: {ROUNDS} sessions one after another ({GAP_S:g} s apart), each created with "
        "`POST /v1/sessions?wait=true` and timed from sending its DELETE to the receiver reading its "
        "`session.completed`; one endpoint subscribed. The second figure starts at the `destroyed_at` "
        "the payload carries (the event's time, in milliseconds): the outbox projection, the "
        "dispatcher and the POST, without the DELETE's own work."
    )
    report.note(
        f"Throughput: {ENDPOINTS} endpoints subscribed to `profile.created`, then {PROFILES} profiles "
        f"created through `POST /v1/profiles`, {CREATORS} at a time, so {PROFILES * ENDPOINTS} "
        f"deliveries a burst, timed from the first delivery's arrival to the last's; median of {BURSTS} "
        f"bursts ({', '.join(f'{r:.0f}' for r in rates)} /s, in order). The profiles' events were stored "
        f"at a median {enqueued:.0f} deliveries' worth a second, so the dispatcher, not the producer, sets "
        f"the pace. The receiver answers 204 at once on loopback. Duplicate deliveries seen: {duplicates}."
    )
    report.note(
        f"The machine's cores are shared with other work, so deliveries per second follow its load; CPU "
        f"per delivery does not: two idle cores would sustain about {2000 / cpu_ms:.0f} deliveries a "
        "second, receiver included (the browser's processes are not counted)."
    )
    report.note(
        "There is no raw-Playwright counterpart: webhooks are Driftstack's own, so no baseline column."
    )
    return report


if __name__ == "__main__":
    finish(asyncio.run(main()))
