"""The one public id format: a type prefix and a UUID (`ses_…`, `acc_…`, `key_…`, `prof_…`, `psnap_…`, `whep_…`, `art_…`)."""

from __future__ import annotations

from uuid import UUID, uuid4

SESSION = "ses"
ACCOUNT = "acc"
API_KEY = "key"
PROFILE = "prof"
SNAPSHOT = "psnap"
WEBHOOK_ENDPOINT = "whep"
ARTIFACT = "art"
WEBHOOK_DELIVERY = "dlv"
# Standard Webhooks calls the id of one event sent to endpoints a message id (`webhook-id`).
WEBHOOK_MESSAGE = "msg"


def public_id(prefix: str, uuid: UUID) -> str:
    return f"{prefix}_{uuid}"


def new_uuid() -> UUID:
    return uuid4()


def parse_public_id(prefix: str, value: str) -> UUID | None:
    """The UUID inside `value` when it is a well-formed id of this type, else None."""
    head, sep, tail = value.partition("_")
    if not sep or head != prefix:
        return None
    try:
        return UUID(tail)
    except ValueError:
        return None
