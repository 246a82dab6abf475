"""The drain of a stopping service: waits, through the outbox's rows, for its last webhooks to go out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import structlog

from .records import WebhookRecords

log = structlog.get_logger()

# How often the drain looks at the outbox again. Whichever process dispatches, the rows are what
# says a delivery went out; a few queries a second for at most the drain's seconds cost nothing.
_RECHECK_S = 0.1


@dataclass(frozen=True)
class Drained:
    """What a drain left: deliveries still pending (`due`: of them, those due before it ended);
    None when the store could not say."""

    pending: int | None
    due: int | None


class OutboxDrain:
    """Waits for deliveries to be sent by the dispatchers, wherever they run."""

    def __init__(self, records: WebhookRecords) -> None:
        self._records = records
        self.left_to_drain: int | None = None  # while draining: deliveries still due before its end

    async def until_delivered(self, after_seq: int, upto_seq: int, seconds: float) -> Drained:
        """Waits until no delivery enqueued in (`after_seq`, `upto_seq`] is due before `seconds` have
        passed, or they have passed: a stopping service's last webhooks go out before it exits, and
        one that keeps failing does not hold the stop beyond its bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        due = 0
        try:
            while True:
                due = await self._records.pending_between(after_seq, upto_seq, deadline - loop.time())
                if self.left_to_drain is None and due:
                    log.info("webhooks.draining", due=due, seconds=round(seconds, 1))
                self.left_to_drain = due
                remaining = deadline - loop.time()
                if due == 0 or remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, _RECHECK_S))
            pending = await self._records.pending_between(after_seq, upto_seq)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("webhooks.drain_failed", error=str(e))
            return Drained(pending=None, due=None)
        return Drained(pending=pending, due=due)
