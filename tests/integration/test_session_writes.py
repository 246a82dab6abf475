"""A live session's events are written from the copy its node last saved, with no read of the store; another
writer's event in between is never overwritten or lost, and a change that fails leaves nothing behind."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest

from driftstack.application import Driftstack
from driftstack.domain.errors import SessionGone
from driftstack.domain.session import Session
from driftstack.store import Store
from tests.integration.conftest import a_session


@pytest.fixture
def two_nodes(database_url: str) -> Iterator[tuple[Driftstack, Driftstack]]:
    """Two applications on one store, as two nodes of a service are."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    nodes = [Driftstack(Store(url=database_url, cipher_key=key).eventsourcing_env(pool_size=1)) for _ in "ab"]
    yield nodes[0], nodes[1]
    for node in nodes:
        node.close()


def a_live_session(app: Driftstack) -> tuple[UUID, str]:
    account = app.create_account("acme", "api_builder", None, None)
    key, _, _ = app.issue_key(f"acc_{account.id}", ["read", "write"])
    uuid = a_session(app, f"acc_{account.id}", f"key_{key.id}")
    app.update_session(uuid, lambda s: s.become_ready("webkit", 10))
    return uuid, f"key_{key.id}"


def navigated(key_id: str, n: int) -> Callable[[Session], None]:
    url = f"https://example.com/{n}"
    return lambda s: s.record_navigation(key_id, url, "load", url, "Example", 200, 20)


def stored(app: Driftstack, uuid: UUID) -> Session:
    fresh = Driftstack(app.env)  # its own caches: only what the store holds
    try:
        return fresh.get_session(uuid)
    finally:
        fresh.close()


def test_an_end_written_by_another_node_is_kept_and_the_next_action_hears_the_session_is_gone(
    two_nodes: tuple[Driftstack, Driftstack],
) -> None:
    node_a, node_b = two_nodes
    uuid, key_id = a_live_session(node_a)
    node_a.update_session(uuid, navigated(key_id, 1))

    assert node_b.end_session(uuid, lambda s: s.destroy("client_request", key_id))
    with pytest.raises(SessionGone):
        node_a.update_session(uuid, navigated(key_id, 2))
    [answer] = node_a.update_sessions([(uuid, navigated(key_id, 3))])
    assert isinstance(answer, SessionGone)

    session = stored(node_a, uuid)
    assert session.status == "destroyed" and session.end_reason == "client_request"


def test_a_change_that_fails_after_changing_the_copy_leaves_only_what_was_stored(
    two_nodes: tuple[Driftstack, Driftstack],
) -> None:
    node_a, _ = two_nodes
    uuid, key_id = a_live_session(node_a)
    version = node_a.get_session(uuid).version

    def navigates_then_fails(session: Session) -> None:
        session.record_navigation(
            key_id, "https://example.com/x", "load", "https://example.com/x", "X", 200, 5
        )
        raise RuntimeError("the change went wrong after its event")

    with pytest.raises(RuntimeError):
        node_a.update_session(uuid, navigates_then_fails)
    node_a.update_session(uuid, navigated(key_id, 1))

    session = stored(node_a, uuid)
    assert session.version == version + 1, "the failed change's event never reached the store"
