"""How `serve`'s first line names the store: where it is, never its password."""

from __future__ import annotations

from pathlib import Path

from driftstack.store import Store


def test_a_server_store_is_named_by_user_host_and_database_without_its_password() -> None:
    described = Store("postgresql://bob:s3cret@db.example:6543/ds", "key").describe()
    assert described == "PostgreSQL bob@db.example:6543/ds" and "s3cret" not in described
    socket = Store("postgresql://postgres:@/postgres?host=/run/pg", "key").describe()
    assert socket == "PostgreSQL postgres on the socket in /run/pg, database postgres"


def test_an_embedded_store_is_named_by_its_data_directory() -> None:
    store = Store("postgresql://postgres:@/postgres?host=/d/postgres", "key", embedded_at=Path("/d/postgres"))
    assert store.describe() == "embedded PostgreSQL at /d/postgres"
