"""The composition root: builds the store, application, projections, driver and HTTP app."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg
import structlog
from aiohttp import web

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
from .processes import Supervised, child_env, stop_with_parent
from .profiles import ProfileService
from .projections.accounts import AccountsReader
from .projections.artifacts import ArtifactsReader
from .projections.audit import AuditLogReader
from .projections.profiles import ProfilesReader
from .projections.session_actions import SessionHistoryReader
from .projections.sessions import SessionsReader
from .session_logs import SessionLogs
from .sessions import SessionService
from .settings import Settings
from .socket_sessions import SocketSessions
from .stopping import GracefulStop, StoppedAtOnce, StopSignals, exit_at_once
from .store import Store, connect_asyncpg, open_store
from .views import catch_up, keep_views, open_application, recorder_of
from .webhooks.dispatcher import Dispatcher
from .webhooks.drain import OutboxDrain
from .webhooks.endpoints import WebhookService
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


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


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
    box = SecretBox.from_service_key(store.cipher_key)
    application = await asyncio.to_thread(open_application, store, settings)
    kept = await keep_views(settings, store, box)
    views = kept.views
    pool = await create_pool(store, min_size=2, max_size=max(4, settings.pool_size * 2))
    recorder = recorder_of(application)
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
        views.sessions,
        consistency,
        settings,
        logs,
    )
    await session_service.start()
    artifact_service = ArtifactService(
        application,
        ArtifactsReader(pool),
        session_service,
        views.sessions,
        consistency,
        settings,
    )
    artifact_service.start()
    # After the start has errored this node's old sessions: reads then show them errored.
    await catch_up(views, await asyncio.to_thread(application.recorder.max_notification_id))
    records = WebhookRecords(pool, box)
    transport = Transport(timeout_s=settings.webhook_timeout_s, allow_private=settings.webhook_allow_private)
    dispatcher = await start_dispatcher(settings, store, records, transport, application)

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
        profiles=ProfileService(application, ProfilesReader(pool), views.profiles, consistency),
        audit=AuditLogReader(pool),
        audit_progress=views.audit,
        consistency=consistency,
        driver=driver,
        webhooks=WebhookService(application, records, views.webhook_outbox, consistency, transport, settings),
        keys=KeyService(application, AccountsReader(pool), views.accounts, consistency),
    )
    web_app[health.HEALTH] = ServiceHealth(watch, views.all())
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
        views.webhook_outbox,
        OutboxDrain(records) if dispatcher is not None else None,
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
        await kept.stop()
        await asyncio.to_thread(application.close)

    web_app.on_shutdown.append(end_sessions)
    web_app.on_cleanup.append(shut_down)
    return web_app


async def start_dispatcher(
    settings: Settings, store: Store, records: WebhookRecords, transport: Transport, application: Driftstack
) -> Dispatcher | Supervised | None:
    """`serve`'s own webhook dispatcher, started where the settings say: a supervised `driftstack
    webhooks dispatch` process, or a task of this process; None when this `serve` delivers none."""
    if not settings.webhook_dispatch:
        return None
    dispatcher: Dispatcher | Supervised
    if settings.workers == "process":
        dispatcher = Supervised("dispatcher", ["webhooks", "dispatch"], child_env(settings, store))
    else:
        dispatcher = Dispatcher(records, transport, settings, store.asyncpg_dsn(), disabler(application))
    await dispatcher.start()
    return dispatcher


def disabler(application: Driftstack) -> Callable[[UUID, str, str], Awaitable[None]]:
    """How a dispatcher disables an endpoint: through the application, so it is an audited event."""

    async def disable(endpoint_id: UUID, reason: str, detail: str) -> None:
        if await asyncio.to_thread(application.disable_webhook_endpoint, endpoint_id, reason, detail):
            log.warning("webhooks.endpoint_disabled", endpoint_id=f"whep_{endpoint_id}", reason=reason)

    return disable


async def _dispatch_until_stopped(settings: Settings) -> None:
    store = await asyncio.to_thread(open_store, settings)
    application = await asyncio.to_thread(open_application, store, settings)
    pool = await create_pool(store, min_size=1, max_size=4)
    records = WebhookRecords(pool, SecretBox.from_service_key(store.cipher_key))
    await records.ensure_tables()
    transport = Transport(timeout_s=settings.webhook_timeout_s, allow_private=settings.webhook_allow_private)
    dispatcher = Dispatcher(records, transport, settings, store.asyncpg_dsn(), disabler(application))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    stop_with_parent(lambda: loop.call_soon_threadsafe(stopping.set))  # when `serve` supervises it
    await dispatcher.start()
    try:
        await stopping.wait()
    finally:
        await dispatcher.stop()
        await transport.close()
        await pool.close()
        await asyncio.to_thread(application.close)


def dispatch(settings: Settings) -> None:
    """Only a webhook dispatcher (`driftstack webhooks dispatch`, the one `serve` supervises among them):
    more of them deliver side by side."""
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
