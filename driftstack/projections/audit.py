"""The audit log: one entry per meaningful event, serving `GET /v1/audit-log`."""

from __future__ import annotations

from collections import OrderedDict
from functools import singledispatchmethod
from typing import Any
from uuid import UUID, uuid5

import asyncpg
from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from ..clock import iso
from ..domain.account import Account
from ..domain.api_key import ApiKey
from ..domain.artifact import Artifact
from ..domain.profile import Profile
from ..domain.profile_snapshot import ProfileSnapshot
from ..domain.session import Session
from ..domain.webhook_endpoint import WebhookEndpoint
from .view import View, ViewProjection

# The audit action each event is shown as; events not named here are bookkeeping
# (a concurrency slot taken or freed, a profile held or let go by a session, a name index)
# and stay out of the log.
ACTIONS: dict[type[Any], str] = {
    Session.Created: "session.created",
    Session.Provisioned: "session.ready",
    Session.Navigated: "session.navigated",
    Session.Interacted: "session.interacted",
    Session.Waited: "session.waited",
    Session.StateRead: "session.state_read",
    Session.Captured: "session.captured",
    Session.Evaluated: "session.evaluated",
    Session.ActionFailed: "session.action_failed",
    Session.Destroyed: "session.destroyed",
    Session.Errored: "session.errored",
    Account.Created: "account.created",
    Account.MemberAdded: "account.member_added",
    ApiKey.Issued: "api_key.created",
    ApiKey.Revoked: "api_key.revoked",
    WebhookEndpoint.Registered: "webhook_endpoint.created",
    WebhookEndpoint.Updated: "webhook_endpoint.updated",
    WebhookEndpoint.SecretRotated: "webhook_endpoint.secret_rotated",
    WebhookEndpoint.Disabled: "webhook_endpoint.disabled",
    WebhookEndpoint.Deleted: "webhook_endpoint.deleted",
    Profile.Created: "profile.created",
    Profile.Updated: "profile.updated",
    Profile.StateSaved: "profile.state_saved",
    Profile.Deleted: "profile.deleted",
    ProfileSnapshot.Created: "snapshot.created",
    ProfileSnapshot.Restored: "snapshot.restored",
    ProfileSnapshot.Deleted: "snapshot.deleted",
    Artifact.Created: "artifact.created",
    Artifact.Deleted: "artifact.deleted",
}
# Signing secrets never reach the log (a v1a endpoint's public key may); browser-state digests
# are storage addresses and the originator fields the event store's bookkeeping, not facts a
# reader of the log needs.
_NOT_PAYLOAD = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "api_key_id",
    "key_hash",
    "secret",
    "state",
}
PREFIXES = {
    "session": "ses",
    "account": "acc",
    "api_key": "key",
    "profile": "prof",
    "snapshot": "psnap",
    "webhook_endpoint": "whep",
    "artifact": "art",
}


def entry_id(originator_id: UUID, version: int) -> str:
    """The same event always yields the same entry id (a rebuilt log keeps its ids)."""
    return f"aud_{uuid5(originator_id, str(version))}"


class AuditLogView(View):
    ddl = (
        "CREATE TABLE IF NOT EXISTS audit_log ("
        " position bigint PRIMARY KEY, id text NOT NULL UNIQUE, account_id text NOT NULL,"
        " api_key_id text, action text NOT NULL, resource_type text NOT NULL,"
        " resource_id text NOT NULL, payload jsonb NOT NULL, occurred_at timestamptz NOT NULL)",
        "CREATE INDEX IF NOT EXISTS audit_by_account ON audit_log (account_id, position DESC)",
        "CREATE INDEX IF NOT EXISTS audit_by_resource ON audit_log (account_id, resource_id, position DESC)",
        "CREATE INDEX IF NOT EXISTS audit_by_action ON audit_log (account_id, action, position DESC)",
        # Later events of a session do not repeat its account: the log remembers it here.
        "CREATE TABLE IF NOT EXISTS audit_owners (resource_id text PRIMARY KEY, account_id text NOT NULL)",
    )


