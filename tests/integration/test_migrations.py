"""Migrations on SQLite and PostgreSQL, and the SQLite settings for concurrent use."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from models.base import Base
from models.db import create_engine, migrate, read_only_factory, session_factory
from models.enums import RegionLevel
from models.tables import Region


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_init_creates_the_schema_and_running_it_twice_changes_nothing(
    empty_db_url: str,
) -> None:
    engine = create_engine(empty_db_url)
    try:
        before = await migrate.current_level(engine)
        assert before.current is None and not before.up_to_date
        first = await migrate.upgrade(engine)
        assert first.up_to_date and first.current == migrate.head_revision()
        second = await migrate.upgrade(engine)
        assert second == first
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            assert {table.name for table in Base.metadata.sorted_tables} <= tables
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_nothing_and_upgrade_again_round_trips(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        level = await migrate.downgrade(engine, "base")
        assert level.current is None
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        level = await migrate.upgrade(engine)
        assert level.up_to_date
    finally:
        await engine.dispose()


async def test_constraints_hold_after_migration(db_url: str) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            session.add(
                Region(
                    level=RegionLevel.PROVINSI,
                    name="Bali",
                    name_key="bali",
                    code="51",
                    timezone="Asia/Makassar",
                )
            )
        try:
            async with sessions.begin() as session:
                session.add(
                    Region(level=RegionLevel.DESA, name="Orphan", name_key="orphan", parent_id=999)
                )
            raise AssertionError("a desa without an existing parent was accepted")
        except IntegrityError:
            pass
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_sqlite_writers_queue_instead_of_failing(tmp_path) -> None:
    """Write transactions begin IMMEDIATE: two concurrent read-then-write transactions
    both succeed in turn, where DEFERRED ones could fail with 'database is locked'."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)

    async def add_province(code: str) -> None:
        async with sessions.begin() as session:
            count = (await session.execute(text("SELECT count(*) FROM region"))).scalar()
            await asyncio.sleep(0.01)
            session.add(
                Region(
                    level=RegionLevel.PROVINSI,
                    name=f"P{code}{count}",
                    name_key=f"p{code}{count}",
                    code=code,
                )
            )

    try:
        await asyncio.gather(*(add_province(str(10 + n)) for n in range(8)))
        async with read_only_factory(engine)() as session:
            assert (await session.execute(text("SELECT count(*) FROM region"))).scalar() == 8
    finally:
        await engine.dispose()


async def test_0012_gives_a_meeting_recorded_before_the_pendamping_as_facilitator(
    empty_db_url: str,
) -> None:
    """meeting.facilitator: a meeting held before the release was facilitated by the
    pendamping; a new one may say the ketua held it alone; going back drops the column."""
    engine = create_engine(empty_db_url)
    rows = (
        "INSERT INTO region (id, level, name, name_key) VALUES (1, 'provinsi', 'Bali', 'bali')",
        "INSERT INTO region (id, level, name, name_key, parent_id) VALUES (2, 'desa', 'D', 'd', 1)",
        "INSERT INTO kelompok (id, name, name_key, desa_id, created_at) "
        "VALUES (1, 'Melati', 'melati', 2, '2026-11-01 00:00:00')",
        "INSERT INTO meeting (id, kelompok_id, meeting_date, starts_at, status, created_at, "
        "updated_at) VALUES (1, 1, '2026-11-10', '2026-11-10 02:00:00', 'held', "
        "'2026-11-10 02:00:00', '2026-11-10 02:00:00')",
    )
    try:
        await migrate.upgrade(engine, "0011")
        async with engine.begin() as connection:
            for row in rows:
                await connection.execute(text(row))
        await migrate.upgrade(engine, "0012")
        async with engine.begin() as connection:
            held = await connection.scalar(text("SELECT facilitator FROM meeting WHERE id = 1"))
            assert held == "pendamping"
            await connection.execute(text("UPDATE meeting SET facilitator = 'ketua'"))
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE meeting SET facilitator = 'kader'"))
            raise AssertionError("a facilitator outside the enumeration was accepted")
        except IntegrityError:
            pass
        await migrate.downgrade(engine, "0011")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("meeting")}
            )
        assert "facilitator" not in columns and "status" in columns
    finally:
        await engine.dispose()


async def test_0014_adds_the_referral_directory_and_going_back_drops_it(
    empty_db_url: str,
) -> None:
    """referral_contact and referral_service (the sistem sumber): a contact names an
    existing region once (region and name are unique), its categories go with it, and going
    back to 0013 drops both tables and nothing else."""
    engine = create_engine(empty_db_url)
    rows = (
        "INSERT INTO region (id, level, name, name_key) VALUES (1, 'provinsi', 'Bali', 'bali')",
        "INSERT INTO region (id, level, name, name_key, parent_id) "
        "VALUES (2, 'kecamatan', 'Sumber', 'sumber', 1)",
        "INSERT INTO referral_contact (id, region_id, name, name_key, kind, phone, active, "
        "created_at, updated_at) VALUES (1, 2, 'Puskesmas Sumber', 'puskesmas sumber', "
        "'puskesmas', '+6281200000101', true, '2026-12-10 02:00:00', '2026-12-10 02:00:00')",
        "INSERT INTO referral_service (contact_id, category) VALUES (1, 'kesehatan_rujukan')",
    )
    try:
        await migrate.upgrade(engine, "0013")
        async with engine.connect() as connection:
            assert "referral_contact" not in await connection.run_sync(_tables)
        await migrate.upgrade(engine, "0014")
        async with engine.begin() as connection:
            for row in rows:
                await connection.execute(text(row))
        for duplicate in (
            "INSERT INTO referral_contact (region_id, name, name_key, kind, active, created_at, "
            "updated_at) VALUES (2, 'PUSKESMAS SUMBER', 'puskesmas sumber', 'puskesmas', true, "
            "'2026-12-10 02:00:00', '2026-12-10 02:00:00')",
            "INSERT INTO referral_contact (region_id, name, name_key, kind, active, created_at, "
            "updated_at) VALUES (99, 'X', 'x', 'lainnya', true, '2026-12-10 02:00:00', "
            "'2026-12-10 02:00:00')",
        ):
            try:
                async with engine.begin() as connection:
                    await connection.execute(text(duplicate))
                raise AssertionError("a second contact of one name, or of no region, was kept")
            except IntegrityError:
                pass
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM referral_contact WHERE id = 1"))
            left = await connection.scalar(text("SELECT count(*) FROM referral_service"))
        assert left == 0  # a contact's categories go with it
        await migrate.downgrade(engine, "0013")
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
        assert not {"referral_contact", "referral_service"} & tables and "region" in tables
    finally:
        await engine.dispose()
