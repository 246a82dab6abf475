"""What each artifacts endpoint does: list a session's kept captures, read, delete, serve the bytes
through a signed link, and delete what is past its retention."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from .access import Principal
from .application import Driftstack
from .clock import iso, now
from .consistency import ReadYourWrites
from .domain import ids
from .domain.errors import NotFound
from .projections.artifacts import ArtifactsReader
from .projections.progress import Progress
from .sessions import SessionService
from .settings import Settings

log = structlog.get_logger()

# Retention is swept this often at most (and at each start).
SWEEP_EVERY_S = 3600.0


class LinkRefused(Exception):
    """A download link whose signature does not match, or whose time is up."""


class ArtifactService:
    def __init__(
        self,
        app: Driftstack,
        reader: ArtifactsReader,
        sessions: SessionService,
        progress: Progress,
        consistency: ReadYourWrites,
        settings: Settings,
    ) -> None:
        self._app = app
        self._reader = reader
        self._sessions = sessions
        self._progress = progress
        self._consistency = consistency
        self._settings = settings
        self._sweeper: asyncio.Task[None] | None = None

    async def list(
        self, who: Principal, session_id: str, *, base: str, limit: int, after: Any
    ) -> list[dict[str, Any]]:
        await self._sessions.get(who, session_id)  # another account's session is not found
        rows = await self._reader.page(who.account_id, session_id, limit=limit, after=after)
        return [self._with_link(row, base) for row in rows]

    async def get(self, who: Principal, artifact_id: str, *, base: str) -> dict[str, Any]:
        uuid = ids.parse_public_id(ids.ARTIFACT, artifact_id)
        if uuid is None:
            raise NotFound("artifact", artifact_id)
        await self._consistency.settle(who.account_id, self._progress)
        doc = await self._reader.get(who.account_id, uuid)
        if doc is None:
            raise NotFound("artifact", artifact_id)
        return self._with_link(doc, base)

    async def delete(self, who: Principal, artifact_id: str) -> None:
        nid = await asyncio.to_thread(
            self._app.delete_artifact, who.account_id, who.api_key_id, artifact_id, "client_request"
        )
        self._consistency.wrote(who.account_id, nid)

    async def content(self, artifact_id: str, expires: str, signature: str) -> tuple[bytes, str]:
        """The bytes and content type a signed link serves: no key needed, the link is the grant."""
        if not self._app.artifact_links.valid(artifact_id, expires, signature):
            raise LinkRefused("the link's signature does not match: use the url an artifact lists, unaltered")
        if int(expires) < time.time():
            raise LinkRefused("the link has expired: read the artifact again for a fresh url")
        artifact = await asyncio.to_thread(self._app.get_artifact, None, artifact_id)
        data = await asyncio.to_thread(self._app.artifact_contents.get, artifact_id)
        if data is None:
            raise NotFound("artifact", artifact_id)
        return data, artifact.content_type

    def _with_link(self, doc: dict[str, Any], base: str) -> dict[str, Any]:
        expires = int(time.time() + self._settings.artifact_url_ttl_s)
        signature = self._app.artifact_links.signature(doc["id"], expires)
        return {
            **doc,
            "url": f"{base}/v1/artifacts/{doc['id']}/content?expires={expires}&signature={signature}",
            "url_expires_at": iso(datetime.fromtimestamp(expires, tz=UTC)),
        }

    # Retention

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    async def _sweep_forever(self) -> None:
        retention_s = self._settings.artifact_retention_days * 86_400
        every_s = min(SWEEP_EVERY_S, max(0.5, retention_s / 4))
        while True:
            try:
                await self.sweep()
            except Exception:  # the store away, most likely: the next sweep tries again
                log.exception("artifacts.sweep_failed")
            await asyncio.sleep(every_s)

    async def sweep(self) -> int:
        """Deletes every artifact kept longer than the retention (`artifact.deleted`, reason
        `retention`); returns how many."""
        before = now() - timedelta(days=self._settings.artifact_retention_days)
        deleted = 0
        while expired := await asyncio.to_thread(self._app.artifact_contents.older_than, before):
            for artifact_id in expired:
                try:
                    await asyncio.to_thread(self._app.delete_artifact, None, None, artifact_id, "retention")
                except NotFound:  # deleted already; only its bytes were left
                    await asyncio.to_thread(self._app.artifact_contents.delete, artifact_id)
                deleted += 1
        if deleted:
            log.info("artifacts.retention_deleted", count=deleted)
        return deleted
