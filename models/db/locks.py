"""Advisory locks: on PostgreSQL only one process runs a given sweep at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


@asynccontextmanager
async def sweep_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Hold the advisory lock for ``name`` while the block runs; yields False when another
    process holds it. SQLite deployments run one scheduler process: always granted."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = func.hashtext(f"pendamping:{name}")
    # The lock's session is a connection of its own, outside the pool: the sweep works on
    # pooled connections meanwhile, and several sweeps holding a pooled connection each
    # while waiting for another would starve the pool (it has no overflow).
    outside = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with outside.connect() as connection:
            granted = bool(await connection.scalar(select(func.pg_try_advisory_lock(key))))
            try:
                yield granted
            finally:
                if granted:
                    await connection.scalar(select(func.pg_advisory_unlock(key)))
    finally:
        await outside.dispose()
