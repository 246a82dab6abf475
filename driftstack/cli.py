"""The `driftstack` command: run the service or a webhook dispatcher, create accounts, members and keys, rebuild the views."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from . import logs
from .application import Driftstack
from .clock import iso
from .domain.account import ROLES
from .domain.api_key import ApiKey, parse_lifetime
from .domain.errors import DomainError
from .domain.tiers import TIERS
from .drivers.base import Driver
from .projections.accounts import last_accounts_event, stored_key_document, view_holds
from .settings import Settings
from .store import NoStore, Store, open_store, schema_lock

# How long `keys revoke` waits for a running service to refuse the key before saying it has not yet.
REVOKE_WAIT_S = 5.0


def _with_application(settings: Settings, command: Callable[[Driftstack], dict[str, Any]]) -> int:
    store = open_store(settings)
    with schema_lock(store):  # its tables, created beside a starting service's without a DDL race
        app = Driftstack(store.eventsourcing_env(pool_size=1))
    try:
        print(json.dumps(command(app), indent=2))
        return 0
    except DomainError as e:
        print(json.dumps({"error": str(e)}), file=sys.stderr)
        return 2
    finally:
        app.close()


def _account_json(account: Any) -> dict[str, Any]:
    return {
        "id": f"acc_{account.id}",
        "name": account.name,
        "tier": account.tier,
        "concurrency": account.concurrency,
        "profile_cap": account.profile_cap,
        "members": account.members,
        "created_at": iso(account.created_on),
    }


def listening_line(settings: Settings, store: Store, driver: Driver) -> str:
    """What `serve` says first, once it listens: where, with which browser, on which store and data."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    engine = driver.description if driver.available else "none (sessions answer 503; see /healthz)"
    data = f"{settings.data_dir}{' (new)' if store.created else ''}"
    return (
        f"driftstack: listening on http://{host}:{settings.port} · engine {engine} · "
        f"store {store.describe()} · data {data}"
    )


