"""The webhook outbox: a projection writing one delivery row per subscribed endpoint for each webhook event.

It keeps its own copy of what it needs (endpoints, live session documents, profiles) from the events, so
what it enqueues depends only on its position in the stream, never on another view's progress;
and it has its own tracking name, so rebuilding the read models never sends a webhook again.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from ..clock import iso, parse_iso
from ..domain import ids
from ..domain.profile import Profile
from ..domain.session import Session
from ..domain.webhook_endpoint import UPDATABLE, WebhookEndpoint
from ..projections.profiles import PROFILE_FIELDS, new_profile_document, profile_changes
from ..projections.sessions import new_session_document, patch_for, write_patch
from ..projections.storable import storable_document
from ..projections.view import View, ViewProjection
from .secret_box import SecretBox

# Woken by the dispatcher's LISTEN: sent inside the transaction that adds rows, so it arrives at commit.
CHANNEL = "driftstack_webhook_deliveries"

# The webhook type each session event is sent as.
SESSION_TYPES: dict[type[Any], str] = {
    Session.Created: "session.created",
    Session.Provisioned: "session.ready",
    Session.Destroyed: "session.completed",
    Session.Errored: "session.failed",
}


def message_id(originator_id: UUID, version: int) -> str:
    """The same event always has the same id (`webhook-id`), across retries, redeliveries and replays."""
    return ids.public_id(ids.WEBHOOK_MESSAGE, uuid5(originator_id, f"webhook:{version}"))


def delivery_id(endpoint_id: UUID, message: str) -> UUID:
    return uuid5(endpoint_id, message)


def message_body(message: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
    """The exact bytes sent and signed: compact JSON, built once and stored."""
    payload = {"id": message, "type": event_type, "created_at": iso(created_at), "data": data}
    return json.dumps(payload, separators=(",", ":"))


class WebhookOutboxView(View):
    ddl = (
        "CREATE TABLE IF NOT EXISTS webhook_endpoints ("
        " id uuid PRIMARY KEY, account_id text NOT NULL, url text NOT NULL, event_types text[] NOT NULL,"
        " description text, enabled boolean NOT NULL, disabled_reason text,"
        " signature_scheme text NOT NULL, public_key text, previous_valid_until timestamptz,"
        " signing_keys bytea NOT NULL,"  # sealed (AES-GCM): never plaintext at rest
        " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, deleted_at timestamptz,"
        # Written by dispatchers: how long the endpoint has failed without a success.
        " failing_since timestamptz, last_success_at timestamptz)",
        "CREATE INDEX IF NOT EXISTS webhook_endpoints_by_account"
        " ON webhook_endpoints (account_id, created_at DESC, id DESC)",
        # The outbox's own session documents, of live sessions only (a session's row goes when it ends).
        "CREATE TABLE IF NOT EXISTS webhook_sessions ("
        " id uuid PRIMARY KEY, account_id text NOT NULL, status text NOT NULL, doc jsonb NOT NULL)",
        # And of existing profiles, so `profile.deleted` can carry the profile as it was.
        "CREATE TABLE IF NOT EXISTS webhook_profiles ("
        " id uuid PRIMARY KEY, account_id text NOT NULL, doc jsonb NOT NULL)",
        "CREATE TABLE IF NOT EXISTS webhook_deliveries ("
        " seq bigserial UNIQUE, id uuid PRIMARY KEY, endpoint_id uuid NOT NULL, account_id text NOT NULL,"
        " message_id text NOT NULL, event_type text NOT NULL, body text NOT NULL,"
        " created_at timestamptz NOT NULL,"
        " status text NOT NULL,"  # pending | succeeded | failed | cancelled
        " step int NOT NULL DEFAULT 0,"  # attempts made on the current retry schedule
        " attempt_count int NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL,"
        " claimed_by text, claim_id uuid, claimed_until timestamptz, last_attempt_at timestamptz)",
        # In the claim's order, so a claim reads the few rows it takes, not every due row.
        "DROP INDEX IF EXISTS webhook_deliveries_due",
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_due_in_order ON webhook_deliveries"
        " (next_attempt_at, seq) WHERE status = 'pending'",
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, seq DESC)",
        "CREATE TABLE IF NOT EXISTS webhook_attempts ("
        " delivery_id uuid NOT NULL, n int NOT NULL, attempted_at timestamptz NOT NULL,"
        " duration_ms int NOT NULL, response_status int, response_body text, error text,"
        " dispatcher text NOT NULL, PRIMARY KEY (delivery_id, n))",
    )


def sealed_keys(box: SecretBox, endpoint_id: UUID, keys: list[dict[str, Any]]) -> bytes:
    return box.seal(keys, ids.public_id(ids.WEBHOOK_ENDPOINT, endpoint_id))


def open_keys(box: SecretBox, endpoint_id: UUID, sealed: bytes) -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = box.open(sealed, ids.public_id(ids.WEBHOOK_ENDPOINT, endpoint_id))
    return keys


class WebhookOutboxProjection(ViewProjection[WebhookOutboxView]):
    name = "webhook_outbox"
    handled_by_default = tuple(t for t in patch_for.registry if t is not object)
    secret_box: ClassVar[SecretBox | None] = None

    def _box(self) -> SecretBox:
        if self.secret_box is None:
            raise RuntimeError("the webhook outbox needs the service's secret key (secret_box)")
        return self.secret_box

    # Sessions

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        patch = patch_for(domain_event)
        if patch is None:
            self.apply(tracking)
            return
        event_type = SESSION_TYPES.get(type(domain_event))

        def write(curs: Cursor[DictRow]) -> None:
            if event_type is None:
                # An action: no message, so no need to read the document back (a round trip a run
                # waits for); the session's next message carries what it changed.
                write_patch(curs, "webhook_sessions", domain_event, patch, returning=False)
                return
            doc = write_patch(curs, "webhook_sessions", domain_event, patch)
            if doc is None:
                return
            self._enqueue(curs, domain_event, event_type, doc["account_id"], doc)
            if doc["status"] in ("destroyed", "errored"):
                curs.execute("DELETE FROM webhook_sessions WHERE id = %s", (domain_event.originator_id,))

        self.apply(tracking, write)

    @process_event.register
    def _session_created(self, event: Session.Created, tracking: Tracking) -> None:
        # As the views store it, so `data` is the same in this message and in the session's later ones.
        doc = storable_document(
            new_session_document(session_id=event.originator_id, created_at=event.timestamp, **event.__dict__)
        )

        def write(curs: Cursor[DictRow]) -> None:
            curs.execute(
                "INSERT INTO webhook_sessions (id, account_id, status, doc) VALUES (%s, %s, 'creating', %s)"
                " ON CONFLICT (id) DO NOTHING",
                (event.originator_id, event.account_id, Jsonb(doc)),
            )
            self._enqueue(curs, event, "session.created", event.account_id, doc)

        self.apply(tracking, write)

    # Profiles

    @process_event.register
    def _profile_created(self, event: Profile.Created, tracking: Tracking) -> None:
        doc = storable_document({**new_profile_document(event), "account_id": event.account_id})

        def write(curs: Cursor[DictRow]) -> None:
            curs.execute(
                "INSERT INTO webhook_profiles (id, account_id, doc) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (event.originator_id, event.account_id, Jsonb(doc)),
            )
            self._enqueue(curs, event, "profile.created", event.account_id, doc)

        self.apply(tracking, write)

    @process_event.register(Profile.Updated)
    @process_event.register(Profile.Taken)
    def _profile_changed(self, event: Profile.Updated | Profile.Taken, tracking: Tracking) -> None:
        changes = profile_changes(event)
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "UPDATE webhook_profiles SET doc = doc || %s WHERE id = %s",
                (Jsonb(changes), event.originator_id),
            ),
        )

    @process_event.register
    def _profile_deleted(self, event: Profile.Deleted, tracking: Tracking) -> None:
        def write(curs: Cursor[DictRow]) -> None:
            curs.execute(
                "DELETE FROM webhook_profiles WHERE id = %s RETURNING account_id, doc", (event.originator_id,)
            )
            row = curs.fetchone()
            if row is None:
                return
            doc = {name: row["doc"].get(name) for name in (*PROFILE_FIELDS, "account_id")}
            self._enqueue(curs, event, "profile.deleted", row["account_id"], doc)

        self.apply(tracking, write)

    def _enqueue(
        self, curs: Cursor[DictRow], event: Any, event_type: str, account_id: str, data: dict[str, Any]
    ) -> None:
        """One pending delivery per endpoint enabled and subscribed to `event_type` at this position."""
        curs.execute(
            "SELECT id FROM webhook_endpoints WHERE account_id = %s AND enabled AND deleted_at IS NULL"
            " AND %s = ANY(event_types)",
            (account_id, event_type),
        )
        endpoints = [row["id"] for row in curs.fetchall()]
        if not endpoints:
            return
        message = message_id(event.originator_id, event.originator_version)
        body = message_body(message, event_type, event.timestamp, data)
        # One round trip for all of them (a pipeline), however many endpoints subscribe.
        curs.executemany(
            "INSERT INTO webhook_deliveries (id, endpoint_id, account_id, message_id, event_type, body,"
            " created_at, status, next_attempt_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, 'pending', now()) ON CONFLICT (id) DO NOTHING",
            [
                (
                    delivery_id(endpoint_id, message),
                    endpoint_id,
                    account_id,
                    message,
                    event_type,
                    body,
                    event.timestamp,
                )
                for endpoint_id in endpoints
            ],
        )
        curs.execute(f"NOTIFY {CHANNEL}")

    # Endpoints

    @process_event.register
    def _registered(self, event: WebhookEndpoint.Registered, tracking: Tracking) -> None:
        keys = [{"scheme": event.signature_scheme, "secret": event.secret, "valid_until": None}]
        sealed = sealed_keys(self._box(), event.originator_id, keys)
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "INSERT INTO webhook_endpoints (id, account_id, url, event_types, description, enabled,"
                " signature_scheme, public_key, signing_keys, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (
                    event.originator_id,
                    event.account_id,
                    event.url,
                    event.event_types,
                    event.description,
                    event.enabled,
                    event.signature_scheme,
                    event.public_key,
                    sealed,
                    event.timestamp,
                    event.timestamp,
                ),
            ),
        )

    @process_event.register
    def _updated(self, event: WebhookEndpoint.Updated, tracking: Tracking) -> None:
        changes = {name: value for name, value in event.changes.items() if name in UPDATABLE}
        assignments = [f"{column} = %({column})s" for column in changes]
        params = {**changes, "id": event.originator_id, "at": event.timestamp}
        if changes.get("enabled"):
            # Re-enabled: the days without success start again, and the disabling reason goes.
            assignments += ["disabled_reason = NULL", "failing_since = NULL"]
        self.apply(
            tracking,
            lambda curs: curs.execute(
                f"UPDATE webhook_endpoints SET {', '.join(assignments)}, updated_at = %(at)s WHERE id = %(id)s",
                params,
            ),
        )

    @process_event.register
    def _secret_rotated(self, event: WebhookEndpoint.SecretRotated, tracking: Tracking) -> None:
        box = self._box()

        def write(curs: Cursor[DictRow]) -> None:
            curs.execute(
                "SELECT signing_keys FROM webhook_endpoints WHERE id = %s FOR UPDATE", (event.originator_id,)
            )
            row = curs.fetchone()
            if row is None:
                return
            current = [
                k for k in open_keys(box, event.originator_id, row["signing_keys"]) if not k["valid_until"]
            ]
            keys = [
                {"scheme": event.signature_scheme, "secret": event.secret, "valid_until": None},
                *({**k, "valid_until": event.previous_valid_until} for k in current),
            ]
            curs.execute(
                "UPDATE webhook_endpoints SET signing_keys = %s, signature_scheme = %s, public_key = %s,"
                " previous_valid_until = %s, updated_at = %s WHERE id = %s",
                (
                    sealed_keys(box, event.originator_id, keys),
                    event.signature_scheme,
                    event.public_key,
                    parse_iso(event.previous_valid_until),
                    event.timestamp,
                    event.originator_id,
                ),
            )

        self.apply(tracking, write)

    @process_event.register
    def _disabled(self, event: WebhookEndpoint.Disabled, tracking: Tracking) -> None:
        self.apply(
            tracking,
            lambda curs: curs.execute(
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = %s, updated_at = %s"
                " WHERE id = %s",
                (event.reason, event.timestamp, event.originator_id),
            ),
        )

    @process_event.register
    def _deleted(self, event: WebhookEndpoint.Deleted, tracking: Tracking) -> None:
        def write(curs: Cursor[DictRow]) -> None:
            curs.execute(
                "UPDATE webhook_endpoints SET enabled = false, deleted_at = %s, updated_at = %s WHERE id = %s",
                (event.timestamp, event.timestamp, event.originator_id),
            )
            curs.execute(
                "UPDATE webhook_deliveries SET status = 'cancelled' WHERE endpoint_id = %s AND status = 'pending'",
                (event.originator_id,),
            )

        self.apply(tracking, write)
