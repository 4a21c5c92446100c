"""The SQLite driver: short statements inline, waits and reports in the connection's
thread, and the busy timeout still honoured when another process holds the write lock."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine, read_only_factory, session_factory
from models.db.sqlite_driver import SQLiteConnection, SQLiteCursor


def _engine(path: Path, busy_timeout_ms: int = 5000) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_busy_timeout_ms=busy_timeout_ms)

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)  # type: ignore[attr-defined]

    return engine


async def _make_table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))


async def test_writes_run_on_the_loop_thread_and_reports_in_the_connections_thread(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path / "a.db")
    try:
        await _make_table(engine)
        async with session_factory(engine).begin() as session:
            writer = (await session.execute(text("SELECT thread_id()"))).scalar_one()
            await session.execute(text("INSERT INTO note (body) VALUES ('x')"))
        async with read_only_factory(engine)() as session:
            reader = (await session.execute(text("SELECT thread_id()"))).scalar_one()
            count = (await session.execute(text("SELECT count(*) FROM note"))).scalar_one()
        assert writer == threading.get_ident()
        assert reader != threading.get_ident()
        assert count == 1
    finally:
        await engine.dispose()


async def test_a_write_waits_for_another_process_lock_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "b.db"
    engine = _engine(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await _make_table(engine)
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        other.execute("INSERT INTO note (body) VALUES ('theirs')")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        async with session_factory(engine).begin() as session:
            await session.execute(text("INSERT INTO note (body) VALUES ('ours')"))
        ticking.cancel()
        assert ticks >= 10, "the event loop stood still while the write waited"
        async with engine.connect() as connection:
            bodies = (await connection.execute(text("SELECT body FROM note ORDER BY id"))).all()
        assert [body for (body,) in bodies] == ["theirs", "ours"]
    finally:
        other.close()
        await engine.dispose()


async def test_a_lock_held_past_the_busy_timeout_fails_cleanly_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.db"
    engine = _engine(path, busy_timeout_ms=200)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await _make_table(engine)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            async with session_factory(engine).begin() as session:
                await session.execute(text("INSERT INTO note (body) VALUES ('ours')"))
        other.execute("ROLLBACK")
        async with session_factory(engine).begin() as session:  # the connection still works
            await session.execute(text("INSERT INTO note (body) VALUES ('later')"))
        async with engine.connect() as connection:
            bodies = (await connection.execute(text("SELECT body FROM note"))).all()
        assert [body for (body,) in bodies] == ["later"]
    finally:
        other.close()
        await engine.dispose()


async def test_a_failed_statement_rolls_the_whole_transaction_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "d.db")
    try:
        await _make_table(engine)
        with pytest.raises(Exception, match="no such table"):
            async with session_factory(engine).begin() as session:
                await session.execute(text("INSERT INTO note (body) VALUES ('half')"))
                await session.execute(text("INSERT INTO missing (body) VALUES ('x')"))
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM note"))).scalar_one()
        assert count == 0
    finally:
        await engine.dispose()


async def test_streamed_results_and_bulk_inserts_go_through_the_thread(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "e.db")
    try:
        await _make_table(engine)
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO note (body) VALUES (?)", [(f"n{i}",) for i in range(2500)]
            )
        seen = 0
        async with engine.connect() as connection:
            result = await connection.stream(
                text("SELECT body FROM note ORDER BY id").execution_options(yield_per=1000)
            )
            async for partition in result.partitions():
                seen += len(partition)
        assert seen == 2500
    finally:
        await engine.dispose()


AWAITED = {
    "connection": ("cursor", "execute", "commit", "rollback", "close", "create_function"),
    "cursor": ("execute", "executemany", "fetchone", "fetchmany", "fetchall", "close"),
}
"""What SQLAlchemy's aiosqlite dialect awaits of a driver connection and its cursors."""


@pytest.mark.parametrize(
    ("ours", "theirs", "kind"),
    [
        (SQLiteConnection, aiosqlite.Connection, "connection"),
        (SQLiteCursor, aiosqlite.Cursor, "cursor"),
    ],
)
def test_our_connection_has_what_the_dialect_uses_of_aiosqlite(
    ours: type, theirs: type, kind: str
) -> None:
    """An aiosqlite release that renames one of these shows here, not in production."""
    for name in AWAITED[kind]:
        assert callable(getattr(theirs, name)), name
        assert inspect.iscoroutinefunction(getattr(ours, name)), name
    for name in ("description", "rowcount", "lastrowid") if kind == "cursor" else ():
        assert hasattr(theirs, name) and hasattr(ours, name), name
    if kind == "connection":  # the pool's terminate calls it without awaiting
        assert not inspect.iscoroutinefunction(theirs.stop)
        assert not inspect.iscoroutinefunction(ours.stop)


async def test_the_engine_s_connections_are_ours_behind_the_dialect(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "f.db")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, SQLiteConnection)
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
        assert (mode, keys) == ("wal", 1)
    finally:
        await engine.dispose()
