"""The Profile, its name index and its snapshots: field rules, the sticky archetype, the holder, the cap."""

from __future__ import annotations

import pytest

from driftstack.domain.account import Account
from driftstack.domain.errors import ProfileInUse, ProfileNameTaken, TierLimitReached, ValidationFailed
from driftstack.domain.profile import KEEP, Profile, ProfileBusy, check_description, check_name, copy_names
from driftstack.domain.profile_name import ProfileName, normalise
from driftstack.domain.profile_snapshot import ProfileSnapshot, check_label


def a_profile(name: str = "production", description: str | None = "primary") -> Profile:
    return Profile(
        account_id="acc_1",
        name=name,
        archetype="iphone16pro_ios18_7_safari26_4",
        description=description,
        api_key_id=None,
        cloned_from=None,
        restored_from_snapshot=None,
        state=None,
        state_byte_size=None,
    )


@pytest.mark.parametrize("name", ["production", "prod-eu_2", "x" * 64, "ünïcode", "a.b@c"])
def test_names_people_choose_are_accepted(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("x" * 65, "at most 64 characters"),
        ("two words", "must not contain whitespace or control characters"),
        ("tab\there", "must not contain whitespace or control characters"),
        ("line\nbreak", "must not contain whitespace or control characters"),
        ("bell\x07", "must not contain whitespace or control characters"),
        ("nbsp\u00a0x", "must not contain whitespace or control characters"),
        ("zero\u200bwidth", "must not contain whitespace or control characters"),
    ],
)
def test_a_name_breaking_the_rules_is_refused_with_what_to_fix(name: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_name(name)
    assert (refused.value.field, refused.value.message) == ("name", message)


def test_a_description_is_at_most_2048_characters() -> None:
    check_description("d" * 2048)
    check_description(None)
    with pytest.raises(ValidationFailed, match="description: at most 2048 characters"):
        check_description("d" * 2049)


def test_a_snapshot_label_is_required_and_short() -> None:
    check_label("before-iOS-26-rollout")
    for bad in ("", "   ", "x" * 121, "a\nb"):
        with pytest.raises(ValidationFailed):
            check_label(bad)


def test_clone_names_count_up_to_99_and_always_fit_64_characters() -> None:
    names = list(copy_names("production"))
    assert names[:3] == ["production (copy)", "production (copy 2)", "production (copy 3)"]
    assert names[-1] == "production (copy 99)" and len(names) == 99
    long = list(copy_names("p" * 64))
    assert all(len(n) <= 64 for n in long) and long[1].endswith(" (copy 2)")


def test_editing_changes_name_and_description_but_null_clears_and_absent_keeps() -> None:
    profile = a_profile()
    assert profile.edit("key_1", "production-eu", KEEP)
    assert (profile.name, profile.description) == ("production-eu", "primary")
    assert profile.edit("key_1", None, None)
    assert profile.description is None
    assert not profile.edit("key_1", "production-eu", None), "nothing changed: no event"
    assert profile.archetype == "iphone16pro_ios18_7_safari26_4"
    assert not hasattr(profile, "change_archetype"), "the archetype is sticky"


def test_one_live_session_holds_a_profile_and_an_ended_holder_no_longer_counts() -> None:
    profile = a_profile()
    profile.take("ses_a", holder_live=False)
    with pytest.raises(ProfileBusy):
        profile.take("ses_b", holder_live=True)
    profile.take("ses_a", holder_live=True)  # holding it already
    profile.take("ses_b", holder_live=False)  # ses_a ended without releasing (its node died)
    assert profile.held_by == "ses_b"


def test_releasing_keeps_the_written_back_state_or_the_previous_one() -> None:
    profile = a_profile()
    profile.take("ses_a", holder_live=False)
    assert profile.release("ses_a", "hmac-sha256:aa", 120)
    assert (profile.state, profile.held_by) == ("hmac-sha256:aa", None)
    profile.take("ses_b", holder_live=False)
    assert profile.release("ses_b", None, None), "a crashed browser: nothing read"
    assert profile.state == "hmac-sha256:aa"
    assert not profile.release("ses_c", "hmac-sha256:cc", 1), "a session that never held it"
    assert profile.state == "hmac-sha256:aa"
    kinds = [type(e).__name__ for e in profile.collect_events()]
    assert kinds == ["Created", "Taken", "StateSaved", "Released", "Taken", "Released"]


def test_a_profile_held_by_a_live_session_cannot_be_deleted() -> None:
    profile = a_profile()
    profile.take("ses_a", holder_live=False)
    with pytest.raises(ProfileInUse):
        profile.delete("key_1", holder_live=True)
    profile.delete("key_1", holder_live=False)
    assert profile.deleted


def test_names_that_read_the_same_share_one_index_and_one_holder() -> None:
    assert (
        normalise("Production") == normalise("PRODUCTION") == normalise("\uff50roduction")
    )  # a full-width p
    assert ProfileName.create_id("acc_1", "Production") == ProfileName.create_id("acc_1", "production")
    assert ProfileName.create_id("acc_1", "production") != ProfileName.create_id("acc_2", "production")
    index = ProfileName(account_id="acc_1", name="production", profile_id="prof_a")
    with pytest.raises(ProfileNameTaken):
        index.claim("prof_b", "Production")
    index.release("prof_b")
    assert index.holder == "prof_a", "only the holder releases"
    index.release("prof_a")
    index.claim("prof_b", "production")
    assert index.holder == "prof_b"


def test_the_profile_cap_counts_profiles_and_a_deleted_one_frees_its_place() -> None:
    account = Account.open(name="a", tier="trial_pack")  # cap 1
    account.take_profile_slot("prof_a")
    with pytest.raises(TierLimitReached) as refused:
        account.take_profile_slot("prof_b")
    assert (refused.value.limit, refused.value.current, refused.value.tier) == (1, 1, "trial_pack")
    assert refused.value.resource == "profile"
    account.free_profile_slot("prof_a")
    account.take_profile_slot("prof_b")


def test_an_enterprise_account_without_a_negotiated_cap_has_no_profile_cap() -> None:
    account = Account.open(name="a", tier="enterprise")
    for n in range(300):
        account.take_profile_slot(f"prof_{n}")
    capped = Account.open(name="b", tier="enterprise", profile_cap=2)
    capped.take_profile_slot("prof_a")
    capped.take_profile_slot("prof_b")
    with pytest.raises(TierLimitReached):
        capped.take_profile_slot("prof_c")


def test_a_snapshot_restores_with_its_own_description_else_the_parents() -> None:
    def snapshot(description: str | None) -> ProfileSnapshot:
        return ProfileSnapshot(
            account_id="acc_1",
            api_key_id=None,
            label="baseline",
            description=description,
            parent_profile_id="prof_a",
            parent_name="production",
            parent_archetype="iphone13_ios17_5_safari17_5",
            parent_description="primary",
            state=None,
            state_byte_size=None,
        )

    assert snapshot("before the rollout").restored_description == "before the rollout"
    assert snapshot(None).restored_description == "primary"
    gone = snapshot(None)
    gone.delete(None)
    with pytest.raises(Exception, match="not found"):
        gone.record_restore("prof_b", None)
