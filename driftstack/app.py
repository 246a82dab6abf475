"""The composition root: builds the store, application, projections, driver and HTTP app."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import asyncpg
import structlog
from aiohttp import web
from eventsourcing.postgres import PostgresApplicationRecorder

from .access import Authenticator
from .api_keys import KeyService
from .application import Driftstack
from .artifacts import ArtifactService
from .consistency import ReadYourWrites
from .drivers import build_driver
from .drivers.base import Driver, DriverUnavailable
from .egress import build_egress
from .health import ServiceHealth, StoreWatch
from .http import (
    account,
    api_keys,
    artifacts,
    asyncapi,
    audit,
    health,
    inspection,
    openapi,
    profile_snapshots,
    profiles,
    sessions,
    socket,
    webhooks,
)
from .http.context import SERVICES, Services
from .http.middleware import request_context
from .inspection import SessionInspection
from .key_usage import KeyUsage
from .profiles import ProfileService
from .projections.accounts import AccountsProjection, AccountsReader, AccountsView
from .projections.artifacts import ArtifactsReader
from .projections.audit import AuditLogProjection, AuditLogReader, AuditLogView
from .projections.profiles import ProfilesProjection, ProfilesReader, ProfilesView
from .projections.runner import SupervisedProjection
from .projections.session_actions import SessionHistoryReader
from .projections.sessions import SessionsProjection, SessionsReader, SessionsView
from .session_logs import SessionLogs
from .sessions import SessionService
from .settings import Settings
from .socket_sessions import SocketSessions
from .stopping import GracefulStop, StoppedAtOnce, StopSignals, exit_at_once
from .store import Store, connect_asyncpg, open_store, reconnect_quickly, schema_lock
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
# A stop waits this long for requests under way (their sessions have ended, so most answer at once).
_REQUESTS_GRACE_S = 5.0

STOP = web.AppKey("stop", GracefulStop)


@dataclass
class Projections:
    sessions: SupervisedProjection
    audit: SupervisedProjection
    accounts: SupervisedProjection
    webhook_outbox: SupervisedProjection
    profiles: SupervisedProjection

    def all(self) -> list[SupervisedProjection]:
        return [self.sessions, self.audit, self.accounts, self.profiles, self.webhook_outbox]


def start_projections(env: dict[str, str], box: SecretBox, store_wait_s: float) -> Projections:
    projections = Projections(
        sessions=SupervisedProjection(SessionsProjection, SessionsView, Driftstack, env, store_wait_s),
        audit=SupervisedProjection(AuditLogProjection, AuditLogView, Driftstack, env, store_wait_s),
        accounts=SupervisedProjection(AccountsProjection, AccountsView, Driftstack, env, store_wait_s),
        webhook_outbox=SupervisedProjection(
            WebhookOutboxProjection,
            WebhookOutboxView,
            Driftstack,
            env,
            store_wait_s,
            attributes={"secret_box": box},
        ),
        profiles=SupervisedProjection(ProfilesProjection, ProfilesView, Driftstack, env, store_wait_s),
    )
    for projection in projections.all():
        projection.start()
    return projections


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def _open(store: Store, env: dict[str, str], box: SecretBox, wait_s: float) -> tuple[Driftstack, Projections]:
    """The application and the projections, their tables created under the store's schema lock."""
    # A projection reads and writes one event at a time: one connection per pool is enough, and
    # five projections with the library's default pools would hold ~30 idle connections a process.
    projection_env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    with schema_lock(store):
        application = Driftstack(env)
        reconnect_quickly(_recorder(application).datastore, wait_s)
        return application, start_projections(projection_env, box, wait_s)


def _recorder(application: Driftstack) -> PostgresApplicationRecorder:
    return cast(PostgresApplicationRecorder, application.recorder)  # PERSISTENCE_MODULE is postgres


async def create_pool(store: Store, min_size: int, max_size: int) -> asyncpg.Pool:
    """An asyncpg pool whose failures to connect raise StoreUnreachable (a 503, not a 500)."""
    return await asyncpg.create_pool(
        store.asyncpg_dsn(),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        connect=connect_asyncpg,
    )


