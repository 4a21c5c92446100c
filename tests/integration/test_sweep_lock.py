"""Sweep locks: on PostgreSQL one process runs a sweep at a time, and holding the lock
takes no connection from the pool the sweep itself works with (the pool has no overflow:
sweeps holding a pooled connection each while waiting for another would starve it)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from models.db import create_engine, session_factory
from models.db.locks import sweep_lock


async def test_sweeps_holding_their_locks_still_get_the_pool_s_one_connection(
    db_url: str,
) -> None:
    engine = create_engine(db_url, pool_size=1)
    sessions = session_factory(engine)

    async def sweep(name: str) -> bool:
        async with sweep_lock(engine, name) as granted:
            async with sessions.begin() as session:  # the sweep's own work
                await session.execute(text("SELECT 1"))
            return granted

    try:
        granted = await asyncio.wait_for(
            asyncio.gather(*(sweep(f"sweep-{n}") for n in range(4))), timeout=20
        )
        assert granted == [True] * 4
    finally:
        await engine.dispose()


async def test_a_sweep_another_process_runs_is_not_granted(db_url: str) -> None:
    engine = create_engine(db_url)
    if engine.dialect.name != "postgresql":
        await engine.dispose()
        pytest.skip("SQLite deployments run one scheduler process: the lock is always granted")
    other = create_engine(db_url)
    try:
        async with (
            sweep_lock(other, "reminders") as first,
            sweep_lock(engine, "reminders") as second,
        ):
            assert (first, second) == (True, False)
        async with sweep_lock(engine, "reminders") as after:
            assert after
    finally:
        await other.dispose()
        await engine.dispose()
