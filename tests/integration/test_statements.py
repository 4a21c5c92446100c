"""The upserts of a chat step are compiled once per database and still upsert; the
attendance queries are Core statements (no ORM loading) and give the rows the ORM would."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from models.attendance import groups_for, meeting_with_marks, meetings_near, members_of
from models.conversations import RECORD_INBOUND, first_delivery
from models.db.statements import upsert_text
from models.enums import Channel, KpmStatus
from models.messaging.tables import InboundMessage
from models.tables import Kpm, Staff
from tests.world import build_world

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_the_inbound_dedupe_is_compiled_once_and_still_dedupes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        hits = []
        for external_id in ("a", "b", "a"):
            connection = await session.connection()
            result = await connection.execute(
                RECORD_INBOUND,
                {"channel": Channel.TELEGRAM, "external_id": external_id, "received_at": NOW},
            )
            context = result.context
            assert isinstance(context, DefaultExecutionContext)
            hits.append((context.cache_hit, result.rowcount))
        assert hits[1:] == [(CacheStats.CACHE_HIT, 1), (CacheStats.CACHE_HIT, 0)]
        assert await first_delivery(session, "telegram", "c", NOW) is True
        assert await first_delivery(session, "telegram", "c", NOW) is False
        rows = await session.execute(
            select(InboundMessage.channel, InboundMessage.external_id, InboundMessage.received_at)
            .order_by(InboundMessage.external_id)
        )
        stored = [tuple(row) for row in rows]
    # Typed parameters: the enum and the aware datetime come back as the ORM wrote them.
    assert stored == [(Channel.TELEGRAM, name, NOW) for name in ("a", "b", "c")]


async def test_an_upsert_that_updates_replaces_only_the_columns_it_names(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    table = InboundMessage.__table__
    later = upsert_text(
        table,
        ("channel", "external_id", "received_at"),
        conflict=("channel", "external_id"),
        update=("received_at",),
    )
    row = {"channel": Channel.WHATSAPP, "external_id": "SM1", "received_at": NOW}
    async with sessions.begin() as session:
        for _ in range(2):
            await session.execute(RECORD_INBOUND, row)  # the second one does nothing
        await session.execute(later, {**row, "received_at": NOW.replace(hour=10)})
        stored = list(
            await session.scalars(
                select(InboundMessage.received_at).where(InboundMessage.external_id == "SM1")
            )
        )
    assert stored == [NOW.replace(hour=10)]


def test_an_upsert_naming_a_column_the_table_lacks_is_refused() -> None:
    with pytest.raises(KeyError, match="no column 'extrnal_id'"):
        upsert_text(InboundMessage.__table__, ("channel", "extrnal_id"), conflict=("channel",))


async def test_the_attendance_queries_are_core_and_give_the_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions)
    orm_statements: list[str] = []

    def seen(state: ORMExecuteState) -> None:
        if state.is_orm_statement:
            orm_statements.append(str(state.statement))

    event.listen(Session, "do_orm_execute", seen)
    try:
        async with sessions() as session:
            staff = await session.get(Staff, world.ani)
            assert staff is not None
            groups = await groups_for(session, staff, date(2026, 11, 30))
            kelompok = groups[0].id
            members = await members_of(session, kelompok)
            near = await meetings_near(session, kelompok, date(2026, 12, 31))
            marks = await meeting_with_marks(session, kelompok, near[0].id) if near else None
    finally:
        event.remove(Session, "do_orm_execute", seen)
    assert [statement for statement in orm_statements if "FROM staff" not in statement] == []
    async with sessions() as session:  # the ORM's answer to the same question
        expected = list(
            await session.execute(
                select(Kpm.id, Kpm.nama_pengurus).where(
                    Kpm.kelompok_id == kelompok, Kpm.status == KpmStatus.AKTIF
                )
            )
        )
    assert sorted(members) == sorted(tuple(row) for row in expected)
    assert members and all(isinstance(name, str) for _, name in members)
    assert marks is None or marks[0].id == near[0].id
