"""The webhook use cases: what each /v1/webhooks endpoint does across events, the outbox and the network."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from ..access import Principal
from ..addresses import AddressPolicy
from ..application import Driftstack
from ..clock import iso, now
from ..consistency import ReadYourWrites
from ..domain import ids
from ..domain.errors import NotFound
from ..domain.webhook_endpoint import check_url
from ..projections.progress import Progress
from ..settings import Settings
from . import signing
from .event_types import TEST_EVENT_TYPE, ping_data
from .outbox import message_body
from .records import WebhookRecords
from .transport import Transport, check_url_host

T = TypeVar("T")


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    signature_scheme: str


class WebhookService:
    def __init__(
        self,
        app: Driftstack,
        records: WebhookRecords,
        progress: Progress,
        consistency: ReadYourWrites,
        transport: Transport,
        settings: Settings,
    ) -> None:
        self._app = app
        self._records = records
        self._progress = progress
        self._consistency = consistency
        self._transport = transport
        self._settings = settings
        self._addresses = AddressPolicy(allow_private=settings.webhook_allow_private)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def _check_url(self, url: str) -> None:
        check_url(url)
        await check_url_host(url, self._addresses)

    async def _after_write(self, who: Principal, nid: int, uuid: UUID) -> dict[str, Any]:
        self._consistency.wrote(who.account_id, nid)
        return await self.get(who, ids.public_id(ids.WEBHOOK_ENDPOINT, uuid))

    # Endpoints

    async def register(self, who: Principal, spec: NewEndpoint) -> dict[str, Any]:
        """The new endpoint with its `secret`: the only answer, besides a rotation, that shows it."""
        await self._check_url(spec.url)
        key = signing.new_key(spec.signature_scheme)
        endpoint, nid = await self._call(
            self._app.register_webhook_endpoint,
            who.account_id,
            who.api_key_id,
            spec.url,
            spec.event_types,
            spec.description,
            spec.enabled,
            key,
        )
        doc = await self._after_write(who, nid, endpoint.id)
        return {**doc, "secret": key.secret if key.scheme == "v1" else None}

    async def get(self, who: Principal, endpoint_id: str) -> dict[str, Any]:
        uuid = _endpoint_uuid(endpoint_id)
        await self._consistency.settle(who.account_id, self._progress)
        doc = await self._records.endpoint(who.account_id, uuid)
        if doc is None:
            raise NotFound("webhook endpoint", endpoint_id)
        return doc

    async def page(
        self, who: Principal, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[dict[str, Any]]:
        await self._consistency.settle(who.account_id, self._progress)
        return await self._records.endpoints_page(who.account_id, limit=limit, after=after)

    async def update(self, who: Principal, endpoint_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        if "url" in changes:
            await self._check_url(changes["url"])  # a body is judged before the id, as the handler does
        uuid = _endpoint_uuid(endpoint_id)
        _, nid = await self._call(
            self._app.update_webhook_endpoint, who.account_id, uuid, who.api_key_id, changes
        )
        return await self._after_write(who, nid, uuid)

    async def rotate(self, who: Principal, endpoint_id: str, scheme: str | None) -> dict[str, Any]:
        """A new key signs from now on; the previous one signs beside it until the grace period ends."""
        uuid = _endpoint_uuid(endpoint_id)
        current = await self.get(who, endpoint_id)
        key = signing.new_key(scheme or current["signature_scheme"])
        until = iso(now() + timedelta(seconds=self._settings.webhook_rotation_grace_s)) or ""
        _, nid = await self._call(
            self._app.rotate_webhook_secret, who.account_id, uuid, who.api_key_id, key, until
        )
        doc = await self._after_write(who, nid, uuid)
        return {**doc, "secret": key.secret if key.scheme == "v1" else None}

    async def delete(self, who: Principal, endpoint_id: str) -> None:
        uuid = _endpoint_uuid(endpoint_id)
        nid = await self._call(self._app.delete_webhook_endpoint, who.account_id, uuid, who.api_key_id)
        self._consistency.wrote(who.account_id, nid)

    # Deliveries

    async def deliveries(
        self, who: Principal, endpoint_id: str, *, limit: int, before: int | None, status: str | None
    ) -> list[dict[str, Any]]:
        await self.get(who, endpoint_id)
        return await self._records.deliveries_page(
            _endpoint_uuid(endpoint_id), limit=limit, before=before, status=status
        )

    async def redeliver(self, who: Principal, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
        await self.get(who, endpoint_id)
        uuid, delivery = _endpoint_uuid(endpoint_id), _delivery_uuid(delivery_id)
        if not await self._records.redeliver(uuid, delivery):
            raise NotFound("webhook delivery", delivery_id)
        found = await self._records.delivery(uuid, delivery)
        assert found is not None
        return found

    async def send_test(self, who: Principal, endpoint_id: str) -> dict[str, Any]:
        """Sends a signed `webhook.test` at once, whether or not the endpoint is enabled; one attempt."""
        endpoint = await self.get(who, endpoint_id)
        uuid = _endpoint_uuid(endpoint_id)
        message = ids.public_id(ids.WEBHOOK_MESSAGE, uuid4())
        body = message_body(message, TEST_EVENT_TYPE, now(), ping_data(endpoint["id"]))
        keys = await self._records.signing_keys(uuid)
        headers = signing.headers(keys, message, int(time.time()), body.encode())
        outcome = await self._transport.post(endpoint["url"], body.encode(), headers)
        delivery = await self._records.add_sent(uuid, who.account_id, message, TEST_EVENT_TYPE, body, outcome)
        found = await self._records.delivery(uuid, delivery)
        assert found is not None
        return found


def _endpoint_uuid(endpoint_id: str) -> UUID:
    uuid = ids.parse_public_id(ids.WEBHOOK_ENDPOINT, endpoint_id)
    if uuid is None:
        raise NotFound("webhook endpoint", endpoint_id)
    return uuid


def _delivery_uuid(delivery_id: str) -> UUID:
    uuid = ids.parse_public_id(ids.WEBHOOK_DELIVERY, delivery_id)
    if uuid is None:
        raise NotFound("webhook delivery", delivery_id)
    return uuid
