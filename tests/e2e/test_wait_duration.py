"""A duration wait sleeps the time it is given, whichever field gives it."""

from __future__ import annotations

from driftstack.actions import WaitFor

from ..conftest import Harness


def test_a_duration_wait_sleeps_duration_ms_else_timeout_ms() -> None:
    # Seed 000's wait body names only timeout_ms; for a duration that is how long to sleep.
    assert WaitFor(kind="duration", timeout_ms=300).sleep_ms == 300
    assert WaitFor(kind="duration", duration_ms=500).sleep_ms == 500
    assert WaitFor(kind="duration", duration_ms=0, timeout_ms=300).sleep_ms == 0


async def test_a_duration_wait_answers_after_the_time_it_was_given(driftstack: Harness) -> None:
    api = await driftstack.client()
    path = f"/v1/sessions/{(await api.ready_session())['id']}"

    status, waited, _ = await api.post(f"{path}/wait", {"kind": "duration", "duration_ms": 300})

    assert status == 200, waited
    assert waited["kind"] == "duration" and waited["duration_ms"] >= 300, waited