async def build_app(settings: Settings, store: Store | None = None) -> web.Application:
    """Everything the service runs, started; all of it stops with the aiohttp app's cleanup."""
    if store is None:
        store = await asyncio.to_thread(open_store, settings, create=True)
    env = store.eventsourcing_env(pool_size=settings.pool_size)
    box = SecretBox.from_service_key(store.cipher_key)
    application, projections = await asyncio.to_thread(_open, store, env, box, settings.store_wait_s)
    pool = await create_pool(store, min_size=2, max_size=max(4, settings.pool_size * 2))
    recorder = _recorder(application)
    watch = StoreWatch(pool, recorder.events_table_name, [recorder.datastore])
    await watch.start()
    egress = build_egress(settings)
    if settings.egress_allow_private:
        log.warning(
            "egress.allows_private",
            why="DRIFTSTACK_EGRESS_ALLOW_PRIVATE is set: sessions reach loopback, private and metadata "
            "addresses; for development only",
        )
    driver = build_driver(settings, open_route=egress.open_route)
    try:
        await driver.start()
        log.debug("driver.started", browser=driver.description)  # `serve`'s first line names it
    except DriverUnavailable as e:
        log.error("driver.unavailable", error=str(e), hint=getattr(e, "hint", None))
    consistency = ReadYourWrites(timeout_s=settings.view_wait_s)
    logs = SessionLogs(pool)
    logs.start()
    session_service = SessionService(
        application,
        driver,
        egress,
        SessionsReader(pool),
        projections.sessions.progress,
        consistency,
        settings,
        logs,
    )
    await session_service.start()
    artifact_service = ArtifactService(
        application,
        ArtifactsReader(pool),
        session_service,
        projections.sessions.progress,
        consistency,
        settings,
    )
    artifact_service.start()
    await _catch_up(projections, await asyncio.to_thread(application.recorder.max_notification_id))
    records = WebhookRecords(pool, box)
    transport = Transport(timeout_s=settings.webhook_timeout_s, allow_private=settings.webhook_allow_private)
    dispatcher = None
    if settings.webhook_dispatch:
        dispatcher = Dispatcher(records, transport, settings, store.asyncpg_dsn(), disabler(application))
        await dispatcher.start()

    sockets = SocketSessions(session_service, settings)
    web_app = web.Application(middlewares=[request_context], client_max_size=1024 * 1024)
    web_app[SERVICES] = Services(
        settings=settings,
        authenticator=Authenticator(AccountsReader(pool), application, KeyUsage(pool)),
        sessions=session_service,
        actions=session_service.actions,
        sockets=sockets,
        inspection=SessionInspection(session_service, SessionHistoryReader(pool)),
        artifacts=artifact_service,
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
        keys=KeyService(application, AccountsReader(pool), projections.accounts.progress, consistency),
    )
    web_app[health.HEALTH] = ServiceHealth(watch, [p.progress for p in projections.all()])
    for module in (
        socket,  # before sessions: /v1/sessions/ws is not a session id
        sessions,
        inspection,
        artifacts,
        profiles,
        profile_snapshots,
        webhooks,
        api_keys,
        audit,
        account,
        health,
        openapi,
        asyncapi,
    ):
        web_app.add_routes(module.routes)

    stop = GracefulStop(
        session_service,
        records,
        projections.webhook_outbox.progress,
        dispatcher,
        settings.stop_drain_s,
        head=lambda: asyncio.to_thread(application.recorder.max_notification_id),
    )
    web_app[STOP] = stop

    async def end_sessions(_: web.Application) -> None:
        # Before in-flight requests are awaited: their sessions' ends make them answer at once.
        await sockets.stop()
        await stop.end_sessions()

    async def shut_down(_: web.Application) -> None:
        await stop.deliver_webhooks()
        if dispatcher is not None:
            await dispatcher.stop()
        await watch.stop()
        await session_service.stop()
        await artifact_service.stop()
        await logs.stop()
        await transport.close()
        await driver.stop()
        await egress.stop()
        await pool.close()
        await asyncio.to_thread(_stop_sync, projections, application)

    web_app.on_shutdown.append(end_sessions)
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
            stall = projection.progress.stall
            if stall is not None and stall.cause == "event":
                # Logged as view.failing and shown in /healthz; the other views serve meanwhile.
                break
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
    pool = await create_pool(store, min_size=1, max_size=4)
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


def serve(settings: Settings, on_listening: Callable[[Store, Driver], None] | None = None) -> int:
    """Runs the service until SIGINT or SIGTERM; returns the exit code (0: a graceful stop).
    `on_listening(store, driver)` runs once every socket is bound."""
    return asyncio.run(_serve(settings, on_listening))


async def _serve(settings: Settings, on_listening: Callable[[Store, Driver], None] | None) -> int:
    signals = StopSignals()  # from the start: a stop asked for while starting waits for the start
    web_app: web.Application | None = None
    try:
        # The service is what creates a store; CLI commands only find one.
        store = await signals.unless_stopped_at_once(asyncio.to_thread(open_store, settings, create=True))
        web_app = await signals.unless_stopped_at_once(build_app(settings, store))
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=_REQUESTS_GRACE_S)
        await signals.unless_stopped_at_once(runner.setup())
        if not signals.asked:  # a stop asked for while starting: never listen
            site = web.TCPSite(runner, settings.host, settings.port)
            try:
                await signals.unless_stopped_at_once(site.start())
            except OSError:  # the port is taken: what started stops before the error is shown
                await runner.cleanup()
                raise
            if on_listening is not None:
                on_listening(store, web_app[SERVICES].driver)
        await signals.first()
        await signals.unless_stopped_at_once(runner.cleanup())
    except StoppedAtOnce as stopped:
        exit_at_once(stopped, web_app[STOP].left_to_do() if web_app is not None else {"step": "starting"})
    log.info("service.stopped")
    return 0
