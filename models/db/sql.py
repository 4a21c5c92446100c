"""Small SQL constructs the ORM does not offer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement


class unindexed(FunctionElement[Any]):  # noqa: N801 - reads like a SQL function
    """A column the SQLite planner must not drive a query by (compiled ``+column``).

    SQLite's statistics know only the average rows per value: a term such as ``status =
    'held'`` on an indexed column looks selective even when nine rows in ten match, and
    the planner then walks the whole table through that index instead of starting from
    a narrow scope. A unary plus keeps the term as a filter only. Other databases plan
    with histograms and get the plain column."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _default(element: unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


IN_CHUNK = 1000
"""Values per ``IN (...)`` list: a long list of ids is read in chunks of this many."""


def is_postgres(session: AsyncSession) -> bool:
    """Whether ``session`` works on PostgreSQL (for its own settings and plans)."""
    return session.get_bind().dialect.name == "postgresql"


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE matched (a ``CursorResult``'s ``rowcount``)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rowcount needs the result of an INSERT, UPDATE or DELETE")
    return result.rowcount
