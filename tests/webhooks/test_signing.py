"""Signatures match the Standard Webhooks specification's published test vectors, byte for byte."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

from driftstack.domain.webhook_endpoint import SigningKey
from driftstack.webhooks import signing

# The vectors of the standard-webhooks repository (github.com/standard-webhooks/standard-webhooks):
# the HMAC one appears in its libraries' tests (e.g. libraries/python/tests/test_webhooks.py,
# test_sign_function) and the Ed25519 one in libraries/go/webhook_asymmetric_test.go
# (TestAsymmetricWebhookSign), whose key is the 32-byte seed base64-encoded.
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = b'{"test": 2432232314}'
HMAC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HMAC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
ED25519_SECRET = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
ED25519_SIGNATURE = (
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)


def test_the_v1_hmac_signature_matches_the_published_vector() -> None:
    assert signing.sign(SigningKey("v1", HMAC_SECRET), MSG_ID, TIMESTAMP, PAYLOAD) == HMAC_SIGNATURE


def test_the_v1a_ed25519_signature_matches_the_published_vector() -> None:
    key = SigningKey("v1a", ED25519_SECRET)
    assert signing.sign(key, MSG_ID, TIMESTAMP, PAYLOAD) == ED25519_SIGNATURE


def test_the_signed_content_is_id_dot_timestamp_dot_body() -> None:
    assert signing.signed_content(MSG_ID, TIMESTAMP, PAYLOAD) == (
        b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}'
    )


def test_the_standardwebhooks_package_computes_the_same_signature() -> None:
    expected = Webhook(HMAC_SECRET).sign(MSG_ID, datetime.fromtimestamp(TIMESTAMP, tz=UTC), PAYLOAD.decode())
    assert expected == HMAC_SIGNATURE


def test_a_new_hmac_secret_is_32_random_bytes_behind_whsec() -> None:
    one, two = signing.new_key("v1"), signing.new_key("v1")
    assert one.scheme == "v1" and one.secret.startswith("whsec_") and one.public_key is None
    assert len(base64.b64decode(one.secret.removeprefix("whsec_"))) == 32
    assert one.secret != two.secret


def test_a_new_ed25519_key_signs_what_its_public_key_verifies() -> None:
    key = signing.new_key("v1a")
    assert key.secret.startswith("whsk_") and key.public_key is not None
    assert signing.public_key_of(key.secret) == key.public_key
    signature = signing.sign(key, MSG_ID, TIMESTAMP, PAYLOAD).removeprefix("v1a,")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key.removeprefix("whpk_")))
    public.verify(base64.b64decode(signature), signing.signed_content(MSG_ID, TIMESTAMP, PAYLOAD))


def test_during_a_rotation_the_header_carries_one_signature_per_key() -> None:
    old, new = SigningKey("v1", HMAC_SECRET), signing.new_key("v1")
    headers = signing.headers([new, old], MSG_ID, TIMESTAMP, PAYLOAD)
    assert headers["webhook-id"] == MSG_ID and headers["webhook-timestamp"] == str(TIMESTAMP)
    first, second = headers["webhook-signature"].split(" ")
    assert second == HMAC_SIGNATURE and first.startswith("v1,") and first != second
