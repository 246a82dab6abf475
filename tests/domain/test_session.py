"""The Session aggregate's rules, without I/O."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from driftstack.domain.errors import SessionGone, SessionTimedOut
from driftstack.domain.session import Session


def a_session() -> Session:
    return Session(
        account_id="acc_x",
        api_key_id="key_x",
        archetype="iphone16pro_ios18_7_safari26_4",
        purpose="production_customer",
        label=None,
        metadata=None,
        behavioral_profile=None,
        profile_id=None,
        node="n1",
    )


def test_a_new_session_is_creating_and_becomes_ready() -> None:
    session = a_session()
    assert session.status == "creating"
    session.become_ready(browser="chromium", duration_ms=250)
    assert session.status == "ready"


def test_every_action_is_an_event_with_its_duration() -> None:
    session = a_session()
    session.become_ready(browser="chromium", duration_ms=1)
    session.record_navigation("key_x", "http://a/", "load", "http://a/", "A", 200, 12)
    session.record_interaction("key_x", {"type": "tap"}, "http://a/", "A", 3)
    session.record_wait("key_x", {"kind": "duration"}, "http://a/", "A", 4)
    session.record_state_read("key_x", "http://a/", 100, 5, title="A")
    session.record_capture("key_x", "screenshot", False, 1000, 6)
    session.record_failure(
        "key_x", "navigate", {"url": "http://b/"}, "dns_failed", "no", 7, url="http://b/", title=""
    )
    events = session.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Created",
        "Provisioned",
        "Navigated",
        "Interacted",
        "Waited",
        "StateRead",
        "Captured",
        "ActionFailed",
    ]
    assert [e.duration_ms for e in events[2:]] == [12, 3, 4, 5, 6, 7]
    assert session.status == "ready", "a failed action leaves the session usable"


def test_destroying_is_idempotent() -> None:
    session = a_session()
    assert session.destroy("client_request", "key_x") is True
    assert session.destroy("client_request", "key_x") is False
    assert [type(e).__name__ for e in session.collect_events()] == ["Created", "Destroyed"]


def test_a_destroyed_session_takes_no_action() -> None:
    session = a_session()
    session.destroy("client_request", "key_x")
    with pytest.raises(SessionGone):
        session.record_wait("key_x", {}, "", "", 1)


def test_a_session_ended_by_idle_timeout_says_so() -> None:
    session = a_session()
    session.destroy("idle_timeout", None)
    with pytest.raises(SessionTimedOut):
        session.check_can_act()


def test_an_errored_session_cannot_become_ready_or_be_destroyed() -> None:
    session = a_session()
    assert session.fail("browser_crashed", "gone") is True
    with pytest.raises(SessionGone):
        session.become_ready("chromium", 1)
    assert session.destroy("client_request", "key_x") is False
    assert session.status == "errored"


def _stored_as_v1(event: Any, dropped: tuple[str, ...]) -> Any:
    """The event as a version of Driftstack before `dropped` existed would have stored it."""
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    stored = mapper.to_stored_event(event)
    state = transcoder.decode(stored.state)
    for name in (*dropped, "class_version"):
        state.pop(name, None)
    old = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=transcoder.encode(state),
    )
    return mapper.to_domain_event(old)


def test_action_failures_and_state_reads_stored_before_they_carried_the_page_still_read() -> None:
    session = a_session()
    session.become_ready(browser="chromium", duration_ms=1)
    session.record_state_read("key_x", "http://a/", 100, 5, title="A")
    session.record_failure("key_x", "tap", {}, "timeout", "no", 7, url="http://a/", title="A")
    read, failed = session.collect_events()[2:]

    old_read = _stored_as_v1(read, ("title",))
    old_failure = _stored_as_v1(failed, ("url", "title"))

    assert (old_read.url, old_read.title) == ("http://a/", None)
    assert (old_failure.reason, old_failure.url, old_failure.title) == ("timeout", None, None)


def test_a_page_that_moves_by_itself_is_recorded_and_never_after_the_session_ended() -> None:
    session = a_session()
    session.become_ready(browser="chromium", duration_ms=1)
    session.record_page_moved("http://a/next", "Next")
    moved = session.collect_events()[-1]
    assert (type(moved).__name__, moved.url, moved.title) == ("PageMoved", "http://a/next", "Next")
    session.destroy("client_request", "key_x")
    with pytest.raises(SessionGone):
        session.record_page_moved("http://a/later", "Later")
