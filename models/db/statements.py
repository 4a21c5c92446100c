"""Statements SQLAlchemy compiles once per database, on public constructs only.

SQLAlchemy 2.0 gives the dialects' own INSERT constructs (``ON CONFLICT ...`` on SQLite and
PostgreSQL) no cache key (sqlalchemy/sqlalchemy#10445), so each execution compiles the
statement again: about 0.1 ms of CPU for an ``INSERT ... ON CONFLICT DO NOTHING``. A
``text()`` statement has a cache key and is compiled once; SQLite (3.24 and later) and
PostgreSQL accept the same ``ON CONFLICT`` SQL, and typed bound parameters convert the
values (enums, aware datetimes) as the table's columns do.

The dialects' constructs (:func:`upsert_insert`) stay for statements that are not on a
chat step's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(dialect: str) -> Any:
    """The ``insert`` of a database (``session.bind.dialect.name``), the one with
    ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert_text(
    table: Table, columns: Sequence[str], *, conflict: Sequence[str], update: Sequence[str] = ()
) -> TextClause:
    """``INSERT INTO table (columns) VALUES (:columns) ON CONFLICT (conflict) DO NOTHING``,
    or ``DO UPDATE SET`` each of ``update`` to the value offered. Every column named must
    be given at execution (Python-side column defaults do not apply to ``text()``)."""
    for name in (*columns, *conflict, *update):
        if name not in table.c:
            raise KeyError(f"{table.name} has no column {name!r}")
    action = (
        "DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in update)
        if update
        else "DO NOTHING"
    )
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + name for name in columns)}) "
        f"ON CONFLICT ({', '.join(conflict)}) {action}"
    )
    return text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))
