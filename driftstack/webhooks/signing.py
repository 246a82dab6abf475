"""Standard Webhooks signatures: `v1` HMAC-SHA256 and `v1a` Ed25519 over `id.timestamp.body`, and their keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..domain.webhook_endpoint import SigningKey

HMAC_SECRET_PREFIX = "whsec_"
ED25519_SECRET_PREFIX = "whsk_"
ED25519_PUBLIC_PREFIX = "whpk_"
# The specification asks for 24 to 64 random bytes; 32 matches HMAC-SHA256's block of strength.
_HMAC_SECRET_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: str, prefix: str) -> bytes:
    return base64.b64decode(value.removeprefix(prefix))


def new_key(scheme: str) -> SigningKey:
    """A fresh random key of the scheme: a `whsec_` secret, or an Ed25519 `whsk_`/`whpk_` pair."""
    if scheme == "v1a":
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes_raw()
        public = private.public_key().public_bytes_raw()
        return SigningKey("v1a", ED25519_SECRET_PREFIX + _b64(seed), ED25519_PUBLIC_PREFIX + _b64(public))
    return SigningKey("v1", HMAC_SECRET_PREFIX + _b64(secrets.token_bytes(_HMAC_SECRET_BYTES)))


def public_key_of(secret: str) -> str:
    """The `whpk_` public key of a `whsk_` Ed25519 key (its 32-byte seed)."""
    private = Ed25519PrivateKey.from_private_bytes(_unb64(secret, ED25519_SECRET_PREFIX))
    return ED25519_PUBLIC_PREFIX + _b64(private.public_key().public_bytes_raw())


def signed_content(message_id: str, timestamp: int, body: bytes) -> bytes:
    """What is signed: `{webhook-id}.{webhook-timestamp}.{body}`, the body exactly as sent."""
    return f"{message_id}.{timestamp}.".encode() + body


def sign(key: SigningKey, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature as the header carries it: `v1,<base64>` or `v1a,<base64>`."""
    content = signed_content(message_id, timestamp, body)
    if key.scheme == "v1a":
        private = Ed25519PrivateKey.from_private_bytes(_unb64(key.secret, ED25519_SECRET_PREFIX))
        return "v1a," + _b64(private.sign(content))
    if key.scheme == "v1":
        digest = hmac.new(_unb64(key.secret, HMAC_SECRET_PREFIX), content, hashlib.sha256).digest()
        return "v1," + _b64(digest)
    raise ValueError(f"unknown signature scheme {key.scheme!r}")


def headers(keys: Iterable[SigningKey], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per key, space-separated (rotation)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(key, message_id, timestamp, body) for key in keys),
    }
