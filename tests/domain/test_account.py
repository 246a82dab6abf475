"""The Account aggregate: tiers, caps, members and session slots."""

from __future__ import annotations

import pytest

from driftstack import clock
from driftstack.domain.account import Account
from driftstack.domain.api_key import ApiKey, hash_key, key_id_for
from driftstack.domain.errors import ConcurrencyLimitReached, ValidationFailed
from driftstack.domain.tiers import TIERS


@pytest.mark.parametrize(
    ("tier", "concurrency", "profile_cap"),
    [
        ("trial_pack", 1, 1),
        ("solo_manual", 1, 5),
        ("team_manual", 3, 50),
        ("agency_manual", 10, 200),
        ("api_starter", 2, 10),
        ("api_builder", 5, 25),
        ("api_scale", 20, 100),
    ],
)
def test_each_tier_has_the_caps_of_the_reference_tables(
    tier: str, concurrency: int, profile_cap: int
) -> None:
    account = Account.open(name="a", tier=tier)
    assert (account.concurrency, account.profile_cap) == (concurrency, profile_cap)


def test_enterprise_caps_are_negotiated() -> None:
    account = Account.open(name="big", tier="enterprise", concurrency=400)
    assert account.concurrency == 400
    assert account.profile_cap is None
    assert TIERS["enterprise"].concurrency is None


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        Account.open(name="a", tier="platinum")


def test_the_slot_past_the_cap_is_refused_with_the_facts() -> None:
    account = Account.open(name="a", tier="api_starter")
    account.take_session_slot("ses_1")
    account.take_session_slot("ses_2")
    with pytest.raises(ConcurrencyLimitReached) as refused:
        account.take_session_slot("ses_3")
    assert (refused.value.limit, refused.value.current, refused.value.tier) == (2, 2, "api_starter")
    account.free_session_slot("ses_1")
    account.take_session_slot("ses_3")


def test_members_have_a_role() -> None:
    account = Account.open(name="owner", tier="team_manual")
    account.add_member("acc_m", "member")
    account.add_member("acc_m", "admin")
    assert account.members == {"acc_m": "admin"}
    with pytest.raises(ValidationFailed):
        account.add_member("acc_m", "superuser")


def test_a_key_is_kept_only_as_its_hash_and_found_by_it() -> None:
    key, plaintext = ApiKey.issue(account_id="acc_x", scopes=["write", "read"], now=clock.now())
    assert plaintext.startswith("ds_live_")
    assert key.key_hash == hash_key(plaintext) and plaintext not in str(vars(key))
    assert key.id == key_id_for(hash_key(plaintext))
    assert key.scopes == ["read", "write"]
    with pytest.raises(ValidationFailed):
        ApiKey.issue(account_id="acc_x", scopes=["root"], now=clock.now())
