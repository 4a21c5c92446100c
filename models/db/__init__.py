"""Engines and sessions: SQLite tuned for concurrent use, PostgreSQL through asyncpg, and
the chat step's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import AsyncAdaptedQueuePool

from models.db.sqlite_driver import SQLiteConnection
from models.private_files import private_folder

READ_ONLY = {"sqlite_read_only": True}
"""Execution options for a read-only session: on SQLite it begins DEFERRED, not IMMEDIATE,
and runs in the connection's thread (reports must not stall the event loop)."""


def json_text(value: Any) -> str:
    """JSON columns (conversation state, payloads): orjson is several times faster than
    the standard library at what every chat step reads and writes. The text a JSON
    column stores for ``value``."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


JSON_CODEC = {"json_serializer": json_text, "json_deserializer": orjson.loads}


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
            private_folder(Path(database).parent)  # the data folder, 0700 when made here
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
        # No overflow: a connection made for a burst is closed again at its check-in, and
        # asyncpg's connect (with its type introspection) costs more than a whole chat
        # step; under load the churn put the p99 at three times the floor. Steps beyond
        # the pool's size wait in the pool's queue, first come first served.
        max_overflow=0,
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


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in a transaction, for a chat step: committed when the block ends, rolled
    back when it raises or is cancelled, and closed either way, in the caller's own task.

    ``sessions.begin()`` ends in two shielded tasks of its own: four turns of the event loop
    per step, each behind every callback then ready, which under load put the slowest
    steps (p99) at three to four times their time on both databases (bench/conversation.py).
    Here commit and close are one call into SQLAlchemy's synchronous core; only a failure
    closes in a shielded task, so that a second cancellation cannot leave the connection
    out of the pool."""
    session = sessions()
    try:
        yield session
        await session.run_sync(_commit_and_close)
    except BaseException:
        await asyncio.shield(session.close())  # rolls the transaction back
        raise


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()  # after a failed commit too: its transaction is rolled back


def read_only_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reports and listings: they never take SQLite's write lock."""
    return async_sessionmaker(engine.execution_options(**READ_ONLY), expire_on_commit=False)
