"""Browser states (cookies, localStorage, IndexedDB): encrypted bytes in PostgreSQL, outside the events.

Events carry only a state's digest. Each row belongs to one owner (a profile or a snapshot), so a
snapshot keeps its own copy when its profile is deleted, and deleting an owner deletes its bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore

from .store import derive_key

DIGEST_PREFIX = "hmac-sha256:"
_NONCE_BYTES = 12

_DDL = (
    "CREATE TABLE IF NOT EXISTS browser_states ("
    " owner_id text NOT NULL, digest text NOT NULL, nonce bytea NOT NULL, ciphertext bytea NOT NULL,"
    " byte_size integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (owner_id, digest))"
)


@dataclass(frozen=True)
class StateRef:
    """What an event records of a state: its digest and its plaintext size."""

    digest: str
    byte_size: int


class BrowserStates:
    """AES-GCM encrypted state rows, addressed by a keyed digest of the plaintext.

    The keys derive (HKDF) from the service's secret key, one per purpose. The digest is an
    HMAC rather than a bare hash, so a row's address says nothing about a guessable cookie.
    """

    def __init__(self, datastore: PostgresDatastore, secret_key: bytes) -> None:
        self._datastore = datastore
        self._aead = AESGCM(derive_key(secret_key, b"driftstack browser state encryption v1"))
        self._mac_key = derive_key(secret_key, b"driftstack browser state digest v1")

    def create_table(self) -> None:
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(_DDL)

    def put(self, owner_id: str, state: dict[str, Any]) -> StateRef:
        """Stores the state for its owner (once per digest) and returns its reference."""
        plaintext = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
        digest = DIGEST_PREFIX + hmac.new(self._mac_key, plaintext, hashlib.sha256).hexdigest()
        nonce = os.urandom(_NONCE_BYTES)
        # The digest is the associated data: a row moved to another address fails to decrypt.
        ciphertext = self._aead.encrypt(nonce, plaintext, digest.encode())
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO browser_states (owner_id, digest, nonce, ciphertext, byte_size)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (owner_id, digest) DO NOTHING",
                (owner_id, digest, nonce, ciphertext, len(plaintext)),
            )
        return StateRef(digest, len(plaintext))

    def get(self, owner_id: str, digest: str) -> dict[str, Any] | None:
        with self._datastore.transaction() as curs:
            curs.execute(
                "SELECT nonce, ciphertext FROM browser_states WHERE owner_id = %s AND digest = %s",
                (owner_id, digest),
            )
            row = curs.fetchone()
        if row is None:
            return None
        plaintext = self._aead.decrypt(bytes(row["nonce"]), bytes(row["ciphertext"]), digest.encode())
        state: dict[str, Any] = json.loads(plaintext)
        return state

    def copy(self, from_owner: str, to_owner: str, digest: str) -> bool:
        """Gives `to_owner` its own copy of a state; False when `from_owner` no longer has it."""
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO browser_states (owner_id, digest, nonce, ciphertext, byte_size)"
                " SELECT %s, digest, nonce, ciphertext, byte_size FROM browser_states"
                " WHERE owner_id = %s AND digest = %s ON CONFLICT (owner_id, digest) DO NOTHING",
                (to_owner, from_owner, digest),
            )
            curs.execute(
                "SELECT 1 FROM browser_states WHERE owner_id = %s AND digest = %s", (to_owner, digest)
            )
            return curs.fetchone() is not None

    def keep_only(self, owner_id: str, digest: str | None) -> None:
        """Deletes the owner's states but `digest` (None: all of them)."""
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "DELETE FROM browser_states WHERE owner_id = %s AND digest IS DISTINCT FROM %s",
                (owner_id, digest),
            )

    def owned_by(self, owner_id: str) -> list[str]:
        with self._datastore.transaction() as curs:
            curs.execute(
                "SELECT digest FROM browser_states WHERE owner_id = %s ORDER BY created_at", (owner_id,)
            )
            return [str(row["digest"]) for row in curs.fetchall()]
