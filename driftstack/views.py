"""Where the views are kept: in threads of the serving process, or in a projector process of their own
(`driftstack project`, which `serve` supervises) whose progress this process follows through PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import threading
from dataclasses import dataclass
from typing import Any, cast

import structlog
from eventsourcing.postgres import PostgresApplicationRecorder

from .application import Driftstack
from .processes import Supervised, child_env, stop_with_parent
from .projections.accounts import AccountsProjection, AccountsView
from .projections.audit import AuditLogProjection, AuditLogView
from .projections.profiles import ProfilesProjection, ProfilesView
from .projections.progress import Progress
from .projections.projector import Projector
from .projections.published import PublishedProgress
from .projections.runner import SupervisedProjection
from .projections.sessions import SessionsProjection, SessionsView
from .settings import Settings
from .store import Store, open_store, reconnect_quickly, schema_lock
from .webhooks.outbox import WebhookOutboxProjection, WebhookOutboxView
from .webhooks.secret_box import SecretBox

log = structlog.get_logger()

_CATCH_UP_LOG_EVERY_S = 5.0
# A view that cannot catch up (an event it keeps failing on) must not keep the API down for good.
_CATCH_UP_LIMIT_S = 600.0


@dataclass
class Projections:
    """The five projections; one Projector thread steps them once started."""

    sessions: SupervisedProjection
    audit: SupervisedProjection
    accounts: SupervisedProjection
    webhook_outbox: SupervisedProjection
    profiles: SupervisedProjection

    def all(self) -> list[SupervisedProjection]:
        return [self.sessions, self.audit, self.accounts, self.profiles, self.webhook_outbox]


@dataclass
class Views:
    """How far each view is, wherever it is kept: what reads wait on for their writes."""

    sessions: Progress
    audit: Progress
    accounts: Progress
    webhook_outbox: Progress
    profiles: Progress

    def all(self) -> list[Progress]:
        return [self.sessions, self.audit, self.accounts, self.profiles, self.webhook_outbox]


def build_projections(env: dict[str, str], box: SecretBox, store_wait_s: float) -> Projections:
    # A projection reads and writes one event at a time: one connection per pool is enough, and
    # five projections with the library's default pools would hold ~30 idle connections a process.
    env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}

    def one(projection: Any, view: Any, **attributes: Any) -> SupervisedProjection:
        return SupervisedProjection(projection, view, Driftstack, env, store_wait_s, attributes=attributes)

    return Projections(
        sessions=one(SessionsProjection, SessionsView),
        audit=one(AuditLogProjection, AuditLogView),
        accounts=one(AccountsProjection, AccountsView),
        webhook_outbox=one(WebhookOutboxProjection, WebhookOutboxView, secret_box=box),
        profiles=one(ProfilesProjection, ProfilesView),
    )


class KeptViews:
    """The views this process reads, kept here or by a supervised projector process, and how to stop them."""

    def __init__(self, views: Views, stop: Any) -> None:
        self.views = views
        self._stop = stop

    async def stop(self) -> None:
        await self._stop()


async def keep_views(settings: Settings, store: Store, box: SecretBox) -> KeptViews:
    """Starts the views as the settings say: threads here, or a projector process this one follows."""
    env = store.eventsourcing_env(pool_size=settings.pool_size)
    found = build_projections(env, box, settings.store_wait_s)
    if settings.workers == "thread":
        projector = await asyncio.to_thread(_start_here, store, found)
        kept = KeptViews(
            Views(
                *(
                    p.progress
                    for p in (
                        found.sessions,
                        found.audit,
                        found.accounts,
                        found.webhook_outbox,
                        found.profiles,
                    )
                )
            ),
            lambda: asyncio.to_thread(projector.stop),
        )
    else:
        # Created here too, so reads find the tables before the projector's first run.
        await asyncio.to_thread(_create_tables, store, found)
        published = PublishedProgress(store.asyncpg_dsn(), [p.name for p in found.all()])
        await published.start()
        child = Supervised("projector", ["project"], child_env(settings, store))
        await child.start()

        async def stop() -> None:
            await child.stop()
            await published.stop()

        p = published.progress
        kept = KeptViews(
            Views(
                p[found.sessions.name],
                p[found.audit.name],
                p[found.accounts.name],
                p[found.webhook_outbox.name],
                p[found.profiles.name],
            ),
            stop,
        )
    return kept


def _start_here(store: Store, found: Projections) -> Projector:
    projector = Projector(found.all())
    with schema_lock(store):
        projector.start()
    return projector


def _create_tables(store: Store, found: Projections) -> None:
    with schema_lock(store):
        for projection in found.all():
            projection.create_tables()


async def catch_up(views: Views, head: int | None) -> None:
    """Serves nothing until the views hold every event stored before this start.

    A view rebuilt from scratch (or left behind while the service was down) would otherwise
    answer reads from part of the history: sessions missing, or still `ready` after a restart
    marked them errored.
    """
    if not head:
        return
    waited = 0.0
    for progress in views.all():
        while not await progress.reached(head, timeout=_CATCH_UP_LOG_EVERY_S):
            stall = progress.stall
            if stall is not None and stall.cause == "event":
                # Logged as view.failing and shown in /healthz; the other views serve meanwhile.
                break
            waited += _CATCH_UP_LOG_EVERY_S
            log.info("views.catching_up", projection=progress.name, position=progress.position, head=head)
            if waited >= _CATCH_UP_LIMIT_S:
                log.warning("views.behind", projection=progress.name, head=head)
                return


def project(settings: Settings) -> int:
    """`driftstack project`: keeps every view until SIGTERM or SIGINT (or until the `serve` that started
    it is gone)."""
    store = open_store(settings)
    box = SecretBox.from_service_key(store.cipher_key)
    found = build_projections(store.eventsourcing_env(pool_size=1), box, settings.store_wait_s)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop_with_parent(stop.set)
    projector = _start_here(store, found)
    log.debug("projector.started", views=[p.name for p in found.all()])  # before `serve` says it listens
    stop.wait()
    projector.stop()
    log.info("projector.stopped")
    return 0


def recorder_of(application: Driftstack) -> PostgresApplicationRecorder:
    return cast(PostgresApplicationRecorder, application.recorder)  # PERSISTENCE_MODULE is postgres


def open_application(store: Store, settings: Settings) -> Driftstack:
    """The application (the one writer of events), its tables created under the store's schema lock."""
    env = store.eventsourcing_env(pool_size=settings.pool_size)
    with schema_lock(store):
        application = Driftstack(env)
        reconnect_quickly(recorder_of(application).datastore, settings.store_wait_s)
        return application
