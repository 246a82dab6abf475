"""Webhook endpoint commands: registering, updating, rotating the secret of, disabling and deleting."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ..domain import ids
from ..domain.errors import NotFound
from ..domain.webhook_endpoint import SigningKey, WebhookEndpoint
from .commands import Commands


class WebhookEndpointCommands(Commands):
    def get_webhook_endpoint(self, uuid: UUID, account_id: str | None = None) -> WebhookEndpoint:
        """The endpoint, if it exists, is not deleted and (when named) belongs to `account_id`."""
        public = ids.public_id(ids.WEBHOOK_ENDPOINT, uuid)
        endpoint = self._get(WebhookEndpoint, uuid, "webhook endpoint", public)
        if endpoint.deleted or (account_id is not None and endpoint.account_id != account_id):
            raise NotFound("webhook endpoint", public)
        return endpoint

    def register_webhook_endpoint(
        self,
        account_id: str,
        api_key_id: str | None,
        url: str,
        event_types: list[str],
        description: str | None,
        enabled: bool,
        key: SigningKey,
    ) -> tuple[WebhookEndpoint, int]:
        endpoint = WebhookEndpoint.register(
            account_id=account_id,
            api_key_id=api_key_id,
            url=url,
            event_types=event_types,
            description=description,
            enabled=enabled,
            key=key,
        )
        return endpoint, self._save(endpoint)

    def update_webhook_endpoint(
        self, account_id: str, uuid: UUID, api_key_id: str | None, changes: dict[str, Any]
    ) -> tuple[WebhookEndpoint, int]:
        def command() -> tuple[WebhookEndpoint, int]:
            endpoint = self.get_webhook_endpoint(uuid, account_id)
            endpoint.update(api_key_id, changes)
            return endpoint, self._save(endpoint)

        return self._retrying(command)

    def rotate_webhook_secret(
        self, account_id: str, uuid: UUID, api_key_id: str | None, key: SigningKey, previous_valid_until: str
    ) -> tuple[WebhookEndpoint, int]:
        def command() -> tuple[WebhookEndpoint, int]:
            endpoint = self.get_webhook_endpoint(uuid, account_id)
            endpoint.rotate(api_key_id, key, previous_valid_until)
            return endpoint, self._save(endpoint)

        return self._retrying(command)

    def disable_webhook_endpoint(self, uuid: UUID, reason: str, detail: str) -> int:
        """Disabled by the dispatcher (410 Gone, or failing for too long): an event, so it is audited."""

        def command() -> int:
            endpoint = self._get(WebhookEndpoint, uuid, "webhook endpoint", f"whep_{uuid}")
            if not endpoint.disable(reason, detail):
                return 0
            return self._save(endpoint)

        return self._retrying(command)

    def delete_webhook_endpoint(self, account_id: str, uuid: UUID, api_key_id: str | None) -> int:
        def command() -> int:
            endpoint = self.get_webhook_endpoint(uuid, account_id)
            endpoint.delete(api_key_id)
            return self._save(endpoint)

        return self._retrying(command)