# Owners remembered in memory: a resource's owner never changes, and asking the view for it made
# every event of a session wait for a round trip inside its run.
_OWNERS_KEPT = 10_000


class AuditLogProjection(ViewProjection[AuditLogView]):
    name = "audit_log"
    handled_by_default = tuple(ACTIONS)

    def __init__(self, view: AuditLogView) -> None:
        super().__init__(view)
        self._owners: OrderedDict[str, str] = OrderedDict()

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        action = ACTIONS.get(type(domain_event))
        if action is None:
            self.apply(tracking)
            return
        resource_type, _ = action.split(".")
        prefix = PREFIXES[resource_type]
        resource_id = f"{prefix}_{domain_event.originator_id}"

        def write(curs: Cursor[DictRow]) -> None:
            account_id = self._owner(curs, domain_event, resource_type, resource_id)
            payload = {k: v for k, v in domain_event.__dict__.items() if k not in _NOT_PAYLOAD}
            curs.execute(
                "INSERT INTO audit_log (position, id, account_id, api_key_id, action,"
                " resource_type, resource_id, payload, occurred_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    tracking.notification_id,
                    entry_id(domain_event.originator_id, domain_event.originator_version),
                    account_id,
                    getattr(domain_event, "api_key_id", None),
                    action,
                    resource_type,
                    resource_id,
                    Jsonb(payload),
                    domain_event.timestamp,
                ),
            )

        self.apply(tracking, write)

    def _owner(self, curs: Cursor[DictRow], event: Any, resource_type: str, resource_id: str) -> str:
        if resource_type == "account":
            return resource_id
        owner = getattr(event, "account_id", None)
        if owner is not None:
            curs.execute(
                "INSERT INTO audit_owners VALUES (%s, %s) ON CONFLICT DO NOTHING", (resource_id, owner)
            )
            self._remember(resource_id, str(owner))
            return str(owner)
        if resource_id in self._owners:
            self._owners.move_to_end(resource_id)
            return self._owners[resource_id]
        curs.execute("SELECT account_id FROM audit_owners WHERE resource_id = %s", (resource_id,))
        row = curs.fetchone()
        if row is None:
            raise LookupError(f"audit log: no owner known for {resource_id}")
        self._remember(resource_id, str(row["account_id"]))
        return str(row["account_id"])

    def _remember(self, resource_id: str, owner: str) -> None:
        # Even from a run that does not commit: the owner is the event's own fact, true either way.
        self._owners[resource_id] = owner
        self._owners.move_to_end(resource_id)
        if len(self._owners) > _OWNERS_KEPT:
            self._owners.popitem(last=False)


class AuditLogReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self, account_id: str, *, limit: int, before: int | None, filters: dict[str, str]
    ) -> list[dict[str, Any]]:
        """Newest first; `before` is the position of the previous page's last entry."""
        clauses = ["account_id = $1"]
        args: list[Any] = [account_id]
        for column in ("resource_type", "resource_id", "action"):
            if column in filters:
                args.append(filters[column])
                clauses.append(f"{column} = ${len(args)}")
        if before is not None:
            args.append(before)
            clauses.append(f"position < ${len(args)}")
        args.append(limit)
        rows = await self._pool.fetch(
            "SELECT position, id, account_id, api_key_id, action, resource_type, resource_id,"
            f" payload, occurred_at FROM audit_log WHERE {' AND '.join(clauses)}"
            f" ORDER BY position DESC LIMIT ${len(args)}",
            *args,
        )
        return [
            {
                "id": r["id"],
                "account_id": r["account_id"],
                "api_key_id": r["api_key_id"],
                "action": r["action"],
                "resource_type": r["resource_type"],
                "resource_id": r["resource_id"],
                "payload": r["payload"],
                "occurred_at": iso(r["occurred_at"]),
                "_key": r["position"],
            }
            for r in rows
        ]
