"""Signing keys at rest: AES-GCM under a key derived (HKDF) from the service's secret key."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..store import derive_key

# Never change: it separates this key from the one that encrypts the events.
_INFO = b"driftstack webhook signing keys v1"
_NONCE_BYTES = 12


@dataclass(frozen=True)
class SecretBox:
    """Seals values bound to a row (the associated data), so a sealed value moved to another row fails to open."""

    key: bytes

    @classmethod
    def from_service_key(cls, service_key_b64: str) -> SecretBox:
        return cls(derive_key(base64.b64decode(service_key_b64), _INFO))

    def seal(self, value: Any, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, json.dumps(value).encode(), bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> Any:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return json.loads(AESGCM(self.key).decrypt(nonce, ciphertext, bound_to.encode()))
