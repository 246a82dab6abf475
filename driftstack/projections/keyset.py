"""Newest-first keyset pages: the one query shape every cursor-paginated list reads with."""

from __future__ import annotations

from typing import Any


def newest_first(
    select: str,
    table: str,
    *,
    sort: str,
    where: list[tuple[str, Any]],
    after: tuple[Any, Any] | None,
    limit: int,
    always: str | None = None,
) -> tuple[str, list[Any]]:
    """The asyncpg query and arguments of one page, ordered by (`sort`, id) descending.

    `where` holds (clause, value) pairs, `{}` in the clause standing for the value's placeholder;
    `after` is the (sort value, id) of the previous page's last row. Comparing the pair as a row
    keeps a page at any depth one index range scan.
    """
    clauses = [always] if always else []
    args: list[Any] = []
    for clause, value in where:
        args.append(value)
        clauses.append(clause.format(f"${len(args)}"))
    if after is not None:
        args.extend(after)
        clauses.append(f"({sort}, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    query = (
        f"SELECT {select} FROM {table} WHERE {' AND '.join(clauses)}"
        f" ORDER BY {sort} DESC, id DESC LIMIT ${len(args)}"
    )
    return query, args
