"""The composition root: builds the store, application, projections, driver and HTTP app."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from aiohttp import web

from .access import Authenticator
from .application import Driftstack
from .consistency import ReadYourWrites
from .drivers import build_driver
from .drivers.base import DriverUnavailable
from .http import account, audit, health, openapi, profile_snapshots, profiles, sessions, webhooks
from .http.context import SERVICES, Services
from .http.middleware import request_context
from .profiles import ProfileService
from .projections.accounts import AccountsProjection, AccountsReader, AccountsView
from .projections.audit import AuditLogProjection, AuditLogReader, AuditLogView
from .projections.profiles import ProfilesProjection, ProfilesReader, ProfilesView
from .projections.runner import SupervisedProjection
from .projections.sessions import SessionsProjection, SessionsReader, SessionsView
from .sessions import SessionService
from .settings import Settings
from .store import Store, open_store
from .webhooks.dispatcher import Dispatcher
from .webhooks.endpoints import WebhookService
from .webhooks.outbox import WebhookOutboxProjection, WebhookOutboxView
from .webhooks.records import WebhookRecords
from .webhooks.secret_box import SecretBox
from .webhooks.transport import Transport

log = structlog.get_logger()

_CATCH_UP_LOG_EVERY_S = 5.0
# A view that cannot catch up (an event it keeps failing on) must not keep the API down for good.
_CATCH_UP_LIMIT_S = 600.0


@dataclass
class Projections:
    sessions: SupervisedProjection
    audit: SupervisedProjection
    accounts: SupervisedProjection
    webhook_outbox: SupervisedProjection
    profiles: SupervisedProjection

    def all(self) -> list[SupervisedProjection]:
        return [self.sessions, self.audit, self.accounts, self.profiles, self.webhook_outbox]


def start_projections(env: dict[str, str], box: SecretBox) -> Projections:
    projections = Projections(
        sessions=SupervisedProjection(SessionsProjection, SessionsView, Driftstack, env),
        audit=SupervisedProjection(AuditLogProjection, AuditLogView, Driftstack, env),
        accounts=SupervisedProjection(AccountsProjection, AccountsView, Driftstack, env),
        webhook_outbox=SupervisedProjection(
            WebhookOutboxProjection, WebhookOutboxView, Driftstack, env, attributes={"secret_box": box}
        ),
        profiles=SupervisedProjection(ProfilesProjection, ProfilesView, Driftstack, env),
    )
    for projection in projections.all():
        projection.start()
    return projections


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def build_app(settings: Settings, store: Store | None = None) -> web.Application:
    """Everything the service runs, started; all of it stops with the aiohttp app's cleanup."""
    if store is None:
        store = await asyncio.to_thread(open_store, settings)
    env = store.eventsourcing_env(pool_size=settings.pool_size)
    application = await asyncio.to_thread(Driftstack, env)
    box = SecretBox.from_service_key(store.cipher_key)
    # A projection reads and writes one event at a time: one connection per pool is enough, and
    # five projections with the library's default pools would hold ~30 idle connections a process.
    projection_env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    projections = await asyncio.to_thread(start_projections, projection_env, box)
    pool = await asyncpg.create_pool(
        store.asyncpg_dsn(), min_size=2, max_size=max(4, settings.pool_size * 2), init=_init_connection
    )
    driver = build_driver(settings)
    try:
        await driver.start()
        log.info("driver.started", browser=driver.description)
    except DriverUnavailable as e:
        log.error("driver.unavailable", error=str(e), hint=getattr(e, "hint", None))
    consistency = ReadYourWrites()
    session_service = SessionService(
        application, driver, SessionsReader(pool), projections.sessions.progress, consistency, settings
    )
    await session_service.start()
    await _catch_up(projections, await asyncio.to_thread(application.recorder.max_notification_id))
    records = WebhookRecords(pool, box)
    transport = Transport(timeout_s=settings.webhook_timeout_s, allow_private=settings.webhook_allow_private)
    dispatcher = None
    if settings.webhook_dispatch:
        dispatcher = Dispatcher(records, transport, settings, store.asyncpg_dsn(), disabler(application))
        await dispatcher.start()

    web_app = web.Application(middlewares=[request_context], client_max_size=1024 * 1024)
    web_app[SERVICES] = Services(
        settings=settings,
        authenticator=Authenticator(AccountsReader(pool), application),
        sessions=session_service,
        profiles=ProfileService(
            application, ProfilesReader(pool), projections.profiles.progress, consistency
        ),
        audit=AuditLogReader(pool),
        audit_progress=projections.audit.progress,
        consistency=consistency,
        driver=driver,
        webhooks=WebhookService(
            application, records, projections.webhook_outbox.progress, consistency, transport, settings
        ),
    )
    for module in (sessions, profiles, profile_snapshots, webhooks, audit, account, health, openapi):
        web_app.add_routes(module.routes)

    async def shut_down(_: web.Application) -> None:
        if dispatcher is not None:
            await dispatcher.stop()
        await session_service.stop()
        await transport.close()
        await driver.stop()
        await pool.close()
        await asyncio.to_thread(_stop_sync, projections, application)

    web_app.on_cleanup.append(shut_down)
    return web_app


