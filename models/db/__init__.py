"""Engines and sessions: SQLite tuned for concurrent use, PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from models.db.sqlite_driver import SQLiteConnection

READ_ONLY = {"sqlite_read_only": True}
"""Execution options for a read-only session: on SQLite it begins DEFERRED, not IMMEDIATE,
and runs in the connection's thread (reports must not stall the event loop)."""


def _json_text(value: Any) -> str:
    """JSON columns (conversation state, payloads): orjson is several times faster than
    the standard library at what every chat step reads and writes."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


JSON_CODEC = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 5,
    sqlite_busy_timeout_ms: int = 5000,
    connect_args: dict[str, Any] | None = None,
) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout, foreign keys and
    write transactions begun IMMEDIATE (so two writers queue instead of deadlocking)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {}
        if database and database != ":memory:":
            # One connection per process: writers queue in order in the pool instead of
            # spinning in SQLite's busy handler (which retries with sleeps, out of order,
            # and fails under load). Other processes still wait on the busy timeout.
            pool = {
                "poolclass": AsyncAdaptedQueuePool,
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": max(30.0, sqlite_busy_timeout_ms / 1000),
            }
        # The driver connection is ours (models.db.sqlite_driver), handed to SQLAlchemy's
        # aiosqlite dialect through the documented ``async_creator``.
        creator = partial(
            SQLiteConnection.open,
            database or ":memory:",
            busy_timeout_ms=sqlite_busy_timeout_ms,
            uri=database.startswith("file:"),
        )
        engine = create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            async_creator=creator,
            **JSON_CODEC,
            **pool,
        )
        _tune_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,  # SQL errors must not carry NIKs or names into logs
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: asyncpg's costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout, as much as a whole chat step. A connection that was dropped fails its
        # first statement instead; the engine runs such a message again on a fresh one.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=connect_args or {},
        **JSON_CODEC,
    )


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        driver = connection.connection.driver_connection
        assert isinstance(driver, SQLiteConnection)
        driver.begin(read_only=bool(connection.get_execution_options().get("sqlite_read_only")))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@dataclass(eq=False)
class _Held:
    connection: AsyncConnection
    since: float
    """When it left the pool (event-loop time)."""
    idle_since: float = 0.0


class HeldConnections:
    """Connections kept out of the pool between chat steps, for one database.

    A pool checkout and check-in, with the ``Connection`` SQLAlchemy builds around them,
    cost a chat step over a tenth of its instructions (callgrind). Under load the next
    step comes within a few milliseconds, so a connection that has just committed is
    handed to it instead:

    - at most as many connections as the pool's size serve chat steps; a step that finds
      them all busy waits here, first come first served, and is handed the next one freed;
    - a connection nobody waits for goes back to the pool once idle for ``linger_s`` (a
      quiet server holds nothing), and any of them after ``hold_s`` out of the pool, so
      that whoever else waits in the pool (the dispatcher, the sweeps; on SQLite the pool
      has one connection) gets a turn under continuous load;
    - a step that failed or was cancelled never hands its connection on: it goes back to
      the pool, which discards it when it was invalidated;
    - pools that do not queue (SQLite in memory) are used as they are.
    """

    def __init__(self, engine: AsyncEngine, *, linger_s: float = 0.005, hold_s: float = 0.1):
        pool = engine.sync_engine.pool  # (the engine itself is not kept: the registry's key)
        self._keep = pool.size() if isinstance(pool, QueuePool) else 0
        self._linger_s = linger_s
        self._hold_s = hold_s
        self._out = 0  # connections out of the pool for chat steps, or reserved for one
        self._idle: list[_Held] = []  # the most recently used last
        self._waiting: deque[asyncio.Future[_Held | None]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def transaction(
        self, sessions: async_sessionmaker[AsyncSession], *, first: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A session of ``sessions`` in a transaction on a kept connection: committed (or
        rolled back) and closed in the caller's task. (SQLAlchemy's ``sessions.begin()``
        runs its exit in two shielded tasks of their own: four turns of the event loop
        per step.) After a commit the connection is handed on without an await; after a
        failure it goes back to the pool in a task that a cancellation cannot stop.
        ``first`` puts the caller at the head of the queue of waiting steps: a webhook
        storing what arrived, which the provider waits for, goes before the steps that
        handle what is already stored."""
        held = await self._acquire(sessions.kw["bind"], first=first)
        committed = False
        try:
            # The session begins the connection's transaction with its first statement
            # and ends it: commit and close run in one call into SQLAlchemy's synchronous
            # core. Each call from asyncio costs a greenlet of its own (8 µs here), and
            # beginning, flushing, committing and closing one by one took four.
            session = sessions(bind=held.connection)
            try:
                yield session
            except BaseException:
                await session.close()  # rolls the transaction back
                raise
            await session.run_sync(_commit_and_close)
            committed = True
        finally:
            if committed:
                self._hand_on(held)
            else:  # back to the pool even when this task is cancelled while it goes
                if held.connection.invalidated:  # the server went away: so did the others
                    self._idle_to_pool()
                await asyncio.shield(self._to_pool(held))

    async def _acquire(self, engine: AsyncEngine, *, first: bool = False) -> _Held:
        if self._idle:
            return self._idle.pop()
        if self._keep and self._out >= self._keep:
            waiter = asyncio.get_running_loop().create_future()
            if first:
                self._waiting.appendleft(waiter)
            else:
                self._waiting.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over as it was cancelled
                    self._pass_on(waiter.result())
                elif waiter in self._waiting:
                    self._waiting.remove(waiter)
                raise
            if handed is not None:
                return handed
        elif self._keep:
            self._out += 1
        # A place is reserved for this step: it takes a connection from the pool.
        try:
            connection = await engine.connect()
        except BaseException:
            if self._keep:
                self._pass_on(None)
            raise
        return _Held(connection, since=asyncio.get_running_loop().time())

    def _pass_on(self, handed: _Held | None) -> None:
        """A connection (or a reserved place, None) that its waiter cannot use."""
        if handed is not None:
            self._hand_on(handed)
            return
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(None)
        else:
            self._out -= 1

    def _next_waiter(self) -> asyncio.Future[_Held | None] | None:
        """The first step still waiting (one cancelled leaves the queue only when its task
        next runs)."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                return waiter
        return None

    def _hand_on(self, held: _Held) -> None:
        """After a commit; no await, so that nothing can interrupt it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._keep or now - held.since >= self._hold_s or held.connection.invalidated:
            self._to_pool(held)
        elif (waiter := self._next_waiter()) is not None:
            waiter.set_result(held)
        else:
            held.idle_since = now
            self._idle.append(held)
            if self._timer is None:
                self._timer = loop.call_later(self._linger_s, self._expire)

    def _to_pool(self, held: _Held) -> asyncio.Task[None]:
        """Back to the pool; a step waiting here gets the place and queues in the pool
        behind whoever else waits there."""
        task = asyncio.get_running_loop().create_task(held.connection.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        if self._keep:
            self._pass_on(None)
        return task

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._idle and now - self._idle[0].idle_since >= self._linger_s:
            self._to_pool(self._idle.pop(0))
        if self._idle:
            wait = self._linger_s - (now - self._idle[0].idle_since)
            self._timer = loop.call_later(max(wait, 0.0), self._expire)

    def _idle_to_pool(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._idle:
            self._to_pool(self._idle.pop())

    async def release(self) -> None:
        """Return every idle connection to the pool now."""
        self._idle_to_pool()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()  # after a failed commit too: its transaction is rolled back


_HELD: WeakKeyDictionary[AsyncEngine, HeldConnections] = WeakKeyDictionary()


def held_connections(sessions: async_sessionmaker[AsyncSession]) -> HeldConnections:
    """The kept connections of the database ``sessions`` are bound to (one set for every
    chat engine on it: on SQLite they share the pool's one connection)."""
    engine = sessions.kw["bind"]
    held = _HELD.get(engine)
    if held is None:
        held = _HELD[engine] = HeldConnections(engine)
    return held


async def release_held(engine: AsyncEngine) -> None:
    """Return the connections kept for chat steps to the pool (before another user of a
    one-connection SQLite pool must have it at once, and before disposing)."""
    held = _HELD.get(engine)
    if held is not None:
        await held.release()


async def dispose(engine: AsyncEngine) -> None:
    """``engine.dispose()``, after the connections kept for chat steps are back."""
    await release_held(engine)
    await engine.dispose()


def read_only_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reports and listings: they never take SQLite's write lock."""
    return async_sessionmaker(engine.execution_options(**READ_ONLY), expire_on_commit=False)
