"""How `serve` stops: the first SIGINT or SIGTERM ends the sessions and delivers their webhooks; a second stops at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import asyncpg
import structlog

from .projections.progress import Progress
from .sessions import SessionService
from .webhooks.drain import OutboxDrain
from .webhooks.records import WebhookRecords

log = structlog.get_logger()
T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """The steps of a stop, in order, and what is left of them at any moment.

    Sessions end first (each profile's browser state is written back in the same save), while the
    projector and the dispatcher still run, in processes of their own or in this one; then the webhook
    outbox catches up with those ends, and the drain watches the outbox's rows until the dispatcher
    has delivered what they enqueued, for at most `drain_s`. Only then does anything close (the
    children last). Without a drain (this `serve` runs no dispatcher) the stop leaves the deliveries
    in the outbox, to the dispatchers running elsewhere.
    """

    def __init__(
        self,
        sessions: SessionService,
        records: WebhookRecords,
        outbox: Progress,
        drain: OutboxDrain | None,
        drain_s: float,
        head: Callable[[], Awaitable[int | None]],
    ) -> None:
        self._head = head  # the store's last notification id
        self._sessions = sessions
        self._records = records
        self._outbox = outbox
        self._drain = drain
        self._drain_s = drain_s
        self._outbox_before: int | None = None  # the outbox's end when the stop began
        self._last_end = 0  # the notification id of the last session end the stop recorded
        self.step = "running"

    async def end_sessions(self) -> None:
        """Every live session `destroyed` (`service_stopped`); again later for any a request added."""
        self.step = "ending sessions"
        if self._outbox_before is None:
            try:
                self._outbox_before = await self._records.last_seq()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("webhooks.drain_skipped", error=str(e))  # the next start delivers them
        live = len(self._sessions.live.all())
        self._last_end = max(self._last_end, await self._sessions.end_all())
        if live:
            log.info("service.sessions_ended", count=live)

    async def deliver_webhooks(self) -> None:
        """Waits for the outbox to hold the ends' deliveries, then for the dispatcher to send them."""
        await self.end_sessions()
        if self._outbox_before is not None and self._drain_s > 0:
            self.step = "delivering webhooks"
            await self._wait_for_deliveries(self._outbox_before)
        self.step = "closing"

    async def _wait_for_deliveries(self, outbox_before: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._drain_s
        # Every event stored so far, not only the stop's ends: a session destroyed just before the
        # signal may not be in the outbox yet either.
        try:
            head = max(self._last_end, await self._head() or 0)
        except Exception as e:  # noqa: BLE001  (the store's own errors, from a thread)
            log.warning("webhooks.drain_skipped", error=str(e))
            return
        if head and not await self._outbox.reached(head, timeout=self._drain_s):
            log.warning("webhooks.outbox_behind", position=self._outbox.position, head=head)
            return
        if self._drain is None:
            return  # the outbox holds them; the dispatchers running elsewhere send them
        try:
            upto = await self._records.last_seq()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("webhooks.drain_skipped", error=str(e))
            return
        if upto == outbox_before:
            return  # the stop's ends enqueued nothing (no endpoint wants them)
        drained = await self._drain.until_delivered(outbox_before, upto, deadline - loop.time())
        if drained.pending is None:
            return  # the drain said why
        if drained.pending:
            # Not lost: they are in the outbox, and the next dispatcher to run sends them.
            log.warning(
                "webhooks.not_drained", pending=drained.pending, due=drained.due, drain_s=self._drain_s
            )
        else:
            log.info("webhooks.drained", enqueued=upto - outbox_before)

    def left_to_do(self) -> dict[str, Any]:
        """What a stop at this moment would skip (a second signal logs it)."""
        live = self._sessions.live.all()
        due = self._drain.left_to_drain if self._drain is not None else None
        return {
            "step": self.step,
            "sessions_not_ended": [s.public_id for s in live],
            "profile_states_not_written": sorted({s.profile_id for s in live if s.profile_id and s.page}),
            "webhooks_due": due if self.step == "delivering webhooks" else None,
        }


class StoppedAtOnce(Exception):
    """A second stop signal came while the first stop was under way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """SIGINT and SIGTERM, from a terminal, a process manager or `kill`: the first asks for a
    graceful stop, the second for an immediate one."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._first = asyncio.Event()
        self._second = asyncio.Event()
        self.received: list[int] = []
        for signum in STOP_SIGNALS:
            self._loop.add_signal_handler(signum, self._received, signum)

    def _received(self, signum: int) -> None:
        self.received.append(signum)
        if not self._first.is_set():
            log.info(
                "service.stopping", signal=signal.Signals(signum).name, hint="a second signal stops at once"
            )
            self._first.set()
        else:
            self._second.set()

    @property
    def asked(self) -> bool:
        """Whether a stop has been asked for."""
        return self._first.is_set()

    async def first(self) -> int:
        await self._first.wait()
        return self.received[0]

    async def unless_stopped_at_once(self, work: Awaitable[T]) -> T:
        """`work`'s result, or StoppedAtOnce if a second signal comes first."""
        task = asyncio.ensure_future(work)
        second = asyncio.ensure_future(self._second.wait())
        try:
            await asyncio.wait({task, second}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            second.cancel()
        if not task.done():
            raise StoppedAtOnce(self.received[-1])
        return task.result()


def exit_at_once(stopped: StoppedAtOnce, skipped: dict[str, Any]) -> NoReturn:
    """Logs what the interrupted stop skipped and exits now, with 128 + the signal's number.

    Nothing waits: not a browser, a request, a thread or a connection. What is skipped is what a
    crash leaves, minus the browsers (they exit with the pipe to their driver): the next start marks
    the sessions left live `errored` (`service_restarted`) and the dispatchers send what is due.
    """
    log.warning("service.stopped_at_once", signal=signal.Signals(stopped.signum).name, skipped=skipped)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(128 + stopped.signum)
