"""Artifacts' bytes: AES-GCM sealed rows in PostgreSQL beside the events, and the signed links that
serve them without a key.

An event records only an artifact's size and SHA-256; the bytes are sealed with a key derived from
the service's secret (the artifact's id as associated data, so a row moved to another id fails to
open). A link is `…/v1/artifacts/{id}/content?expires=…&signature=…`: an HMAC of the id and the
expiry, with a key of its own purpose, so it can be checked without reading the store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.postgres import PostgresDatastore

from .store import derive_key

_NONCE_BYTES = 12
_DDL = (
    "CREATE TABLE IF NOT EXISTS artifact_contents ("
    " artifact_id text PRIMARY KEY, nonce bytea NOT NULL, ciphertext bytea NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


class ArtifactContents:
    def __init__(self, datastore: PostgresDatastore, secret_key: bytes) -> None:
        self._datastore = datastore
        self._aead = AESGCM(derive_key(secret_key, b"driftstack artifact encryption v1"))

    def create_table(self) -> None:
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(_DDL)

    def put(self, artifact_id: str, data: bytes) -> None:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, data, artifact_id.encode())
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO artifact_contents (artifact_id, nonce, ciphertext) VALUES (%s, %s, %s)"
                " ON CONFLICT (artifact_id) DO NOTHING",
                (artifact_id, nonce, sealed),
            )

    def get(self, artifact_id: str) -> bytes | None:
        with self._datastore.transaction() as curs:
            curs.execute(
                "SELECT nonce, ciphertext FROM artifact_contents WHERE artifact_id = %s", (artifact_id,)
            )
            row = curs.fetchone()
        if row is None:
            return None
        return self._aead.decrypt(bytes(row["nonce"]), bytes(row["ciphertext"]), artifact_id.encode())

    def delete(self, artifact_id: str) -> None:
        with self._datastore.transaction(commit=True) as curs:
            curs.execute("DELETE FROM artifact_contents WHERE artifact_id = %s", (artifact_id,))

    def older_than(self, moment: datetime, limit: int = 500) -> list[str]:
        """Ids of artifacts stored before `moment`, oldest first: what retention deletes."""
        with self._datastore.transaction() as curs:
            curs.execute(
                "SELECT artifact_id FROM artifact_contents WHERE created_at < %s ORDER BY created_at LIMIT %s",
                (moment, limit),
            )
            return [str(row["artifact_id"]) for row in curs.fetchall()]


class ArtifactLinks:
    """Signs and checks the expiring links an artifact's bytes are served through."""

    def __init__(self, secret_key: bytes) -> None:
        self._key = derive_key(secret_key, b"driftstack artifact links v1")

    def signature(self, artifact_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{artifact_id}.{expires}".encode(), hashlib.sha256).hexdigest()

    def valid(self, artifact_id: str, expires: str, signature: str) -> bool:
        """Whether the link's signature is this service's for exactly this id and expiry (as text:
        `0012` is not `12`, so no other spelling of a signed expiry passes)."""
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 18:
            return False
        expected = self.signature(artifact_id, int(expires)).encode()
        return hmac.compare_digest(expected, signature.encode()) and str(int(expires)) == expires