def _init(settings: Settings) -> int:
    store = open_store(settings, create=True)
    secret = "DRIFTSTACK_SECRET_KEY" if settings.secret_key else str(settings.data_dir / "secret.key")
    answer = {
        "data_dir": str(settings.data_dir),
        "store": store.describe(),
        "secret_key": secret,
        "created": store.created,
    }
    print(json.dumps(answer, indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="driftstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    commands.add_parser(
        "init",
        help="create the store (embedded PostgreSQL and secret key in DRIFTSTACK_DATA_DIR) "
        "without serving; `serve` does it on its first start",
    )

    accounts = commands.add_parser("accounts", help="create accounts and add team members")
    account_commands = accounts.add_subparsers(dest="action", required=True)
    create = account_commands.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--tier", required=True, choices=list(TIERS))
    create.add_argument("--concurrency", type=int)
    create.add_argument("--profile-cap", type=int)
    member = account_commands.add_parser("add-member")
    member.add_argument("owner_id")
    member.add_argument("member_id")
    member.add_argument("--role", required=True, choices=list(ROLES))
    account_commands.add_parser("list", help="every account, oldest first")
    show = account_commands.add_parser("show", help="one account")
    show.add_argument("account_id")

    keys = commands.add_parser("keys", help="issue, list and revoke API keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    key_create = key_commands.add_parser("create")
    key_create.add_argument("account_id")
    key_create.add_argument("--scopes", required=True, help="comma-separated: read,write,admin")
    key_create.add_argument("--name")
    key_create.add_argument(
        "--expires-in", help="a lifetime: minutes, hours or days (90m, 12h, 30d); default: until revoked"
    )
    key_list = key_commands.add_parser("list", help="an account's keys, oldest first (never a secret)")
    key_list.add_argument("account_id")
    key_revoke = key_commands.add_parser("revoke", help="the key answers 401 from then on")
    key_revoke.add_argument("key_id")

    webhooks = commands.add_parser("webhooks", help="deliver webhooks")
    webhook_commands = webhooks.add_subparsers(dest="action", required=True)
    webhook_commands.add_parser(
        "dispatch", help="run a dispatcher alone (beside `serve`'s own); any number can run at once"
    )

    commands.add_parser(
        "project",
        help="keep the views (the read models built from the events) until stopped; `serve` runs this in a "
        "process of its own (DRIFTSTACK_WORKERS=process)",
    )

    views = commands.add_parser("views", help="maintain the read models built from the events")
    view_commands = views.add_subparsers(dest="action", required=True)
    view_commands.add_parser(
        "rebuild", help="with the service stopped: drop the views; its next start replays every event"
    )
    return parser


def _rebuild_views(settings: Settings) -> int:
    from .projections.rebuild import rebuild_views
    from .store import start_embedded_postgres

    url = settings.database_url or start_embedded_postgres(settings.data_dir).url
    dropped = rebuild_views(url)
    note = "the next start replays every event into the views"
    print(json.dumps({"dropped": dropped, "note": note}, indent=2))
    return 0


def _log_level(command: str, level: str) -> str:
    """The service and a dispatcher log as configured; a one-shot command answers on stdout and
    says on stderr only what went wrong (DRIFTSTACK_LOG_LEVEL=debug still shows everything)."""
    if command in {"serve", "webhooks", "project"} or level == "debug":
        return level
    return level if logging.getLevelName(level.upper()) >= logging.WARNING else "warning"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(_log_level(args.command, settings.log_level), settings.log_json)
    if args.command == "serve":
        from .addresses import InvalidAllowance
        from .app import serve
        from .egress import InvalidProxies, build_egress

        overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
        serving = dataclasses.replace(settings, **overrides)
        try:
            build_egress(serving)  # a setting that says nothing stops the start, before anything is made
        except InvalidAllowance as e:
            print(f"driftstack: DRIFTSTACK_EGRESS_ALLOW: {e}", file=sys.stderr)
            return 2
        except InvalidProxies as e:
            print(f"driftstack: {e}", file=sys.stderr)
            return 2

        def announce(store: Store, driver: Driver) -> None:
            print(listening_line(serving, store, driver), file=sys.stderr, flush=True)

        return serve(serving, on_listening=announce)
    try:
        return _command(args, settings)
    except NoStore as e:
        print(f"driftstack: {e}", file=sys.stderr)
        return 1


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "init":
        return _init(settings)
    if args.command == "accounts" and args.action == "create":
        return _with_application(
            settings,
            lambda app: _account_json(
                app.create_account(args.name, args.tier, args.concurrency, args.profile_cap)
            ),
        )
    if args.command == "views":
        return _rebuild_views(settings)
    if args.command == "project":
        from .views import project

        return project(settings)
    if args.command == "webhooks":
        from .app import dispatch

        dispatch(settings)
        return 0
    if args.command == "accounts" and args.action == "add-member":
        return _with_application(
            settings, lambda app: _account_json(app.add_member(args.owner_id, args.member_id, args.role))
        )
    if args.command == "accounts" and args.action == "list":
        return _with_application(
            settings, lambda app: {"data": [_account_json(account) for account in app.accounts()]}
        )
    if args.command == "accounts" and args.action == "show":
        return _with_application(settings, lambda app: _account_json(app.get_account(args.account_id)))
    if args.action == "list":
        return _with_application(settings, lambda app: _keys_json(app, app.keys_of(args.account_id)))
    if args.action == "revoke":
        return _with_application(settings, lambda app: _revoke(app, args.key_id))
    return _with_application(settings, lambda app: _issue(app, args))


def _issue(app: Driftstack, args: argparse.Namespace) -> dict[str, Any]:
    lifetime = parse_lifetime(args.expires_in) if args.expires_in is not None else None
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    key, plaintext, _ = app.issue_key(args.account_id, scopes, args.name, lifetime=lifetime)
    return {
        **stored_key_document(key),
        "key": plaintext,
        "note": "the key is shown once; only its SHA-256 hash is stored",
    }


def _revoke(app: Driftstack, key_id: str) -> dict[str, Any]:
    """Revokes, then waits (a few seconds at most) until the service's accounts view refuses it."""
    key, nid = app.revoke_key(key_id)
    # Revoked before: wait for every accounts event stored so far, that revocation included.
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    nid = nid or last_accounts_event(datastore, app.recorder.events_table_name)  # type: ignore[attr-defined]
    applied = view_holds(datastore, nid, REVOKE_WAIT_S)
    [shown] = _keys_json(app, [key])["data"]
    if applied:
        return {**shown, "in_effect": True}
    return {
        **shown,
        "in_effect": False,
        "note": "no running service has applied the revocation yet: a running one refuses the key once "
        "it does, and a service starting applies it before it serves",
    }


def _keys_json(app: Driftstack, keys: list[ApiKey]) -> dict[str, Any]:
    used = app.keys_last_used([f"key_{key.id}" for key in keys])
    return {"data": [stored_key_document(key, used.get(f"key_{key.id}")) for key in keys]}


if __name__ == "__main__":
    raise SystemExit(main())
