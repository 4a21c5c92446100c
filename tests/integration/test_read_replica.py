"""``database.read_url``: reports and listings read from a PostgreSQL replica while writes
go to the primary. Stood in for here by a second database (what a replica shows that the
primary does not is what proves the read went there)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from models.db import create_engine, session_factory
from models.enums import Channel
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.tables import Invite
from tests.cli_text import flat
from tests.conftest import _migrate, create_pg_database, drop_pg_database
from tests.integration.test_cli import invoke


@pytest.fixture
def replica_url(pg_server_url: str) -> Iterator[str]:
    url = create_pg_database(pg_server_url)
    asyncio.run(_migrate(url))
    yield url
    drop_pg_database(pg_server_url, url)


async def _queue_on(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            await enqueue(session, [
                Enqueue(Channel.TELEGRAM, f"telegram:{n + 1}", "reply", {"text": "-"},
                        Priority.REPLY)
                for n in range(count)
            ], now=datetime.now(UTC))
    finally:
        await engine.dispose()


async def _invites(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Invite)) or 0)
    finally:
        await engine.dispose()


def test_listings_read_the_replica_and_writes_go_to_the_primary(
    db_url: str, replica_url: str
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("a replica is PostgreSQL's")
    asyncio.run(_queue_on(replica_url, 7))  # only the replica has these
    replica = {"PENDAMPING_DATABASE_READ_URL": replica_url}
    from_replica = invoke(db_url, "outbox", extra_env=replica)
    from_primary = invoke(db_url, "outbox")
    assert "7" in flat(from_replica.output) and "telegram" in from_replica.output
    assert "telegram" not in from_primary.output
    invited = invoke(db_url, "invite", "--role", "pendamping", "--name", "Ani Suryani",
                     extra_env=replica)
    assert invited.exit_code == 0, invited.output
    assert asyncio.run(_invites(db_url)) == 1 and asyncio.run(_invites(replica_url)) == 0


def test_a_replica_must_be_postgresql(db_url: str) -> None:
    result = invoke(db_url, "outbox",
                    extra_env={"PENDAMPING_DATABASE_READ_URL": "sqlite+aiosqlite:///x.db"})
    assert result.exit_code != 0 and "database.read_url" in flat(result.output)
