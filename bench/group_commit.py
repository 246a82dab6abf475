"""Session action events stored through the service's own path (SessionService's group commit over the
application, off the event loop in its executor): events per second from one session, and from eight
acting at once, against the same appends one transaction each (the path before group commit)."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from event_store import application
from harness import Figure, Report, bench_environment, finish

from driftstack.domain.archetypes import resolve
from driftstack.group_commit import GroupCommit

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))  # per session
SESSIONS_AT_ONCE = 8


def navigation(key_id: str, i: int) -> Any:
    url = f"http://127.0.0.1/{i}"
    return lambda s: s.record_navigation(key_id, url, "load", url, "Form", 200, 30)


async def run(app: Any, sessions: list[UUID], key_id: str, *, grouped: bool) -> float:
    """Each session appends EVENTS navigations, one after the other (chained, as the service does);
    the sessions at once. Events per second."""
    executor = ThreadPoolExecutor(max_workers=8)
    loop = asyncio.get_running_loop()

    def call(fn: Any, *args: Any) -> Any:
        return loop.run_in_executor(executor, fn, *args)

    group = GroupCommit(lambda changes: call(app.update_sessions, changes))

    async def one(uuid: UUID) -> None:
        for i in range(EVENTS):
            if grouped:
                await group.store(uuid, navigation(key_id, i))
            else:
                await call(app.update_session, uuid, navigation(key_id, i))

    started = time.perf_counter()
    await asyncio.gather(*(one(uuid) for uuid in sessions))
    took = time.perf_counter() - started
    executor.shutdown()
    return EVENTS * len(sessions) / took


def new_sessions(app: Any, account_id: str, key_id: str, n: int) -> list[UUID]:
    made = []
    for _ in range(n):
        session, _ = app.create_session(
            account_id,
            api_key_id=key_id,
            archetype=resolve("default").slug,
            purpose="production_customer",
            label="bench",
            metadata=None,
            behavioral_profile=None,
            profile_id=None,
            node="bench",
            socket_client="standard",  # no concurrency slot: as many as the run needs
        )
        app.update_session(session.id, lambda s: s.become_ready("bench", 0))
        made.append(session.id)
    return made


async def main() -> None:
    report = Report("Group commit")
    async with (
        bench_environment() as (database_url, workdir),
        application(database_url, workdir) as kept,
    ):
        app = kept.app
        account = app.create_account("bench", "enterprise", 50, None)
        key, _, _ = app.issue_key(f"acc_{account.id}", ["read", "write"])
        account_id, key_id = f"acc_{account.id}", f"key_{key.id}"
        for at_once in (1, SESSIONS_AT_ONCE):
            for grouped in (False, True):
                sessions = await asyncio.to_thread(new_sessions, app, account_id, key_id, at_once)
                await kept.caught_up()  # the projector idle, as at the first run
                rate = await run(app, sessions, key_id, grouped=grouped)
                how = "group commit" if grouped else "a transaction each"
                target = (">= 500 events/s" if at_once == 1 else ">= 2,000 events/s") if grouped else None
                floor = 500 if at_once == 1 else 2000
                figure = Figure(
                    f"{at_once} session(s) appending, {how}",
                    "events/s",
                    rate,
                    target=target,
                    met=(rate >= floor) if grouped else None,
                )
                report.add(figure)
    report.note(
        f"Each session appends {EVENTS} navigation events one after the other (each waits for its previous one, "
        "as a session's actions do); the sessions at once. Through SessionService's path: the application's "
        "commands in an 8-thread executor, with and without the group commit (`driftstack/group_commit.py`). "
        "The views follow in a `driftstack project` process, as `serve` keeps them by default."
    )
    finish(report)


if __name__ == "__main__":
    asyncio.run(main())
