"""The gate background browser work waits at: it opens once no action has been under way for a moment,
and never waits past its patience."""

from __future__ import annotations

import asyncio

from driftstack.drivers.quiet import Quiet


async def test_it_waits_for_the_action_under_way_and_a_moment_after() -> None:
    quiet = Quiet(settle_s=0.05, patience_s=5.0)
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()

    async def an_action() -> None:
        with quiet.working():
            await asyncio.sleep(0.2)
        finished.set()

    acting = asyncio.ensure_future(an_action())
    await asyncio.sleep(0)
    started = loop.time()
    await quiet.wait()
    assert finished.is_set()
    assert loop.time() - started >= 0.2
    await acting


async def test_it_gives_up_waiting_after_its_patience_under_constant_work() -> None:
    quiet = Quiet(settle_s=0.05, patience_s=0.3)
    loop = asyncio.get_running_loop()
    with quiet.working():
        started = loop.time()
        await quiet.wait()
        waited = loop.time() - started
    assert 0.3 <= waited < 1.0


async def test_a_quiet_machine_waits_only_the_settling_moment() -> None:
    quiet = Quiet(settle_s=0.05, patience_s=5.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await quiet.wait()
    assert loop.time() - started < 0.5
