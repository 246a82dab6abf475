"""The ApiKey aggregate: lifetimes, expiry, revocation, and keys stored before either existed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from driftstack.domain.api_key import ApiKey, parse_lifetime
from driftstack.domain.errors import ValidationFailed

NOON = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)


def a_key(**kw: Any) -> ApiKey:
    key, _ = ApiKey.issue(account_id="acc_x", scopes=["read"], now=NOON, **kw)
    return key


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [("90m", timedelta(minutes=90)), ("12h", timedelta(hours=12)), ("30d", timedelta(days=30))],
)
def test_a_lifetime_is_minutes_hours_or_days(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "30", "0d", "-1d", "1.5h", "30 d", "2w", "10000d", "1d\n", "٣d"])
def test_anything_else_is_refused_as_a_lifetime(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_lifetime(text)
    assert refused.value.field == "expires_in"


def test_a_key_without_a_lifetime_never_expires() -> None:
    key = a_key()
    assert key.expires_at is None
    assert key.refusal(NOON + timedelta(days=36500)) is None


def test_a_key_with_a_lifetime_works_until_it_ends_and_never_after() -> None:
    key = a_key(lifetime=parse_lifetime("90m"))
    assert key.expires_at == "2026-05-12T13:30:00.000Z"
    assert key.refusal(NOON + timedelta(minutes=89, seconds=59)) is None
    assert key.refusal(NOON + timedelta(minutes=90)) == "this key expired at 2026-05-12T13:30:00.000Z"


def test_a_revoked_key_is_refused_even_before_it_would_expire() -> None:
    key = a_key(lifetime=parse_lifetime("30d"))
    assert key.revoke(api_key_id="key_admin") is True
    assert key.revoked_at == key.modified_on
    assert key.refusal(NOON) == "this key was revoked"


def test_revoking_twice_records_one_revocation() -> None:
    key = a_key()
    assert key.revoke(api_key_id=None) is True
    revoked_at = key.revoked_at
    assert key.revoke(api_key_id="key_other") is False
    events = key.collect_events()
    assert [type(e) for e in events] == [ApiKey.Issued, ApiKey.Revoked]
    assert key.revoked_at == revoked_at


def test_the_issuing_key_and_the_revoking_key_are_facts_of_the_events() -> None:
    key = a_key(api_key_id="key_minter")
    key.revoke(api_key_id="key_revoker")
    issued, revoked = key.collect_events()
    assert issued.api_key_id == "key_minter"  # type: ignore[attr-defined]
    assert revoked.api_key_id == "key_revoker"  # type: ignore[attr-defined]


def test_a_lifetime_past_9999_days_or_a_long_name_is_refused() -> None:
    assert parse_lifetime("9999d") == timedelta(days=9999)
    with pytest.raises(ValidationFailed):
        a_key(lifetime=timedelta(days=10000))
    with pytest.raises(ValidationFailed):
        a_key(lifetime=timedelta(0))
    with pytest.raises(ValidationFailed):
        a_key(name="n" * 121)


def test_a_key_issued_before_lifetimes_existed_reads_as_one_that_never_expires() -> None:
    state: dict[str, Any] = {
        "originator_id": uuid4(),
        "originator_version": 1,
        "timestamp": NOON,
        "originator_topic": "driftstack.domain.api_key:ApiKey",
        "key_hash": "ab" * 32,
        "account_id": "acc_x",
        "scopes": ["read"],
        "name": None,
    }
    ApiKey.Issued.upcast_v1_v2(state)
    key = ApiKey.Issued(**state).mutate(None)
    assert key is not None
    assert (key.expires_at, key.issued_by, key.revoked_at) == (None, None, None)
    assert key.refusal(NOON + timedelta(days=36500)) is None