def disabler(application: Driftstack) -> Callable[[UUID, str, str], Awaitable[None]]:
    """How a dispatcher disables an endpoint: through the application, so it is an audited event."""

    async def disable(endpoint_id: UUID, reason: str, detail: str) -> None:
        if await asyncio.to_thread(application.disable_webhook_endpoint, endpoint_id, reason, detail):
            log.warning("webhooks.endpoint_disabled", endpoint_id=f"whep_{endpoint_id}", reason=reason)

    return disable


async def _catch_up(projections: Projections, head: int | None) -> None:
    """Serves nothing until the views hold every event stored before this start.

    A view rebuilt from scratch (or left behind while the service was down) would otherwise
    answer reads from part of the history: sessions missing, or still `ready` after a restart
    marked them errored.
    """
    if not head:
        return
    waited = 0.0
    for projection in projections.all():
        while not await projection.progress.reached(head, timeout=_CATCH_UP_LOG_EVERY_S):
            waited += _CATCH_UP_LOG_EVERY_S
            log.info(
                "views.catching_up",
                projection=projection.name,
                position=projection.progress.position,
                head=head,
            )
            if waited >= _CATCH_UP_LIMIT_S:
                log.warning("views.behind", projection=projection.name, head=head)
                return


def _stop_sync(projections: Projections, application: Any) -> None:
    for projection in projections.all():
        projection.stop()
    application.close()


async def _dispatch_until_stopped(settings: Settings) -> None:
    store = await asyncio.to_thread(open_store, settings)
    application = await asyncio.to_thread(Driftstack, store.eventsourcing_env(pool_size=1))
    pool = await asyncpg.create_pool(store.asyncpg_dsn(), min_size=1, max_size=4, init=_init_connection)
    records = WebhookRecords(pool, SecretBox.from_service_key(store.cipher_key))
    await records.ensure_tables()
    transport = Transport(timeout_s=settings.webhook_timeout_s, allow_private=settings.webhook_allow_private)
    dispatcher = Dispatcher(records, transport, settings, store.asyncpg_dsn(), disabler(application))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await dispatcher.start()
    try:
        await stopping.wait()
    finally:
        await dispatcher.stop()
        await transport.close()
        await pool.close()
        await asyncio.to_thread(application.close)


def dispatch(settings: Settings) -> None:
    """Only a webhook dispatcher (`driftstack webhooks dispatch`): more of them deliver side by side."""
    asyncio.run(_dispatch_until_stopped(settings))


def serve(settings: Settings) -> None:
    web.run_app(build_app(settings), host=settings.host, port=settings.port, print=None, access_log=None)
