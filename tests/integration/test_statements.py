"""Statements built once are compiled once per database, including the dialects' own
INSERT ... ON CONFLICT, which SQLAlchemy does not cache by itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.conversations import _record_inbound, first_delivery
from models.statements import compiled_once
from models.tables import Channel, InboundMessage

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _insert(dialect: str):  # type: ignore[no-untyped-def]
    return (postgresql if dialect == "postgresql" else sqlite).insert


async def test_the_inbound_dedupe_is_compiled_once_and_still_dedupes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        dialect = session.bind.dialect.name
        statement = _record_inbound(dialect)
        hits = []
        for external_id in ("a", "b", "a"):
            connection = await session.connection()
            result = await connection.execute(
                statement,
                {"channel": Channel.TELEGRAM, "external_id": external_id, "received_at": NOW},
            )
            context = result.context
            assert isinstance(context, DefaultExecutionContext)
            hits.append((context.cache_hit, result.rowcount))
        assert hits[1:] == [(CacheStats.CACHE_HIT, 1), (CacheStats.CACHE_HIT, 0)]
        assert await first_delivery(session, "telegram", "c", NOW) is True
        assert await first_delivery(session, "telegram", "c", NOW) is False
        rows = await session.scalars(select(InboundMessage.external_id).order_by("external_id"))
        assert list(rows) == ["a", "b", "c"]


async def test_two_statements_compiled_once_never_share_their_sql(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Same table, same parameters, different ON CONFLICT: each keeps its own SQL."""
    table = InboundMessage.__table__
    async with sessions.begin() as session:
        insert = _insert(session.bind.dialect.name)
        ignore = compiled_once(insert(table).on_conflict_do_nothing())
        statement = insert(table)
        later = compiled_once(
            statement.on_conflict_do_update(
                index_elements=["channel", "external_id"],
                set_={"received_at": statement.excluded.received_at},
            )
        )
        row = {"channel": Channel.WHATSAPP, "external_id": "SM1", "received_at": NOW}
        for _ in range(2):
            await session.execute(ignore, row)
        await session.execute(later, {**row, "received_at": NOW.replace(hour=10)})
        stored = await session.scalar(
            select(InboundMessage.received_at).where(InboundMessage.external_id == "SM1")
        )
    assert stored is not None and stored.replace(tzinfo=UTC).hour == 10


def test_a_statement_compiled_once_cannot_be_derived() -> None:
    """A copy would carry the original's key and run the original's SQL."""
    statement = _record_inbound("sqlite")
    with pytest.raises(TypeError, match="compiled once"):
        statement.returning(InboundMessage.id)
    with pytest.raises(TypeError, match="compiled once"):
        statement.values(external_id="x")


async def test_a_select_of_mapped_columns_run_as_core_gives_the_same_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Same rows, same Python types (enums, aware datetimes), without the ORM's loading."""
    from models.statements import as_core

    async with sessions.begin() as session:
        for external_id in ("x", "y"):
            await first_delivery(session, Channel.WHATSAPP, external_id, NOW)

    def query():  # type: ignore[no-untyped-def]
        return select(
            InboundMessage.channel, InboundMessage.external_id, InboundMessage.received_at
        ).order_by(InboundMessage.external_id)

    core = as_core(query())
    assert "compile_state_plugin" not in core._propagate_attrs
    async with sessions() as session:
        orm_rows = [tuple(row) for row in await session.execute(query())]
        core_rows = [tuple(row) for row in await session.execute(core)]
    assert core_rows == orm_rows == [(Channel.WHATSAPP, "x", NOW), (Channel.WHATSAPP, "y", NOW)]
    assert isinstance(core_rows[0][0], Channel)

    with pytest.raises(TypeError, match="entities"):
        as_core(select(InboundMessage))
