"""Signing keys at rest: AES-GCM under a key derived (HKDF) from the service's secret key."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Never change: it separates this key from the one that encrypts the events.
_INFO = b"driftstack webhook signing keys v1"
_NONCE_BYTES = 12


@dataclass(frozen=True)
class SecretBox:
    """Seals values bound to a row (the associated data), so a sealed value moved to another row fails to open."""

    key: bytes

    @classmethod
    def from_service_key(cls, service_key_b64: str) -> SecretBox:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
        return cls(hkdf.derive(base64.b64decode(service_key_b64)))

    def seal(self, value: Any, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, json.dumps(value).encode(), bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> Any:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return json.loads(AESGCM(self.key).decrypt(nonce, ciphertext, bound_to.encode()))
