"""Browser states at rest: encrypted, addressed by a keyed digest, one copy per owner."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from cryptography.exceptions import InvalidTag

from driftstack.application import Driftstack
from driftstack.store import Store

STATE = {
    "cookies": [{"name": "sid", "value": "sess-ada", "domain": "127.0.0.1", "path": "/"}],
    "origins": [{"origin": "http://127.0.0.1", "localStorage": [{"name": "token", "value": "tok-ada"}]}],
}


@pytest.fixture
def app(database_url: str) -> Iterator[Driftstack]:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    application = Driftstack(Store(url=database_url, cipher_key=key).eventsourcing_env(pool_size=1))
    yield application
    application.close()


def test_a_state_is_stored_encrypted_once_per_owner_and_read_back(app: Driftstack, database_url: str) -> None:
    ref = app.states.put("prof_a", STATE)
    assert app.states.put("prof_a", dict(STATE)) == ref, "the same bytes, the same address"
    assert ref.digest.startswith("hmac-sha256:") and ref.byte_size > 0
    assert app.states.get("prof_a", ref.digest) == STATE
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT ciphertext FROM browser_states").fetchall()
    assert len(rows) == 1
    assert b"sess-ada" not in bytes(rows[0][0]) and b"tok-ada" not in bytes(rows[0][0])


def test_a_copy_belongs_to_its_new_owner_and_survives_the_old_one(app: Driftstack) -> None:
    ref = app.states.put("prof_a", STATE)
    assert app.states.copy("prof_a", "psnap_b", ref.digest)
    app.states.keep_only("prof_a", None)
    assert app.states.get("prof_a", ref.digest) is None
    assert app.states.get("psnap_b", ref.digest) == STATE
    assert not app.states.copy("prof_a", "prof_c", ref.digest), "nothing left to copy"


def test_bytes_moved_to_another_address_do_not_decrypt(app: Driftstack, database_url: str) -> None:
    ref = app.states.put("prof_a", STATE)
    other = app.states.put("prof_a", {"cookies": [], "origins": []})
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE browser_states SET ciphertext = (SELECT ciphertext FROM browser_states WHERE digest = %s),"
            " nonce = (SELECT nonce FROM browser_states WHERE digest = %s) WHERE digest = %s",
            (ref.digest, ref.digest, other.digest),
        )
    with pytest.raises(InvalidTag):
        app.states.get("prof_a", other.digest)


def test_a_service_with_another_secret_key_cannot_read_the_state(app: Driftstack, database_url: str) -> None:
    ref = app.states.put("prof_a", STATE)
    stranger = Driftstack(
        Store(
            url=database_url, cipher_key=base64.b64encode(secrets.token_bytes(32)).decode()
        ).eventsourcing_env(pool_size=1)
    )
    try:
        with pytest.raises(InvalidTag):
            stranger.states.get("prof_a", ref.digest)
    finally:
        stranger.close()
