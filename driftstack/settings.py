"""Configuration: every DRIFTSTACK_ environment variable, read once into a typed value."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


def _float_or_none(env: dict[str, str], name: str) -> float | None:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else None


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ValueError(f"{name} is one of {', '.join(choices)}, not {raw!r}")
    return raw


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


def default_data_dir(env: Mapping[str, str]) -> Path:
    """Per user and absolute (XDG's data home), so `serve` and every command find one store wherever they run."""
    xdg = env.get("XDG_DATA_HOME", "")
    # The XDG spec ignores a relative XDG_DATA_HOME: it would name a different place in every directory.
    base = Path(xdg) if os.path.isabs(xdg) else _home(env) / ".local" / "share"
    return base / "driftstack"


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME", "")
    return Path(home) if os.path.isabs(home) else Path.home()


def data_dir(env: Mapping[str, str]) -> Path:
    """DRIFTSTACK_DATA_DIR made absolute (`~` expanded) once, else the per-user default."""
    raw = env.get("DRIFTSTACK_DATA_DIR")
    if not raw:
        return default_data_dir(env)
    path = Path(raw)
    if raw == "~" or raw.startswith("~/"):
        path = _home(env) / raw[2:]
    return path.absolute()


# Standard Webhooks' suggested schedule, cut after the eighth attempt: the delay before each
# attempt, from the moment the event is stored (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
WEBHOOK_RETRY_SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class Settings:
    """What the service needs to know about its surroundings; see the README's table."""

    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: default_data_dir(os.environ))
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8022
    browser: str | None = None  # webkit | chromium | firefox; None picks what is installed
    browser_executable: str | None = None
    # A W3C WebDriver endpoint (Selenium Grid 4, safaridriver) the webkit engine runs on instead of a
    # local WebKitWebDriver.
    webdriver_url: str | None = None
    idle_timeout_s: float | None = None  # None: each tier's own idle timeout
    provision_timeout_s: float = 30.0
    profile_wait_s: float = 60.0  # a session on a profile another session holds waits this long
    action_timeout_ms: int = 30_000
    node_id: str = field(default_factory=socket.gethostname)
    log_level: str = "info"
    log_json: bool = True
    pool_size: int = 4
    # How long a request waits for a store connection before it answers 503 store-unavailable.
    store_wait_s: float = 2.0
    # How long a read waits for a view to hold the account's own last write before 503 view-lagging.
    view_wait_s: float = 5.0
    # Pages opened ahead of demand per archetype, for sessions without a profile; 0 turns it off.
    warm_pool_size: int = 2
    warm_pool_archetypes: tuple[str, ...] = ("default",)
    # The browsers' way out: holes in the public-only policy (CIDRs, hosts, host:port), or every
    # non-public address (development only); the operator's named upstream proxies (a JSON object).
    egress_allow: tuple[str, ...] = ()
    egress_allow_private: bool = False
    proxies: str | None = None
    webhook_allow_private: bool = False  # tests and private networks: deliver to non-public addresses
    webhook_dispatch: bool = True  # `serve` runs a dispatcher too
    # Where `serve`'s background work runs, the projector and the webhook dispatcher alike: "process",
    # a `driftstack project` and a `driftstack webhooks dispatch` process it supervises (off the HTTP
    # process's interpreter); "thread", the serving process itself (an embedded service, tests).
    workers: str = "process"
    webhook_retry_schedule_s: tuple[float, ...] = WEBHOOK_RETRY_SCHEDULE_S
    webhook_timeout_s: float = 15.0
    webhook_lease_s: float = 60.0  # a claimed delivery not recorded by then is claimable again
    webhook_poll_s: float = 5.0  # the dispatcher looks for due deliveries at least this often
    webhook_rotation_grace_s: float = 86_400.0
    webhook_disable_after_s: float = 5 * 86_400.0
    webhook_concurrency: int = 8
    # On SIGINT/SIGTERM, how long the stop keeps delivering the webhooks of the sessions it ended.
    stop_drain_s: float = 10.0
    # Kept captures: how long a signed download link lives, the address links are built on (else the
    # request's own), and how long an artifact is kept before it is deleted.
    artifact_url_ttl_s: float = 900.0
    public_url: str | None = None
    artifact_retention_days: float = 30.0
    # Keep each session's console and network entries (GET …/console, …/network); off, both stay empty.
    page_logs: bool = True
    # WebSocket sessions (`GET /v1/sessions/ws`) one account may hold open at once on a node; a
    # browser one also takes a concurrency slot.
    ws_sockets_per_account: int = 16

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            database_url=env.get("DRIFTSTACK_DATABASE_URL") or None,
            data_dir=data_dir(env),
            secret_key=env.get("DRIFTSTACK_SECRET_KEY") or None,
            host=env.get("DRIFTSTACK_HOST") or "127.0.0.1",
            port=_int(env, "DRIFTSTACK_PORT", 8022),
            browser=(env.get("DRIFTSTACK_BROWSER") or None),
            browser_executable=env.get("DRIFTSTACK_BROWSER_EXECUTABLE") or None,
            webdriver_url=env.get("DRIFTSTACK_WEBDRIVER_URL") or None,
            idle_timeout_s=_float_or_none(env, "DRIFTSTACK_IDLE_TIMEOUT_S"),
            provision_timeout_s=float(env.get("DRIFTSTACK_PROVISION_TIMEOUT_S") or 30),
            profile_wait_s=float(env.get("DRIFTSTACK_PROFILE_WAIT_S") or 60),
            action_timeout_ms=_int(env, "DRIFTSTACK_ACTION_TIMEOUT_MS", 30_000),
            node_id=env.get("DRIFTSTACK_NODE_ID") or socket.gethostname(),
            log_level=(env.get("DRIFTSTACK_LOG_LEVEL") or "info").lower(),
            log_json=not _flag(env, "DRIFTSTACK_LOG_PRETTY"),
            pool_size=_int(env, "DRIFTSTACK_POOL_SIZE", 4),
            store_wait_s=_float(env, "DRIFTSTACK_STORE_WAIT_S", 2.0),
            view_wait_s=_float(env, "DRIFTSTACK_VIEW_WAIT_S", 5.0),
            warm_pool_size=_int(env, "DRIFTSTACK_WARM_POOL_SIZE", 2),
            warm_pool_archetypes=_names(env, "DRIFTSTACK_WARM_POOL_ARCHETYPES", ("default",)),
            egress_allow=_names(env, "DRIFTSTACK_EGRESS_ALLOW", ()),
            egress_allow_private=_flag(env, "DRIFTSTACK_EGRESS_ALLOW_PRIVATE"),
            proxies=env.get("DRIFTSTACK_PROXIES") or None,
            webhook_allow_private=_flag(env, "DRIFTSTACK_WEBHOOK_ALLOW_PRIVATE"),
            webhook_dispatch=_flag(env, "DRIFTSTACK_WEBHOOK_DISPATCH", default=True),
            workers=_choice(env, "DRIFTSTACK_WORKERS", ("process", "thread"), "process"),
            webhook_retry_schedule_s=_seconds_list(
                env, "DRIFTSTACK_WEBHOOK_RETRY_SCHEDULE_S", WEBHOOK_RETRY_SCHEDULE_S
            ),
            webhook_timeout_s=_float(env, "DRIFTSTACK_WEBHOOK_TIMEOUT_S", 15.0),
            webhook_lease_s=_float(env, "DRIFTSTACK_WEBHOOK_LEASE_S", 60.0),
            webhook_poll_s=_float(env, "DRIFTSTACK_WEBHOOK_POLL_S", 5.0),
            webhook_rotation_grace_s=_float(env, "DRIFTSTACK_WEBHOOK_ROTATION_GRACE_S", 86_400.0),
            webhook_disable_after_s=_float(env, "DRIFTSTACK_WEBHOOK_DISABLE_AFTER_S", 5 * 86_400.0),
            webhook_concurrency=_int(env, "DRIFTSTACK_WEBHOOK_CONCURRENCY", 8),
            stop_drain_s=_float(env, "DRIFTSTACK_STOP_DRAIN_S", 10.0),
            artifact_url_ttl_s=_float(env, "DRIFTSTACK_ARTIFACT_URL_TTL_S", 900.0),
            public_url=(env.get("DRIFTSTACK_PUBLIC_URL") or "").rstrip("/") or None,
            artifact_retention_days=_float(env, "DRIFTSTACK_ARTIFACT_RETENTION_DAYS", 30.0),
            page_logs=_flag(env, "DRIFTSTACK_PAGE_LOGS", default=True),
            ws_sockets_per_account=_int(env, "DRIFTSTACK_WS_SOCKETS_PER_ACCOUNT", 16),
        )
