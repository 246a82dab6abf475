"""Configuration: every DRIFTSTACK_ environment variable, read once into a typed value."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


def _float_or_none(env: dict[str, str], name: str) -> float | None:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else None


def _flag(env: dict[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What the service needs to know about its surroundings; see the README's table."""

    database_url: str | None = None
    data_dir: Path = Path(".driftstack")
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8022
    browser: str | None = None  # webkit | chromium | firefox; None picks what is installed
    browser_executable: str | None = None
    idle_timeout_s: float | None = None  # None: each tier's own idle timeout
    provision_timeout_s: float = 30.0
    profile_wait_s: float = 60.0  # a session on a profile another session holds waits this long
    action_timeout_ms: int = 30_000
    node_id: str = field(default_factory=socket.gethostname)
    log_level: str = "info"
    log_json: bool = True
    pool_size: int = 4

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("DRIFTSTACK_DATABASE_URL") or None,
            data_dir=Path(env.get("DRIFTSTACK_DATA_DIR") or ".driftstack"),
            secret_key=env.get("DRIFTSTACK_SECRET_KEY") or None,
            host=env.get("DRIFTSTACK_HOST") or "127.0.0.1",
            port=_int(env, "DRIFTSTACK_PORT", 8022),
            browser=(env.get("DRIFTSTACK_BROWSER") or None),
            browser_executable=env.get("DRIFTSTACK_BROWSER_EXECUTABLE") or None,
            idle_timeout_s=_float_or_none(env, "DRIFTSTACK_IDLE_TIMEOUT_S"),
            provision_timeout_s=float(env.get("DRIFTSTACK_PROVISION_TIMEOUT_S") or 30),
            profile_wait_s=float(env.get("DRIFTSTACK_PROFILE_WAIT_S") or 60),
            action_timeout_ms=_int(env, "DRIFTSTACK_ACTION_TIMEOUT_MS", 30_000),
            node_id=env.get("DRIFTSTACK_NODE_ID") or socket.gethostname(),
            log_level=(env.get("DRIFTSTACK_LOG_LEVEL") or "info").lower(),
            log_json=not _flag(env, "DRIFTSTACK_LOG_PRETTY"),
            pool_size=_int(env, "DRIFTSTACK_POOL_SIZE", 4),
        )
