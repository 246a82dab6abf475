"""Live sessions: the browser page each running session holds, and when it was last used."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from uuid import UUID

from .domain.archetypes import Archetype
from .domain.behavior import Pacing
from .drivers.base import Driver, Page


@dataclass(eq=False)
class LiveSession:
    """One session whose browser lives in this process.

    `lock` serialises actions (a page does one thing at a time); holding it is what
    makes the session `busy`.
    """

    uuid: UUID
    account_id: str
    archetype: Archetype
    pacing: Pacing | None
    idle_timeout_s: float
    profile_id: str | None = None  # the profile whose browser state it starts with and writes back
    proxy: str | None = None  # the operator's upstream proxy its traffic goes through, by name
    driver: Driver | None = None  # the engine its browser runs on
    viewport: tuple[int, int] | None = None  # CSS pixels, instead of the persona's
    page: Page | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # ready or failed
    failure: str | None = None
    recording: asyncio.Future[None] | None = None  # the last action event still being stored
    location: tuple[str, str] | None = None  # the (url, title) last recorded for the page
    location_version: int = 0  # how many times `location` was recorded
    following: asyncio.Lock = field(default_factory=asyncio.Lock)  # one self-move reading at a time
    last_activity: float = field(default_factory=time.monotonic)
    rng: random.Random = field(default_factory=random.Random)

    @property
    def public_id(self) -> str:
        return f"ses_{self.uuid}"

    @property
    def busy(self) -> bool:
        return self.lock.locked()

    def located(self, where: tuple[str, str]) -> None:
        """Where the page was just recorded to be."""
        self.location = where
        self.location_version += 1

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def idle_for(self) -> float:
        return time.monotonic() - self.last_activity

    async def think(self) -> None:
        """The pause a person of this session's behavioural profile takes before acting."""
        if self.pacing is not None:
            await asyncio.sleep(self.pacing.think(self.rng) / 1000)

    def keystroke_delay_ms(self) -> float:
        return self.pacing.keystroke(self.rng) if self.pacing is not None else 0.0


class LiveSessions:
    """The registry of this process's live sessions."""

    def __init__(self) -> None:
        self._by_id: dict[UUID, LiveSession] = {}

    def add(self, live: LiveSession) -> None:
        self._by_id[live.uuid] = live

    def get(self, uuid: UUID) -> LiveSession | None:
        return self._by_id.get(uuid)

    def pop(self, uuid: UUID) -> LiveSession | None:
        return self._by_id.pop(uuid, None)

    def all(self) -> list[LiveSession]:
        return list(self._by_id.values())

    def busy_ids(self, account_id: str) -> list[UUID]:
        return [s.uuid for s in self._by_id.values() if s.account_id == account_id and s.busy]
