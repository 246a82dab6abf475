"""What handlers reach through the aiohttp application, and who is calling."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web

from ..access import Authenticator, Principal
from ..actions import SessionActions
from ..api_keys import KeyService
from ..artifacts import ArtifactService
from ..consistency import ReadYourWrites
from ..drivers.engines import Engines
from ..inspection import SessionInspection
from ..profiles import ProfileService
from ..projections.audit import AuditLogReader
from ..projections.progress import Progress
from ..sessions import SessionService
from ..settings import Settings
from ..socket_sessions import SocketSessions
from ..webhooks.endpoints import WebhookService

ACCOUNT_HEADER = "X-Driftstack-Account"
# The WebSocket's name for the same header (seed 004's examples pass it); it wins where both are sent.
TENANT_HEADER = "X-Tenant-Id"


@dataclass(frozen=True)
class Services:
    settings: Settings
    authenticator: Authenticator
    sessions: SessionService
    actions: SessionActions
    sockets: SocketSessions
    inspection: SessionInspection
    artifacts: ArtifactService
    profiles: ProfileService
    audit: AuditLogReader
    audit_progress: Progress
    consistency: ReadYourWrites
    driver: Engines
    webhooks: WebhookService
    keys: KeyService


SERVICES = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def credentials(request: web.Request, *, socket: bool = False) -> tuple[str | None, str | None]:
    """The bearer key and the account it acts for, as the request names them (a socket's upgrade
    also by `X-Tenant-Id`)."""
    header = request.headers.get("Authorization", "")
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
    acting_for = request.headers.get(ACCOUNT_HEADER)
    if socket:
        acting_for = request.headers.get(TENANT_HEADER, acting_for)
    return bearer, acting_for


async def caller(request: web.Request, scope: str, *, socket: bool = False) -> Principal:
    """Authenticates the bearer key and checks it carries `scope`."""
    bearer, acting_for = credentials(request, socket=socket)
    # Any other spelling than an account the key may act on, empty and malformed included, is the
    # one 403: a 400 for a malformed id would come before the key is checked, and say more.
    who = await services(request).authenticator.principal(bearer, acting_for)
    who.require(scope)
    structlog.contextvars.bind_contextvars(account_id=who.account_id, api_key_id=who.api_key_id)
    return who
