"""SQLite under asyncio without a thread hop for every call, on public APIs only.

SQLAlchemy's aiosqlite dialect drives an ``aiosqlite.Connection`` through its public
coroutines (``cursor``, ``execute``, ``fetchall``, ``commit``...). aiosqlite runs each of
them in its thread and wakes the event loop with the result: about 80 µs a hop, four hops
a statement, where the statement itself takes 5 µs. ``create_async_engine`` takes an
``async_creator`` (documented: "an async callable which returns a driver-level asyncio
connection"), so the engine is handed :class:`SQLiteConnection` instead: the same
coroutines, over a ``sqlite3`` connection and a thread of its own, deciding per call
where it runs:

- **inline**, on the event loop's thread, for the short statements of a write
  transaction. The connection waits for no lock here (``busy_timeout`` 0): when another
  process holds the write lock the call fails at once with SQLITE_BUSY and is run again
  in the connection's thread, where SQLite's busy handler waits up to the configured
  timeout. In WAL mode only taking the write lock can wait (readers never block), so a
  busy failure means nothing was done, and running it again is what the busy handler
  itself would do;
- **in the connection's thread** for read-only transactions (reports, digests, exports:
  few statements, long scans) and large ``executemany`` batches (a sweep's reminders),
  so that long work never stalls the event loop.

A coroutine that runs inline finishes without suspending, so SQLAlchemy's ``await`` of it
costs two greenlet switches and no turn of the event loop. A connection is used by one
task at a time (the pool hands it out), so the loop's thread and the connection's thread
never touch it at once. Nothing here subclasses or reads anything private of SQLAlchemy
or aiosqlite; what the dialect calls is listed in ``tests/integration/test_sqlite_driver.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from models.private_files import create_private_file, tighten_sqlite_sidecars

T = TypeVar("T")
INLINE_ROWS = 200
"""``executemany`` with up to this many rows runs inline (a kelompok's attendance marks);
larger batches (a sweep's reminders) run in the connection's thread."""
SQLITE_BUSY = 5
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")


def is_busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == SQLITE_BUSY


class SQLiteCursor:
    """The cursor coroutines the dialect awaits, over one ``sqlite3`` cursor."""

    def __init__(self, owner: SQLiteConnection) -> None:
        self.owner = owner
        self.cursor: sqlite3.Cursor | None = None
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self.cursor.description if self.cursor is not None else None

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount if self.cursor is not None else -1

    @property
    def lastrowid(self) -> int | None:
        return self.cursor.lastrowid if self.cursor is not None else None

    async def execute(self, sql: str, parameters: Any = None) -> SQLiteCursor:
        self.cursor = await self.owner.run(
            sqlite3.Connection.execute, sql, () if parameters is None else parameters
        )
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> SQLiteCursor:
        small = isinstance(parameters, Sequence) and len(parameters) <= INLINE_ROWS
        run = self.owner.run if small else self.owner.run_in_thread
        self.cursor = await run(sqlite3.Connection.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return await self.owner.fetch(self.live.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return await self.owner.fetch(self.live.fetchmany, size or self.arraysize)

    async def fetchall(self) -> list[Any]:
        return await self.owner.fetch(self.live.fetchall)

    async def close(self) -> None:
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None

    @property
    def live(self) -> sqlite3.Cursor:
        if self.cursor is None:
            raise sqlite3.ProgrammingError("the cursor has no statement")
        return self.cursor


class SQLiteConnection:
    """What the aiosqlite dialect needs of a driver connection, run inline or in a thread."""

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, busy_timeout_ms: int
    ) -> None:
        self.connection = connection
        self.executor = executor
        self.busy_timeout_ms = busy_timeout_ms
        self.pending_begin: str | None = None
        """A BEGIN not sent yet: it goes with the transaction's first statement."""
        self.in_thread = False
        """True for the current transaction when every call goes to the thread."""

    @classmethod
    async def open(
        cls, database: str, *, busy_timeout_ms: int, uri: bool = False
    ) -> SQLiteConnection:
        """Connect in a new thread of its own, in autocommit mode (BEGIN is ours to send)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        connect = partial(
            sqlite3.connect, database, timeout=0, isolation_level=None,
            check_same_thread=False, uri=uri,  # the loop's thread and the connection's own
        )
        on_disk = Path(database) if database != ":memory:" and not uri else None
        loop = asyncio.get_running_loop()
        try:
            if on_disk is not None:  # created 0600 before SQLite would create it 0644
                await loop.run_in_executor(executor, create_private_file, on_disk)
            connection = await loop.run_in_executor(executor, connect)
            for pragma in PRAGMAS:
                connection.execute(pragma).close()
            if on_disk is not None:  # the -wal and -shm that WAL mode has opened
                await loop.run_in_executor(executor, tighten_sqlite_sidecars, on_disk)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection, executor, busy_timeout_ms)

    # -- transactions (called from the engine's "begin" event) -----------------------

    def begin(self, *, read_only: bool) -> None:
        """BEGIN IMMEDIATE for writers (they queue for the lock instead of deadlocking),
        DEFERRED for readers, whose whole transaction then runs in the thread."""
        self.in_thread = read_only
        self.pending_begin = "BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE"

    async def commit(self) -> None:
        await self.finish("COMMIT")

    async def rollback(self) -> None:
        await self.finish("ROLLBACK")

    async def finish(self, how: str) -> None:
        try:
            if self.pending_begin is None and self.connection.in_transaction:
                await self.run(sqlite3.Connection.execute, how)
        finally:
            self.pending_begin, self.in_thread = None, False

    # -- where a call runs -----------------------------------------------------------
    # Every function run here takes the sqlite3 connection as its first argument.

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Inline unless this transaction runs in the thread; a call that finds the
        database locked by another process runs again in the thread, waiting."""
        if not self.in_thread:
            try:
                return self.call(function, args)
            except sqlite3.OperationalError as error:
                if not is_busy(error):
                    raise
        return await self.run_in_thread(function, *args)

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """In the connection's thread, with SQLite's busy handler switched on."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.waiting, function, args)

    async def fetch(self, method: Callable[..., T], *args: Any) -> T:
        """A cursor's fetch: where the transaction's statements run."""
        if self.in_thread:
            return await asyncio.get_running_loop().run_in_executor(self.executor, method, *args)
        return method(*args)

    def waiting(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        self.connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        try:
            return self.call(function, args)
        finally:
            self.connection.execute("PRAGMA busy_timeout=0")

    def call(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self.pending_begin is not None:  # a BEGIN that failed busy stays pending
            self.connection.execute(self.pending_begin)
            self.pending_begin = None
        return function(self.connection, *args)

    # -- the rest of aiosqlite.Connection that the dialect uses ----------------------

    @property
    def isolation_level(self) -> str | None:
        return self.connection.isolation_level

    async def cursor(self) -> SQLiteCursor:
        return SQLiteCursor(self)

    async def execute(self, sql: str, parameters: Any = None) -> SQLiteCursor:
        return await SQLiteCursor(self).execute(sql, parameters)

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self.connection.create_function(*args, **kw)

    async def close(self) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.connection.close)
        finally:
            self.executor.shutdown(wait=False)

    def stop(self) -> None:
        """Close at once (the pool's terminate, when the loop may be gone)."""
        self.executor.shutdown(wait=False)
        self.connection.close()
