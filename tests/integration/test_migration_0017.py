"""Migration 0017 on SQLite and PostgreSQL: kpm.erased_at and kpm.erasure_reason (a
family's personal data erased on request); every family before it is not erased."""

from __future__ import annotations

from sqlalchemy import inspect, text

from models.db import create_engine, migrate
from tests.integration.test_migration_0016 import ROWS


def _columns(sync) -> set[str]:  # type: ignore[no-untyped-def]
    return {column["name"] for column in inspect(sync).get_columns("kpm")}


async def test_0017_adds_when_and_why_a_family_was_erased_and_going_back_drops_it(
    empty_db_url: str,
) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine, "0016")
        async with engine.begin() as connection:
            for row in ROWS:
                await connection.execute(text(row))
        await migrate.upgrade(engine, "0017")
        async with engine.begin() as connection:
            assert (await connection.execute(
                text("SELECT count(*) FROM kpm WHERE erased_at IS NULL AND erasure_reason IS NULL")
            )).scalar_one() == 2
            await connection.execute(
                text("UPDATE kpm SET erased_at = '2026-12-19 02:00:00', "
                     "erasure_reason = 'permintaan KPM' WHERE id = 1")
            )
        await migrate.downgrade(engine, "0016")
        async with engine.connect() as connection:
            assert not {"erased_at", "erasure_reason"} & await connection.run_sync(_columns)
            count = (await connection.execute(text("SELECT count(*) FROM kpm"))).scalar_one()
        assert count == 2  # the families stay
    finally:
        await engine.dispose()
