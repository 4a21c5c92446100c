"""The chat step's transaction: committed on success, rolled back on failure or
cancellation, and its connection back in the pool every time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import transaction
from models.tables import Channel, ChannelIdentity


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
