"""A chat step's transaction (``models.db.transaction``, as the engine and the inbox use it):
committed on success, rolled back on failure, on a failed commit and on cancellation, and
its connection back in the pool every time, on both databases and our SQLite driver."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import transaction
from models.enums import Channel
from models.tables import ChannelIdentity


async def _addresses(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ChannelIdentity)) or 0)


async def test_commits_rolls_back_and_returns_the_connection(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _addresses(sessions)
    async with transaction(sessions) as session:
        session.add(ChannelIdentity(address="telegram:1", channel=Channel.TELEGRAM))
    assert await _addresses(sessions) == before + 1

    with pytest.raises(RuntimeError, match="boom"):
        async with transaction(sessions) as session:
            session.add(ChannelIdentity(address="telegram:2", channel=Channel.TELEGRAM))
            await session.flush()
            raise RuntimeError("boom")
    assert await _addresses(sessions) == before + 1
    assert engine.sync_engine.pool.checkedout() == 0


async def test_a_commit_that_fails_writes_nothing_and_frees_its_connection(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:
        session.add(ChannelIdentity(address="telegram:5", channel=Channel.TELEGRAM))
    before = await _addresses(sessions)
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            session.add(ChannelIdentity(address="telegram:6", channel=Channel.TELEGRAM))
            await session.execute(select(1))
            # Flushed only at the commit: the address is taken, so the commit fails.
            session.add(ChannelIdentity(address="telegram:5", channel=Channel.TELEGRAM))
    assert not session.in_transaction() and not session.new  # closed after the failure
    assert await _addresses(sessions) == before
    assert engine.sync_engine.pool.checkedout() == 0
    async with transaction(sessions) as session:  # usable again
        session.add(ChannelIdentity(address="telegram:6", channel=Channel.TELEGRAM))
    assert await _addresses(sessions) == before + 1


async def test_a_cancelled_step_writes_nothing_and_frees_its_connection(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _addresses(sessions)
    inside = asyncio.Event()

    async def step() -> None:
        async with transaction(sessions) as session:
            session.add(ChannelIdentity(address="telegram:3", channel=Channel.TELEGRAM))
            await session.flush()
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(step())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.sync_engine.pool.checkedout() == 0
    assert await _addresses(sessions) == before
