"""Reads of what happened in a session: its action log, navigation history, network log and health.

Each read first finds the session as `GET /v1/sessions/:id` does (another account's answers 404, and
the caller's own writes are waited for), so it sees every action that was answered before it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .access import Principal
from .clock import now
from .egress.ledger import Ledger
from .projections.session_actions import SessionHistoryReader, duration_ms
from .sessions import SessionService, session_uuid

# A trivial script that does not answer within this is an unresponsive browser.
RESPONSIVE_WITHIN_S = 1.0
ENDED = ("destroyed", "errored")


class SessionInspection:
    def __init__(self, sessions: SessionService, history: SessionHistoryReader) -> None:
        self._sessions = sessions
        self._history = history

    async def actions(self, who: Principal, session_id: str, *, after: int, limit: int) -> dict[str, Any]:
        """`limit` entries of the action log after position `after`, oldest first, and the total."""
        await self._sessions.get(who, session_id)
        return await self._history.actions(who.account_id, session_uuid(session_id), after=after, limit=limit)

    async def navigations(self, who: Principal, session_id: str, *, after: int, limit: int) -> dict[str, Any]:
        await self._sessions.get(who, session_id)
        return await self._history.navigations(
            who.account_id, session_uuid(session_id), after=after, limit=limit
        )

    async def console(
        self, who: Principal, session_id: str, *, after: int, limit: int, level: str | None
    ) -> list[dict[str, Any]]:
        await self._sessions.get(who, session_id)
        where = [("level = {}", level)] if level is not None else []
        return await self._sessions.logs.console.page(
            who.account_id, session_uuid(session_id), after=after, limit=limit, where=where
        )

    async def network(
        self,
        who: Principal,
        session_id: str,
        *,
        after: int,
        limit: int,
        status: int | None,
        failed: bool | None,
    ) -> list[dict[str, Any]]:
        """The requests the page made, oldest first: `status` keeps one HTTP status, `failed` those
        that got no response (or those that did)."""
        await self._sessions.get(who, session_id)
        where: list[tuple[str, Any]] = []
        if status is not None:
            where.append(("status = {}", status))
        if failed is not None:
            where.append(("(failure IS NOT NULL) = {}", failed))
        return await self._sessions.logs.network.page(
            who.account_id, session_uuid(session_id), after=after, limit=limit, where=where
        )

    async def egress(self, who: Principal, session_id: str, *, after: int, limit: int) -> dict[str, Any]:
        """What the egress carried for the session (held by this process): `limit` connections after
        `after`, oldest first, and the totals."""
        await self._sessions.get(who, session_id)
        ledger = self._sessions.egress.ledger(session_id)
        if ledger is None:
            return {"rows": [], "totals": Ledger().totals()}
        rows = [{**r.document(), "_key": r.seq} for r in ledger.records(after=after, limit=limit)]
        return {"rows": rows, "totals": ledger.totals()}

    async def health(self, who: Principal, session_id: str) -> dict[str, Any]:
        doc = await self._sessions.get(who, session_id)
        uptime = duration_ms(doc, now())
        if doc["status"] in ENDED:
            status, responsive = "ended", False
        elif doc.get("socket_client") == "standard":
            # No browser to ask: it lives exactly as long as its socket, which ends it when it closes.
            status, responsive = "healthy", False
        else:
            responsive = await self._responsive(session_id)
            status = "healthy" if responsive else "unresponsive"
        return {
            "status": status,
            "session_status": doc["status"],
            "browser_responsive": responsive,
            "current_url": doc["current_url"],
            "uptime_ms": uptime,
        }

    async def _responsive(self, session_id: str) -> bool:
        live = self._sessions.live.get(session_uuid(session_id))
        if live is None or live.page is None:
            return False  # still starting, or held by another node
        try:
            return await asyncio.wait_for(live.page.responsive(), RESPONSIVE_WITHIN_S + 0.5)
        except TimeoutError:
            return False
