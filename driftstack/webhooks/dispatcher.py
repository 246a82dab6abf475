"""The dispatcher: claims due deliveries, signs and POSTs them, records each attempt, retries on a schedule.

Any number of dispatchers (`driftstack webhooks dispatch` processes, the one each `serve` supervises
among them, or a task of `serve` itself with DRIFTSTACK_WORKERS=thread) share the outbox: a claim is a
lease, so a dispatcher that dies mid-delivery only delays its rows until the lease runs out, and
another dispatcher sends them (at least once; `webhook-id` stays the same). A stopping `serve` waits
for its last deliveries through the outbox's rows (`drain.py`), whichever dispatcher sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from ..clock import now
from ..settings import Settings
from . import signing
from .outbox import CHANNEL
from .records import CLAIM_SETTINGS, Claimed, WebhookRecords
from .retries import next_delay
from .transport import Outcome, Transport

log = structlog.get_logger()

Disable = Callable[[UUID, str, str], Awaitable[None]]


class Dispatcher:
    def __init__(
        self,
        records: WebhookRecords,
        transport: Transport,
        settings: Settings,
        listen_dsn: str,
        disable: Disable,
    ) -> None:
        self.name = f"{settings.node_id}/{os.getpid()}/{uuid4().hex[:8]}"
        self._records = records
        self._transport = transport
        self._settings = settings
        self._listen_dsn = listen_dsn
        self._disable = disable
        # A lease shorter than a request could hand a row to a second dispatcher mid-attempt.
        self._lease_s = max(settings.webhook_lease_s, settings.webhook_timeout_s + 5)
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._listener: asyncpg.Connection | None = None
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._listen()
        self._loop = asyncio.create_task(self._run(), name=f"webhook-dispatcher-{self.name}")
        log.debug("webhooks.dispatcher_started", dispatcher=self.name, lease_s=self._lease_s)

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=5)
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()

    async def run_forever(self) -> None:
        await self.start()
        assert self._loop is not None
        await self._loop

    # Waking

    async def _listen(self) -> None:
        try:
            # Also the connection claims run on: one at a time, never waiting for the pool.
            self._listener = await asyncpg.connect(self._listen_dsn, server_settings=CLAIM_SETTINGS)
            await self._listener.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as e:
            # Polling still finds every delivery, only later.
            log.warning("webhooks.listen_failed", dispatcher=self.name, error=str(e))
            self._listener = None

    def _own_connection(self) -> asyncpg.Connection | None:
        if self._listener is None or self._listener.is_closed():
            return None
        return self._listener

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._dispatch_due()
                wait = await self._records.seconds_until_due()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("webhooks.dispatch_failed", dispatcher=self.name, error=str(e))
                wait = 1.0
            except Exception:
                # Whatever went wrong, the loop must go on: a dead loop would deliver nothing, silently.
                log.exception("webhooks.dispatch_failed", dispatcher=self.name)
                wait = 1.0
            poll = self._settings.webhook_poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll if wait is None else min(poll, wait))
            if self._listener is None or self._listener.is_closed():
                await self._listen()

    async def _dispatch_due(self) -> None:
        while True:
            free = self._settings.webhook_concurrency - len(self._in_flight)
            if free <= 0:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            claimed = await self._records.claim(self.name, free, self._lease_s, self._own_connection())
            for delivery in claimed:
                task = asyncio.create_task(self._deliver(delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if len(claimed) < free:
                return

    # Delivering

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            outcome = await self._send(claimed)
            retry_in = None
            if not outcome.ok:
                retry_in = next_delay(
                    self._settings.webhook_retry_schedule_s, claimed.step + 1, outcome.retry_after, now()
                )
            recorded = await self._records.record(
                claimed, self.name, outcome, retry_in, self._settings.webhook_disable_after_s
            )
            log.info(
                "webhooks.attempt",
                delivery_id=f"dlv_{claimed.id}",
                endpoint_id=f"whep_{claimed.endpoint_id}",
                message_id=claimed.message_id,
                response_status=outcome.status,
                error=outcome.error,
                ms=outcome.duration_ms,
                status=recorded.status,
                retry_in_s=retry_in,
            )
            if outcome.status == 410:
                await self._disable(claimed.endpoint_id, "gone", "the endpoint answered 410 Gone")
            elif recorded.failing_too_long:
                days = self._settings.webhook_disable_after_s / 86_400
                await self._disable(
                    claimed.endpoint_id, "failing", f"no successful delivery for {days:g} days"
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            # The claim runs out and the delivery is sent again: nothing is lost.
            log.exception("webhooks.delivery_failed", delivery_id=f"dlv_{claimed.id}")

    async def _send(self, claimed: Claimed) -> Outcome:
        body = claimed.body.encode()
        headers = signing.headers(claimed.keys, claimed.message_id, int(time.time()), body)
        return await self._transport.post(claimed.url, body, headers)
