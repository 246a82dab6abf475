"""When a failed delivery is tried again: the schedule, its jitter, and the receiver's `Retry-After`."""

from __future__ import annotations

import random
from datetime import datetime
from email.utils import parsedate_to_datetime

# Up to 10 % later than scheduled, so endpoints that failed together are not retried together.
JITTER = 0.1
# A receiver may ask for a pause, not for delivery to stop: a day at most.
RETRY_AFTER_CAP_S = 86_400.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` of delta-seconds or an HTTP-date; None if absent or malformed."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def next_delay(
    schedule: tuple[float, ...],
    attempts_failed: int,
    retry_after: str | None,
    now: datetime,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt once `attempts_failed` attempts have failed; None: give up.

    `schedule[n]` is the delay before attempt n + 1 (`schedule[0]` is the first attempt's).
    """
    if attempts_failed >= len(schedule):
        return None
    delay = schedule[attempts_failed] * (1 + (rng or random).random() * JITTER)
    asked = parse_retry_after(retry_after, now)
    if asked is not None:
        delay = max(delay, min(asked, RETRY_AFTER_CAP_S))
    return delay
