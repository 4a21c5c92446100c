"""Bulk inserts of roster rows: one INSERT of many rows, compiled once and run in the fastest
way each database offers (SQLite's own executemany, PostgreSQL's "insertmanyvalues")."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection


class BulkInsert:
    """An INSERT of many rows, in the fastest way each database offers.

    SQLite: the driver's own executemany (a loop in C). SQLAlchemy's executemany would
    run every value of every row through its parameter handling, which takes longer
    than SQLite takes to store the row; here the statement is compiled once by
    SQLAlchemy, values that are the same for every row are converted once, and per-row
    values only when their column type needs it on SQLite (dates, enums).
    PostgreSQL: SQLAlchemy's "insertmanyvalues" (a thousand rows per INSERT ... VALUES),
    chosen by asking for RETURNING; asyncpg's executemany sends one row at a time.
    """

    def __init__(
        self, connection: AsyncConnection, table: Table, columns: tuple[str, ...],
        constants: dict[str, Any],
    ) -> None:
        dialect = connection.dialect
        self._connection = connection
        self._table = table
        self._keys = keys = (*columns, *constants)
        self._raw_constants = tuple(constants.values())
        self._native = dialect.name == "sqlite"
        compiled = insert(table).compile(
            dialect=dialect, column_keys=list(keys), for_executemany=True  # no RETURNING
        )
        order = compiled.positiontup
        if order is None or sorted(order) != sorted(keys):  # e.g. a column default left out
            raise RuntimeError(f"cannot bulk insert into {table.name} on {dialect.name}")
        self._sql = compiled.string

        def processor(key: str) -> Callable[[Any], Any] | None:
            return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)

        self._converters = [
            (position, convert) for position, key in enumerate(columns)
            if (convert := processor(key)) is not None
        ]
        self._constants = tuple(
            convert(value) if (convert := processor(key)) else value
            for key, value in constants.items()
        )
        self._order = itemgetter(*(keys.index(key) for key in order))

    async def __call__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        if not self._native:
            keys, constants = self._keys, self._raw_constants
            await self._connection.execute(
                insert(self._table).returning(self._table.c.id),
                [dict(zip(keys, row + constants, strict=True)) for row in rows],
            )
            return
        constants, order, converters = self._constants, self._order, self._converters
        params = []
        for row in rows:
            if converters:
                values = list(row)
                for position, convert in converters:
                    values[position] = convert(values[position])
                row = tuple(values)
            params.append(order(row + constants))
        await self._connection.exec_driver_sql(self._sql, params)
