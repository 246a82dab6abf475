"""The `driftstack` command: run the service or a webhook dispatcher, create accounts, members and keys, rebuild the views."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from typing import Any

from . import logs
from .application import Driftstack
from .clock import iso
from .domain.account import ROLES
from .domain.errors import DomainError
from .domain.tiers import TIERS
from .settings import Settings
from .store import open_store


def _with_application(settings: Settings, command: Callable[[Driftstack], dict[str, Any]]) -> int:
    store = open_store(settings)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="driftstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

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

    keys = commands.add_parser("keys", help="issue API keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    key_create = key_commands.add_parser("create")
    key_create.add_argument("account_id")
    key_create.add_argument("--scopes", required=True, help="comma-separated: read,write,admin")
    key_create.add_argument("--name")

    webhooks = commands.add_parser("webhooks", help="deliver webhooks")
    webhook_commands = webhooks.add_subparsers(dest="action", required=True)
    webhook_commands.add_parser(
        "dispatch", help="run a dispatcher alone (beside `serve`'s own); any number can run at once"
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

    url = settings.database_url or start_embedded_postgres(settings.data_dir)
    dropped = rebuild_views(url)
    note = "the next start replays every event into the views"
    print(json.dumps({"dropped": dropped, "note": note}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_json)
    if args.command == "serve":
        from .app import serve

        overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
        serve(dataclasses.replace(settings, **overrides))
        return 0
    if args.command == "accounts" and args.action == "create":
        return _with_application(
            settings,
            lambda app: _account_json(
                app.create_account(args.name, args.tier, args.concurrency, args.profile_cap)
            ),
        )
    if args.command == "views":
        return _rebuild_views(settings)
    if args.command == "webhooks":
        from .app import dispatch

        dispatch(settings)
        return 0
    if args.command == "accounts" and args.action == "add-member":
        return _with_application(
            settings, lambda app: _account_json(app.add_member(args.owner_id, args.member_id, args.role))
        )

    def issue(app: Driftstack) -> dict[str, Any]:
        key, plaintext = app.issue_key(
            args.account_id, [s.strip() for s in args.scopes.split(",") if s.strip()], args.name
        )
        return {
            "id": f"key_{key.id}",
            "key": plaintext,
            "account_id": key.account_id,
            "scopes": key.scopes,
            "name": key.name,
            "created_at": iso(key.created_on),
            "note": "the key is shown once; only its SHA-256 hash is stored",
        }

    return _with_application(settings, issue)


if __name__ == "__main__":
    raise SystemExit(main())
