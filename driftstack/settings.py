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


def _flag(env: dict[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    return raw in {"1", "true", "yes", "on"} if raw else default


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else default


def _seconds_list(env: dict[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    return tuple(float(part) for part in raw.split(",") if part.strip())


def _names(env: dict[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# Standard Webhooks' suggested schedule, cut after the eighth attempt: the delay before each
# attempt, from the moment the event is stored (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
WEBHOOK_RETRY_SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


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
    # Pages opened ahead of demand per archetype, for sessions without a profile; 0 turns it off.
    warm_pool_size: int = 2
    warm_pool_archetypes: tuple[str, ...] = ("default",)
    webhook_allow_private: bool = False  # tests and private networks: deliver to non-public addresses
    webhook_dispatch: bool = True  # `serve` runs a dispatcher too
    webhook_retry_schedule_s: tuple[float, ...] = WEBHOOK_RETRY_SCHEDULE_S
    webhook_timeout_s: float = 15.0
    webhook_lease_s: float = 60.0  # a claimed delivery not recorded by then is claimable again
    webhook_poll_s: float = 5.0  # the dispatcher looks for due deliveries at least this often
    webhook_rotation_grace_s: float = 86_400.0
    webhook_disable_after_s: float = 5 * 86_400.0
    webhook_concurrency: int = 8

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
            warm_pool_size=_int(env, "DRIFTSTACK_WARM_POOL_SIZE", 2),
            warm_pool_archetypes=_names(env, "DRIFTSTACK_WARM_POOL_ARCHETYPES", ("default",)),
            webhook_allow_private=_flag(env, "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE"),
            webhook_dispatch=_flag(env, "DRIFTSTACK_WEBHOOK_DISPATCH", default=True),
            webhook_retry_schedule_s=_seconds_list(
                env, "DRIFTSTACK_WEBHOOK_RETRY_SCHEDULE_S", WEBHOOK_RETRY_SCHEDULE_S
            ),
            webhook_timeout_s=_float(env, "DRIFTSTACK_WEBHOOK_TIMEOUT_S", 15.0),
            webhook_lease_s=_float(env, "DRIFTSTACK_WEBHOOK_LEASE_S", 60.0),
            webhook_poll_s=_float(env, "DRIFTSTACK_WEBHOOK_POLL_S", 5.0),
            webhook_rotation_grace_s=_float(env, "DRIFTSTACK_WEBHOOK_ROTATION_GRACE_S", 86_400.0),
            webhook_disable_after_s=_float(env, "DRIFTSTACK_WEBHOOK_DISABLE_AFTER_S", 5 * 86_400.0),
            webhook_concurrency=_int(env, "DRIFTSTACK_WEBHOOK_CONCURRENCY", 8),
        )
