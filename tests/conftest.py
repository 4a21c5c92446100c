"""Shared fixtures: a guard against the internet, and migrated databases.

Database tests run on SQLite always and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
With it set, an unreachable server fails the run; without it, the PostgreSQL cases skip
with a reason that ``-ra`` prints. Each run on PostgreSQL works in a database of its own,
dropped afterwards, and every test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import event_loop
from models.base import Base
from models.db import create_engine, session_factory
from models.db.migrate import upgrade

PG_ENV = "TEST_DATABASE_URL"
PG_SKIP_REASON = f"{PG_ENV} is not set: PostgreSQL tests skipped (CI sets it in .ci/run)"

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) else str(address)
        if not (host == "localhost" or host.startswith("127.") or host == "::1"):
            raise RuntimeError(f"test tried to reach the network at {host!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_internet() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests run last: Playwright's sync API drives an event loop of its own
    in the main thread while a browser is open, which no asyncio test may meet."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on the loop the bot runs on (uvloop where it exists)."""
    return {event_loop.loop_name(): event_loop.new_event_loop}


def _run(coro: object) -> object:
    return event_loop.run(coro)  # type: ignore[arg-type]


async def _admin_execute(server_url: str, statement: str) -> None:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_pg_database(server_url: str) -> str:
    """Create an empty database of this run's own; return its URL."""
    name = f"pendamping_test_{uuid.uuid4().hex[:12]}"
    try:
        _run(_admin_execute(server_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server named by TEST_DATABASE_URL must be there
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    _run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    return url


@pytest.fixture(scope="session")
def _pg_migrated(pg_server_url: str) -> Iterator[str]:
    url = create_pg_database(pg_server_url)
    _run(_migrate(url))
    yield url
    drop_pg_database(pg_server_url, url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated, empty database: SQLite, then PostgreSQL when available."""
    if request.param == "sqlite":
        path = tmp_path / "pendamping.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("_pg_migrated")
    yield url
    _run(_truncate_all(url))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all, for migration tests."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("pg_server_url")
    url = create_pg_database(server)
    yield url
    drop_pg_database(server, url)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)
