"""The chat step's transaction: committed on success, rolled back on failure or
cancellation; its connection kept for the next step only after a commit, and back in the
pool once idle, after a while under continuous load, and at once after a failure."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import HeldConnections, dispose, held_connections
from models.enums import Channel
from models.tables import ChannelIdentity


async def _addresses(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ChannelIdentity)) or 0)


async def test_commits_rolls_back_and_returns_the_connection(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _addresses(sessions)
    async with held_connections(sessions).transaction(sessions) as session:
        session.add(ChannelIdentity(address="telegram:1", channel=Channel.TELEGRAM))
    assert await _addresses(sessions) == before + 1

    with pytest.raises(RuntimeError, match="boom"):
        async with held_connections(sessions).transaction(sessions) as session:
            session.add(ChannelIdentity(address="telegram:2", channel=Channel.TELEGRAM))
            await session.flush()
            raise RuntimeError("boom")
    assert await _addresses(sessions) == before + 1
    assert engine.sync_engine.pool.checkedout() == 0
    assert held_connections(sessions).idle == 0


async def test_a_commit_that_fails_writes_nothing_and_frees_its_connection(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with held_connections(sessions).transaction(sessions) as session:
        session.add(ChannelIdentity(address="telegram:5", channel=Channel.TELEGRAM))
    before = await _addresses(sessions)
    with pytest.raises(IntegrityError):
        async with held_connections(sessions).transaction(sessions) as session:
            session.add(ChannelIdentity(address="telegram:6", channel=Channel.TELEGRAM))
            await session.execute(select(1))
            # Flushed only at the commit: the address is taken, so the commit fails.
            session.add(ChannelIdentity(address="telegram:5", channel=Channel.TELEGRAM))
    assert not session.in_transaction() and not session.new  # closed after the failure
    assert await _addresses(sessions) == before
    assert engine.sync_engine.pool.checkedout() == 0
    assert held_connections(sessions).idle == 0
    async with held_connections(sessions).transaction(sessions) as session:  # usable again
        session.add(ChannelIdentity(address="telegram:6", channel=Channel.TELEGRAM))
    assert await _addresses(sessions) == before + 1


async def test_a_cancelled_step_writes_nothing_and_frees_its_connection(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _addresses(sessions)
    inside = asyncio.Event()

    async def step() -> None:
        async with held_connections(sessions).transaction(sessions) as session:
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


def _checkouts(engine: AsyncEngine) -> list[object]:
    """The DBAPI connections handed out by the pool, in order."""
    seen: list[object] = []

    def on_checkout(dbapi_connection: object, *_: object) -> None:
        seen.append(dbapi_connection)

    event.listen(engine.sync_engine.pool, "checkout", on_checkout)
    return seen


async def _steps(sessions: async_sessionmaker[AsyncSession], held: HeldConnections, n: int) -> None:
    for _ in range(n):
        async with held.transaction(sessions) as session:
            await session.execute(select(1))


async def test_a_committed_steps_connection_is_kept_for_the_next_then_returned_when_idle(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    checkouts = _checkouts(engine)
    held = HeldConnections(engine, linger_s=0.05, hold_s=60)
    await _steps(sessions, held, 5)
    assert len(checkouts) == 1  # one checkout served the five steps
    assert held.idle == 1 and engine.sync_engine.pool.checkedout() == 1
    await asyncio.sleep(0.2)  # idle for longer than the linger time: back in the pool
    assert held.idle == 0 and engine.sync_engine.pool.checkedout() == 0
    await _steps(sessions, held, 1)
    assert len(checkouts) == 2
    await held.release()


async def test_under_continuous_load_the_pool_gets_its_connection_back(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Steps one after another never leave it idle; it still goes back after hold_s,
    so that another user of the pool (on SQLite the pool has one) is served meanwhile."""
    held = HeldConnections(engine, linger_s=60, hold_s=0.02)
    stepping = True

    async def steps() -> int:
        done = 0
        while stepping:
            await _steps(sessions, held, 1)
            done += 1
            await asyncio.sleep(0.001)
        return done

    task = asyncio.create_task(steps())
    await asyncio.sleep(0.01)
    # Another user of the pool gets a connection while the steps keep coming.
    async with sessions() as session:
        assert await session.scalar(select(1)) == 1
    assert not task.done()
    stepping = False
    assert await task > 0
    await held.release()
    assert engine.sync_engine.pool.checkedout() == 0


