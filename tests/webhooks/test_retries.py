"""The retry schedule: its delays, its jitter, its end, and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from driftstack.settings import WEBHOOK_RETRY_SCHEDULE_S
from driftstack.webhooks.retries import JITTER, RETRY_AFTER_CAP_S, next_delay, parse_retry_after

NOW = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)


def test_the_default_schedule_is_the_issue_s_immediately_5s_5min_30min_2h_5h_10h_10h() -> None:
    assert WEBHOOK_RETRY_SCHEDULE_S == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


def test_each_failure_waits_its_scheduled_delay_plus_a_little_jitter_and_the_eighth_gives_up() -> None:
    rng = random.Random(7)
    for failed, scheduled in enumerate(WEBHOOK_RETRY_SCHEDULE_S[1:], start=1):
        delay = next_delay(WEBHOOK_RETRY_SCHEDULE_S, failed, None, NOW, rng)
        assert delay is not None and scheduled <= delay <= scheduled * (1 + JITTER)
    assert next_delay(WEBHOOK_RETRY_SCHEDULE_S, 8, None, NOW, rng) is None


def test_retry_after_in_seconds_or_as_a_date_lengthens_the_wait_up_to_a_cap() -> None:
    schedule = (0.0, 5.0, 300.0)
    assert next_delay(schedule, 1, "120", NOW) == 120
    assert next_delay(schedule, 1, "Tue, 12 May 2026 12:10:00 GMT", NOW) == 600
    assert next_delay(schedule, 1, str(10 * 86_400), NOW) == RETRY_AFTER_CAP_S
    shorter = next_delay(schedule, 2, "1", NOW)
    assert shorter is not None and shorter >= 300, "Retry-After never makes a retry sooner"


def test_a_malformed_retry_after_is_ignored() -> None:
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after("Tue, 12 May 2026 11:00:00 GMT", NOW) == 0
