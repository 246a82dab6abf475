"""The outbox's tables through asyncpg: endpoint and delivery reads, claims, attempts, redeliveries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from ..clock import iso, now
from ..domain import ids
from ..domain.errors import Conflict
from ..domain.webhook_endpoint import SigningKey
from ..projections.keyset import newest_first
from ..store import SCHEMA_LOCK
from .outbox import CHANNEL, WebhookOutboxView, open_keys
from .secret_box import SecretBox
from .transport import Outcome

_ENDPOINT_COLUMNS = (
    "id, account_id, url, event_types, description, enabled, disabled_reason, signature_scheme,"
    " public_key, previous_valid_until, created_at, updated_at"
)
_DELIVERY_COLUMNS = (
    "seq, id, endpoint_id, message_id, event_type, body, created_at, status, attempt_count,"
    " next_attempt_at, claimed_until, last_attempt_at"
)

# For the connection that claims: walk the due index in order and stop after the rows taken. Without
# fresh statistics (a burst into a young table) the planner would rather fetch every due row, sort
# them, and read every dead index entry the burst left behind, on every claim: the cost of a claim
# then grows with the backlog and the history, and a burst is sent ever more slowly.
CLAIM_SETTINGS = {"enable_bitmapscan": "off"}

# Takes the first `$1` due deliveries of enabled endpoints for `$3` seconds. The endpoint is checked
# row by row through its primary key, so the walk down the due index stops after `$1` rows and never
# joins every due row to every endpoint.
_CLAIM = (
    "WITH due AS ("
    " SELECT d.id FROM webhook_deliveries d"
    " WHERE d.status = 'pending' AND d.next_attempt_at <= now()"
    "  AND (d.claimed_until IS NULL OR d.claimed_until < now())"
    "  AND (SELECT e.enabled AND e.deleted_at IS NULL FROM webhook_endpoints e WHERE e.id = d.endpoint_id)"
    " ORDER BY d.next_attempt_at, d.seq LIMIT $1 FOR UPDATE SKIP LOCKED),"
    " claimed AS ("
    " UPDATE webhook_deliveries d SET claimed_by = $2, claim_id = gen_random_uuid(),"
    "  claimed_until = now() + make_interval(secs => $3)"
    " FROM due WHERE d.id = due.id"
    " RETURNING d.id, d.claim_id, d.endpoint_id, d.account_id, d.message_id, d.body, d.step,"
    "  d.next_attempt_at, d.seq)"
    " SELECT c.*, e.url, e.signing_keys FROM claimed c JOIN webhook_endpoints e ON e.id = c.endpoint_id"
    " ORDER BY c.next_attempt_at, c.seq"
)

# Records one attempt ($1 delivery, $2 the claim it was sent under, $3 ok, $4 seconds until the next
# attempt or NULL: give up) and its endpoint's health. `ours` is whether the claim is still this
# dispatcher's, read from the row as locked (a lease that ran out may have gone to another dispatcher).
_OURS = "claim_id = $2"
_RECORD = (
    "WITH delivery AS ("
    " UPDATE webhook_deliveries SET attempt_count = attempt_count + 1, last_attempt_at = now(),"
    f"  status = CASE WHEN $3 THEN 'succeeded' WHEN {_OURS}"
    "   THEN CASE WHEN $4::float8 IS NULL THEN 'failed' ELSE 'pending' END ELSE status END,"
    f"  step = CASE WHEN {_OURS} THEN step + 1 ELSE step END,"
    f"  next_attempt_at = CASE WHEN {_OURS} AND $4::float8 IS NOT NULL"
    "   THEN now() + make_interval(secs => $4::float8) ELSE next_attempt_at END,"
    f"  claimed_by = CASE WHEN {_OURS} OR $3 THEN NULL ELSE claimed_by END,"
    f"  claim_id = CASE WHEN {_OURS} OR $3 THEN NULL ELSE claim_id END,"
    f"  claimed_until = CASE WHEN {_OURS} OR $3 THEN NULL ELSE claimed_until END"
    " WHERE id = $1 RETURNING attempt_count, status),"
    " attempt AS ("
    " INSERT INTO webhook_attempts (delivery_id, n, attempted_at, duration_ms, response_status,"
    "  response_body, error, dispatcher)"
    " SELECT $1, attempt_count, now() - make_interval(secs => $5::float8 / 1000), $5, $6, $7, $8, $9"
    " FROM delivery),"
    " endpoint AS ("
    " UPDATE webhook_endpoints SET last_success_at = CASE WHEN $3 THEN now() ELSE last_success_at END,"
    "  failing_since = CASE WHEN $3 THEN NULL ELSE COALESCE(failing_since, now()) END"
    " WHERE id = $10 AND EXISTS (SELECT FROM delivery)"
    " RETURNING NOT $3 AND failing_since <= now() - make_interval(secs => $11) AS failing_too_long)"
    " SELECT status, (SELECT failing_too_long FROM endpoint) FROM delivery"
)


@dataclass(frozen=True)
class Claimed:
    """A delivery this dispatcher holds until its lease ends: what to send, where, signed with what."""

    id: UUID
    claim_id: UUID
    endpoint_id: UUID
    account_id: str
    url: str
    message_id: str
    body: str
    step: int
    keys: tuple[SigningKey, ...]


@dataclass(frozen=True)
class Recorded:
    """What recording an attempt left behind."""

    status: str
    failing_too_long: bool


def endpoint_document(row: asyncpg.Record) -> dict[str, Any]:
    grace = row["previous_valid_until"]
    return {
        "id": ids.public_id(ids.WEBHOOK_ENDPOINT, row["id"]),
        "account_id": row["account_id"],
        "url": row["url"],
        "event_types": list(row["event_types"]),
        "description": row["description"],
        "enabled": row["enabled"],
        "disabled_reason": row["disabled_reason"],
        "signature_scheme": row["signature_scheme"],
        "public_key": row["public_key"],
        "previous_secret_expires_at": iso(grace) if grace is not None and grace > now() else None,
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _delivery_status(row: asyncpg.Record) -> str:
    if row["status"] == "pending" and row["claimed_until"] is not None and row["claimed_until"] > now():
        return "delivering"
    return str(row["status"])


def delivery_document(row: asyncpg.Record, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    pending = row["status"] == "pending"
    return {
        "id": ids.public_id(ids.WEBHOOK_DELIVERY, row["id"]),
        "endpoint_id": ids.public_id(ids.WEBHOOK_ENDPOINT, row["endpoint_id"]),
        "message_id": row["message_id"],
        "event_type": row["event_type"],
        "status": _delivery_status(row),
        "attempt_count": row["attempt_count"],
        "next_attempt_at": iso(row["next_attempt_at"]) if pending else None,
        "last_attempt_at": iso(row["last_attempt_at"]),
        "created_at": iso(row["created_at"]),
        "payload": json.loads(row["body"]),
        "attempts": attempts,
    }


def _attempt_document(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "attempted_at": iso(row["attempted_at"]),
        "response_status": row["response_status"],
        "duration_ms": row["duration_ms"],
        "response_body": row["response_body"],
        "error": row["error"],
    }


class WebhookRecords:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox) -> None:
        self._pool = pool
        self._box = box

    async def ensure_tables(self) -> None:
        """The outbox's tables, for a dispatcher that starts before any `serve` has created them."""
        async with self._pool.acquire() as conn:
            # The store's one schema lock: DDL of any process at the same moment fails with `tuple
            # concurrently updated` (a dispatcher starts beside its `serve` and the operator's commands).
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", SCHEMA_LOCK)
            try:
                for statement in WebhookOutboxView.ddl:
                    await conn.execute(statement)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", SCHEMA_LOCK)

    # Endpoints

    async def endpoint(self, account_id: str, endpoint_id: UUID) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints"
            " WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL",
            endpoint_id,
            account_id,
        )
        return endpoint_document(row) if row is not None else None

    async def endpoints_page(
        self, account_id: str, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[dict[str, Any]]:
        """Newest first; `after` is the (created_at, id) of the previous page's last endpoint."""
        query, args = newest_first(
            _ENDPOINT_COLUMNS,
            "webhook_endpoints",
            sort="created_at",
            where=[("account_id = {}", account_id)],
            after=after,
            limit=limit,
            always="deleted_at IS NULL",
        )
        rows = await self._pool.fetch(query, *args)
        return [{**endpoint_document(r), "_key": (r["created_at"], r["id"])} for r in rows]

    async def signing_keys(self, endpoint_id: UUID) -> tuple[SigningKey, ...]:
        sealed = await self._pool.fetchval(
            "SELECT signing_keys FROM webhook_endpoints WHERE id = $1", endpoint_id
        )
        return self._valid_keys(endpoint_id, sealed)

    def _valid_keys(self, endpoint_id: UUID, sealed: bytes) -> tuple[SigningKey, ...]:
        moment = iso(now()) or ""
        return tuple(
            SigningKey(k["scheme"], k["secret"])
            for k in open_keys(self._box, endpoint_id, sealed)
            if k["valid_until"] is None or k["valid_until"] > moment
        )

    # Deliveries, as the API shows them

    async def deliveries_page(
        self, endpoint_id: UUID, *, limit: int, before: int | None, status: str | None
    ) -> list[dict[str, Any]]:
        """Newest first; `before` is the previous page's last sequence number."""
        args: list[Any] = [endpoint_id, limit]
        where = "endpoint_id = $1"
        if before is not None:
            args.append(before)
            where += f" AND seq < ${len(args)}"
        if status is not None:
            args.append("pending" if status == "delivering" else status)
            where += f" AND status = ${len(args)}"
        rows = await self._pool.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where} ORDER BY seq DESC LIMIT $2",
            *args,
        )
        if status in ("pending", "delivering"):
            rows = [r for r in rows if _delivery_status(r) == status]
        attempts = await self._attempts([r["id"] for r in rows])
        return [{**delivery_document(r, attempts.get(r["id"], [])), "_key": r["seq"]} for r in rows]

    async def delivery(self, endpoint_id: UUID, delivery: UUID) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2",
            delivery,
            endpoint_id,
        )
        if row is None:
            return None
        attempts = await self._attempts([delivery])
        return delivery_document(row, attempts.get(delivery, []))

    async def _attempts(self, deliveries: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
        if not deliveries:
            return {}
        rows = await self._pool.fetch(
            "SELECT delivery_id, n, attempted_at, response_status, duration_ms, response_body, error"
            " FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, n",
            deliveries,
        )
        grouped: dict[UUID, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["delivery_id"], []).append(_attempt_document(row))
        return grouped

    async def redeliver(self, endpoint_id: UUID, delivery: UUID) -> bool:
        """Due again now, on a fresh retry schedule; False if there is no such delivery.

        A delivery being sent at this moment answers Conflict: its outcome is not known yet.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT status, claimed_until > now() AS in_flight FROM webhook_deliveries"
                " WHERE id = $1 AND endpoint_id = $2 FOR UPDATE",
                delivery,
                endpoint_id,
            )
            if row is None:
                return False
            if row["status"] == "pending" and row["in_flight"]:
                raise Conflict(
                    "the delivery is being sent right now; redeliver it once this attempt has ended"
                )
            await conn.execute(
                "UPDATE webhook_deliveries SET status = 'pending', step = 0, next_attempt_at = now()"
                " WHERE id = $1",
                delivery,
            )
            await conn.execute(f"NOTIFY {CHANNEL}")
        return True

    async def add_sent(
        self,
        endpoint_id: UUID,
        account_id: str,
        message_id: str,
        event_type: str,
        body: str,
        outcome: Outcome,
    ) -> UUID:
        """Records a message sent once, outside the outbox (a test ping), with its one attempt."""
        delivery = uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO webhook_deliveries (id, endpoint_id, account_id, message_id, event_type, body,"
                " created_at, status, step, attempt_count, next_attempt_at, last_attempt_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, now(), $7, 1, 1, now(), now())",
                delivery,
                endpoint_id,
                account_id,
                message_id,
                event_type,
                body,
                "succeeded" if outcome.ok else "failed",
            )
            await self._insert_attempt(conn, delivery, 1, outcome, "api")
        return delivery

    # Dispatching

    async def claim(
        self, dispatcher: str, limit: int, lease_s: float, conn: asyncpg.Connection | None = None
    ) -> list[Claimed]:
        """Takes up to `limit` due deliveries of enabled endpoints for `lease_s` seconds.

        `SKIP LOCKED` lets dispatchers claim side by side without waiting for or taking each
        other's rows; a row whose lease ran out (its dispatcher died) is due again. `conn` is the
        dispatcher's own connection (see CLAIM_SETTINGS), when it has one; else the pool's.
        """
        rows = await (conn or self._pool).fetch(_CLAIM, limit, dispatcher, lease_s)
        return [
            Claimed(
                id=r["id"],
                claim_id=r["claim_id"],
                endpoint_id=r["endpoint_id"],
                account_id=r["account_id"],
                url=r["url"],
                message_id=r["message_id"],
                body=r["body"],
                step=r["step"],
                keys=self._valid_keys(r["endpoint_id"], r["signing_keys"]),
            )
            for r in rows
        ]

    async def record(
        self,
        claimed: Claimed,
        dispatcher: str,
        outcome: Outcome,
        retry_in_s: float | None,
        disable_after_s: float,
    ) -> Recorded:
        """Records one attempt and what follows it: delivered, due again in `retry_in_s`, or failed for good.

        The schedule moves only while this dispatcher still holds the claim; a success counts whoever holds it.
        One statement, so one round trip: the delivery's row is locked, then its endpoint's, as before.
        """
        row = await self._pool.fetchrow(
            _RECORD,
            claimed.id,
            claimed.claim_id,
            outcome.ok,
            retry_in_s,
            outcome.duration_ms,
            outcome.status,
            outcome.body,
            outcome.error,
            dispatcher,
            claimed.endpoint_id,
            disable_after_s,
        )
        assert row is not None
        return Recorded(row["status"], failing_too_long=bool(row["failing_too_long"]))

    @staticmethod
    async def _insert_attempt(
        conn: asyncpg.Connection, delivery: UUID, n: int, outcome: Outcome, dispatcher: str
    ) -> None:
        await conn.execute(
            "INSERT INTO webhook_attempts (delivery_id, n, attempted_at, duration_ms, response_status,"
            " response_body, error, dispatcher)"
            " VALUES ($1, $2, now() - make_interval(secs => $3::float8 / 1000), $3, $4, $5, $6, $7)",
            delivery,
            n,
            outcome.duration_ms,
            outcome.status,
            outcome.body,
            outcome.error,
            dispatcher,
        )

    async def seconds_until_due(self) -> float | None:
        """How long until some delivery becomes claimable (due, or its lease running out); None: none pending."""
        value = await self._pool.fetchval(
            "SELECT EXTRACT(EPOCH FROM min(GREATEST(d.next_attempt_at, COALESCE(d.claimed_until, d.next_attempt_at)))"
            " - now()) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            " WHERE d.status = 'pending' AND e.enabled AND e.deleted_at IS NULL"
        )
        return None if value is None else max(0.0, float(value))

    # Draining (a stopping service)

    async def last_seq(self) -> int:
        """Where the outbox ends now: every delivery enqueued later has a higher `seq`."""
        return int(await self._pool.fetchval("SELECT COALESCE(max(seq), 0) FROM webhook_deliveries"))

    async def pending_between(self, after_seq: int, upto_seq: int, due_within_s: float | None = None) -> int:
        """Deliveries enqueued in (`after_seq`, `upto_seq`] still to send (within `due_within_s` seconds)."""
        value = await self._pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            " WHERE d.seq > $1 AND d.seq <= $2 AND d.status = 'pending' AND e.enabled AND e.deleted_at IS NULL"
            " AND ($3::float8 IS NULL OR d.next_attempt_at <= now() + make_interval(secs => $3::float8))",
            after_seq,
            upto_seq,
            None if due_within_s is None else max(due_within_s, 0.0),
        )
        return int(value)
