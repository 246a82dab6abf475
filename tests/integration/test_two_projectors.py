"""Two processes keeping one view (two nodes' projectors): whatever the interleaving of their runs, every event
lands in the view exactly once. The interleaving that lost events is made here on purpose: one projector
reads a run, the other commits part of it first, then more events come."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest

from driftstack.application import Driftstack
from driftstack.projections.runner import SupervisedProjection
from driftstack.projections.sessions import SessionsProjection, SessionsView
from driftstack.store import Store
from tests.integration.conftest import a_session


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return Store(url=database_url, cipher_key=key).eventsourcing_env(pool_size=1)


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Driftstack]:
    application = Driftstack(env)
    yield application
    application.close()


@pytest.fixture
def two_projectors(env: dict[str, str]) -> Iterator[tuple[SupervisedProjection, SupervisedProjection]]:
    projectors = [SupervisedProjection(SessionsProjection, SessionsView, Driftstack, env) for _ in "ab"]
    for projector in projectors:
        projector.open()
    yield projectors[0], projectors[1]
    for projector in projectors:
        projector.close()


def head(app: Driftstack) -> int:
    return app.recorder.max_notification_id() or 0


def shown(database_url: str) -> set[UUID]:
    with psycopg.connect(database_url) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM sessions").fetchall()}


def test_events_read_by_a_projector_that_lost_the_race_are_applied_by_one_of_them(
    app: Driftstack,
    two_projectors: tuple[SupervisedProjection, SupervisedProjection],
    database_url: str,
) -> None:
    a, b = two_projectors
    account = app.create_account("acme", "enterprise", None, None)
    key, _, _ = app.issue_key(f"acc_{account.id}", ["read", "write"])
    account_id, key_id = f"acc_{account.id}", f"key_{key.id}"
    sessions = [a_session(app, account_id, key_id)]
    a.step(head(app))
    b.step(head(app))

    # A reads the next session's Created and is held before applying it; another session is created;
    # B reads both, and A commits its one just before B applies: B finds the view moved on, to a
    # position short of what B read.
    sessions.append(a_session(app, account_id, key_id))
    a_read, a_go = threading.Event(), threading.Event()
    apply_a, apply_b = a._apply, b._apply

    def a_waits(*args: Any) -> int:
        a_read.set()
        a_go.wait(10)
        return apply_a(*args)

    a._apply = a_waits  # type: ignore[method-assign]
    a_steps = threading.Thread(target=a.step, args=(head(app),))
    a_steps.start()
    assert a_read.wait(10)
    sessions.append(a_session(app, account_id, key_id))

    def a_commits_first(*args: Any) -> int:
        a_go.set()
        a_steps.join(10)
        return apply_b(*args)

    b._apply = a_commits_first  # type: ignore[method-assign]
    b.step(head(app))
    a._apply, b._apply = apply_a, apply_b  # type: ignore[method-assign]

    # More comes; each projector steps until it has read everything.
    sessions.append(a_session(app, account_id, key_id))
    for projector in (b, a, b):
        while projector.step(head(app)):
            pass

    assert shown(database_url) == set(sessions), "a session's Created was passed over by both"