async def test_a_failed_step_hands_nothing_on_and_an_invalidated_connection_is_replaced(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    checkouts = _checkouts(engine)
    held = HeldConnections(engine, linger_s=60, hold_s=60)
    await _steps(sessions, held, 1)
    with pytest.raises(RuntimeError):
        async with held.transaction(sessions) as session:
            await session.execute(select(1))
            raise RuntimeError("the step failed")
    assert held.idle == 0 and engine.sync_engine.pool.checkedout() == 0

    async def step_that_waits() -> None:
        async with held.transaction(sessions) as session:
            await session.execute(select(1))
            await asyncio.sleep(0.01)

    await asyncio.gather(step_that_waits(), step_that_waits())
    assert held.idle == min(2, engine.sync_engine.pool.size())
    with pytest.raises(RuntimeError):
        async with held.transaction(sessions) as session:
            connection = await session.connection()
            await connection.invalidate()  # as when the server dropped it mid-step
            raise RuntimeError("connection lost")
    assert held.idle == 0  # the other kept one went back too: the server went away
    await _steps(sessions, held, 1)  # a working connection again
    assert checkouts[-1] is not checkouts[0]
    await held.release()


async def test_the_chat_engines_transaction_keeps_its_connection_until_disposed(
    db_url: str,
) -> None:
    from models.db import create_engine, session_factory

    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with held_connections(sessions).transaction(sessions) as session:
        await session.execute(select(1))
    assert held_connections(sessions).idle == 1
    assert held_connections(session_factory(engine)) is held_connections(sessions)
    await dispose(engine)
    assert held_connections(sessions).idle == 0
    assert engine.sync_engine.pool.checkedout() == 0


async def test_steps_that_find_every_kept_connection_busy_are_served_in_turn(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """More steps at once than connections kept: they wait here and are handed the
    connection in the order they came, without going through the pool each time."""
    checkouts = _checkouts(engine)
    held = HeldConnections(engine, linger_s=60, hold_s=60)
    keep = engine.sync_engine.pool.size()
    began: list[int] = []

    async def step(number: int) -> int:
        async with held.transaction(sessions) as session:
            began.append(number)
            await session.execute(select(1))
            await asyncio.sleep(0.001)  # the step waits for something: others queue
        return number

    steps = 3 * keep + 5
    assert await asyncio.gather(*(step(number) for number in range(steps))) == list(range(steps))
    # The first ``keep`` open connections of their own (in any order: opening one takes
    # its own time); the rest waited and were handed one, first come, first served.
    assert [number for number in began if number >= keep] == list(range(keep, steps))
    assert len(checkouts) == keep and held.waiting == 0
    await held.release()
    assert engine.sync_engine.pool.checkedout() == 0


async def test_a_waiting_step_that_is_cancelled_passes_its_turn_on(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    held = HeldConnections(engine, linger_s=60, hold_s=60)
    keep = engine.sync_engine.pool.size()
    release = asyncio.Event()

    async def step() -> None:
        async with held.transaction(sessions) as session:
            await session.execute(select(1))
            await release.wait()

    busy = [asyncio.create_task(step()) for _ in range(keep)]
    waiting = [asyncio.create_task(step()) for _ in range(2)]
    while held.waiting < 2:  # noqa: ASYNC110 - the queue's own count
        await asyncio.sleep(0)  # a turn of the loop, not a wait
    assert held.waiting == 2
    # Freed and cancelled in the same turn of the loop: the busy steps hand their
    # connections on before the cancelled step has run to leave the queue.
    release.set()
    waiting[0].cancel()
    await asyncio.gather(*busy, waiting[1])
    with pytest.raises(asyncio.CancelledError):
        await waiting[0]
    assert held.waiting == 0
    await held.release()
    assert engine.sync_engine.pool.checkedout() == 0
