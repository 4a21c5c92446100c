"""SQLite under asyncio without a thread hop for every call.

SQLAlchemy's aiosqlite adapter sends each cursor call (open, execute, fetch, close) to
aiosqlite's thread and waits for the event loop to be woken: about 80 µs per hop, four
hops a statement, where the statement itself takes 5 µs. A chat step of six statements
spent most of its time there. This adapter keeps the same SQLite dialect and the same
``sqlite3`` connection but decides per call where it runs:

- **inline**, on the event loop's thread, for the short statements of a write
  transaction. The connection waits for no lock here (``busy_timeout`` 0): when another
  process holds the write lock the call fails at once with SQLITE_BUSY and is run again
  in the connection's own thread, where SQLite's busy handler waits up to the configured
  timeout. In WAL mode only taking the write lock can wait (readers never block), so a
  busy failure means nothing was done and running it again is what the busy handler
  itself would do;
- **in the connection's thread** for read-only transactions (reports, digests, exports:
  few statements, long scans), large ``executemany`` batches (bulk writes) and streamed
  results, so that long work never stalls the event loop.

A connection is used by one task at a time (the pool hands it out), so the two places
never touch it at once. Selected in :func:`models.db.create_engine` through SQLAlchemy's
``module`` argument; URLs stay ``sqlite+aiosqlite://``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from greenlet import getcurrent
from sqlalchemy.connectors.asyncio import AsyncAdapt_terminate
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.util import await_only

T = TypeVar("T")
INLINE_ROWS = 200
"""``executemany`` with up to this many rows runs inline (a kelompok's attendance marks);
larger batches (a sweep's reminders) run in the connection's thread."""
_SQLITE_BUSY = 5


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[Any, list[Any], int, int]:
    """Execute and fetch in one call: (description, rows, rowcount, lastrowid)."""
    cursor = connection.execute(operation, () if parameters is None else parameters)
    try:
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()


def _on_cursor(_connection: sqlite3.Connection, method: Callable[..., T], *args: Any) -> T:
    return method(*args)


def _run_many(connection: sqlite3.Connection, operation: str, rows: Any) -> tuple[int, int]:
    cursor = connection.executemany(operation, rows)
    try:
        return cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()


class InlineCursor:
    """A buffered DBAPI cursor: the statement runs and its rows are fetched in one call."""

    __slots__ = ("_adapt", "description", "rowcount", "lastrowid", "arraysize", "_rows")
    server_side = False

    def __init__(self, adapt: InlineConnection) -> None:
        self._adapt = adapt
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid = 0
        self.arraysize = 1
        self._rows: deque[Any] = deque()

    def execute(self, operation: str, parameters: Any = None) -> None:
        description, rows, self.rowcount, self.lastrowid = self._adapt.run(
            _run_statement, operation, parameters
        )
        self.description = description
        self._rows = deque(rows)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        self.description = None
        small = isinstance(seq_of_parameters, Sequence) and len(seq_of_parameters) <= INLINE_ROWS
        run = self._adapt.run if small else self._adapt.run_in_thread
        self.rowcount, self.lastrowid = run(_run_many, operation, seq_of_parameters)

    def setinputsizes(self, *inputsizes: Any) -> None:
        pass

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        return

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class StreamingCursor:
    """A server-side cursor (``stream()``, ``yield_per``): every call in the thread."""

    __slots__ = ("_adapt", "_cursor", "description", "rowcount", "lastrowid", "arraysize")
    server_side = True

    def __init__(self, adapt: InlineConnection) -> None:
        self._adapt = adapt
        self._cursor: sqlite3.Cursor | None = None
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid = 0
        self.arraysize = 1

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._cursor = self._adapt.run_in_thread(
            sqlite3.Connection.execute, operation, () if parameters is None else parameters
        )
        self.description = self._cursor.description

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        self.rowcount, self.lastrowid = self._adapt.run_in_thread(
            _run_many, operation, seq_of_parameters
        )

    def setinputsizes(self, *inputsizes: Any) -> None:
        pass

    def close(self) -> None:
        if self._cursor is not None:
            self._adapt.run_in_thread(_on_cursor, self._cursor.close)
            self._cursor = None

    async def _async_soft_close(self) -> None:
        return

    def fetchone(self) -> Any:
        assert self._cursor is not None
        return self._adapt.run_in_thread(_on_cursor, self._cursor.fetchone)

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        assert self._cursor is not None
        return self._adapt.run_in_thread(_on_cursor, self._cursor.fetchmany, size or self.arraysize)

    def fetchall(self) -> Sequence[Any]:
        assert self._cursor is not None
        return self._adapt.run_in_thread(_on_cursor, self._cursor.fetchall)


class InlineConnection(AsyncAdapt_terminate, AdaptedConnection):
    """The DBAPI connection SQLAlchemy sees: a ``sqlite3`` connection and its thread."""

    __slots__ = ("dbapi", "_executor", "_busy_timeout_ms", "_begin", "in_thread")

    def __init__(
        self, dbapi: Any, connection: sqlite3.Connection, executor: ThreadPoolExecutor,
        busy_timeout_ms: int,
    ) -> None:
        self.dbapi = dbapi
        self._connection = connection  # type: ignore[assignment]  # the adapter's own
        self._executor = executor
        self._busy_timeout_ms = busy_timeout_ms
        self._begin: str | None = None
        self.in_thread = False
        """True for the current transaction when every call goes to the thread."""

    @property
    def driver_connection(self) -> sqlite3.Connection:
        return self._connection  # type: ignore[return-value]

    # -- where a call runs -------------------------------------------------------------
    # Every function run here takes the sqlite3 connection as its first argument.

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run inline unless this transaction runs in the thread; a call that finds the
        database locked by another connection runs again in the thread, waiting."""
        if not self.in_thread:
            try:
                result = self._call(function, args)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
            else:
                _awaited_once()
                return result
        return self.run_in_thread(function, *args)

    def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run in the connection's thread with SQLite's busy handler switched on."""
        loop = asyncio.get_running_loop()
        return await_only(loop.run_in_executor(self._executor, self._waiting, function, args))

    def _waiting(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        self._connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            return self._call(function, args)
        finally:
            self._connection.execute("PRAGMA busy_timeout=0")

    def _call(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._begin is not None:  # a BEGIN that failed busy stays pending
            self._connection.execute(self._begin)
            self._begin = None
        return function(self._connection, *args)

    # -- transactions --------------------------------------------------------------------

    def begin(self, *, read_only: bool) -> None:
        """BEGIN IMMEDIATE for writers (they queue for the lock instead of deadlocking),
        DEFERRED for readers, whose whole transaction then runs in the thread. Sent with
        the transaction's first statement, so that SQLAlchemy reports its errors."""
        self.in_thread = read_only
        self._begin = "BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE"

    def commit(self) -> None:
        self._finish("commit")

    def rollback(self) -> None:
        self._finish("rollback")

    def _finish(self, how: str) -> None:
        try:
            if self._begin is None:
                self.run(_end, how)
        finally:
            self._begin, self.in_thread = None, False

    # -- the rest of the DBAPI ------------------------------------------------------------

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._connection.create_function(*args, **kw)

    def cursor(self, server_side: bool = False) -> InlineCursor | StreamingCursor:
        return StreamingCursor(self) if server_side else InlineCursor(self)

    def execute(self, operation: str, parameters: Any = None) -> InlineCursor:
        cursor = InlineCursor(self)
        cursor.execute(operation, parameters)
        return cursor

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await_only(loop.run_in_executor(self._executor, self._connection.close))
        finally:
            self._executor.shutdown(wait=False)

    async def _terminate_graceful_close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=False)

    def _terminate_force_close(self) -> None:
        self._executor.shutdown(wait=False)
        self._connection.close()


async def _done() -> None:
    return None


def _awaited_once() -> None:
    """SQLAlchemy's async API checks that the driver awaited something in each greenlet
    it runs a call in. A coroutine that is done at once satisfies it (two greenlet
    switches, no loop turn); once per greenlet is enough, not once per statement."""
    current = getcurrent()
    if not getattr(current, "inline_awaited", False):
        await_only(_done())
        current.inline_awaited = True


def _end(connection: sqlite3.Connection, how: str) -> None:
    if connection.in_transaction:
        getattr(connection, how)()


class InlineSQLiteDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module handed to SQLAlchemy's aiosqlite dialect (``module=``)."""

    def __init__(self, busy_timeout_ms: int) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.busy_timeout_ms = busy_timeout_ms

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:  # type: ignore[override]
        kw.pop("async_fallback", None)
        kw.pop("timeout", None)  # the busy wait is ours: see InlineConnection.run
        kw["check_same_thread"] = False  # the loop's thread and the connection's own
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        opening = loop.run_in_executor(
            executor, partial(sqlite3.connect, *arg, timeout=0, **kw)
        )
        try:
            connection = await_only(opening)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return InlineConnection(self, connection, executor, self.busy_timeout_ms)
