"""Migration 0016 on SQLite and PostgreSQL: rsvp.answered_by_kpm_id (the ketua kelompok
who answered for a member) and the outbox's delivery results by address."""

from __future__ import annotations

from sqlalchemy import inspect, text

from models.db import create_engine, migrate

ROWS = (
    "INSERT INTO region (id, level, name, name_key) VALUES (1, 'provinsi', 'Bali', 'bali')",
    "INSERT INTO region (id, level, name, name_key, parent_id) VALUES (2, 'desa', 'D', 'd', 1)",
    "INSERT INTO kelompok (id, name, name_key, desa_id, created_at) "
    "VALUES (1, 'Melati', 'melati', 2, '2026-11-01 00:00:00')",
    *(
        "INSERT INTO kpm (id, id_pkh, nik, nama_pengurus, preferred_channel, kelompok_id, "
        f"status, created_at, updated_at) VALUES ({n}, 'P{n}', '330201550880000{n}', 'K{n}', "
        "'whatsapp', 1, 'aktif', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
        for n in (1, 2)
    ),
    "INSERT INTO meeting (id, kelompok_id, meeting_date, starts_at, status, created_at, "
    "updated_at) VALUES (1, 1, '2026-12-08', '2026-12-08 02:00:00', 'planned', "
    "'2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    "INSERT INTO rsvp (id, meeting_id, kpm_id, answer, answered_at) "
    "VALUES (1, 1, 1, 'hadir', '2026-12-05 09:00:00')",
)


def _columns(sync, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {column["name"] for column in inspect(sync).get_columns(table)}


def _indexes(sync) -> set[str]:  # type: ignore[no-untyped-def]
    return {index["name"] for index in inspect(sync).get_indexes("outbox")}


async def test_0016_adds_who_answered_for_a_member_and_going_back_drops_it(
    empty_db_url: str,
) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine, "0015")
        async with engine.begin() as connection:
            for row in ROWS:
                await connection.execute(text(row))
        await migrate.upgrade(engine, "0016")
        async with engine.begin() as connection:
            assert (await connection.execute(  # an answer given before: the KPM's own
                text("SELECT answered_by_kpm_id FROM rsvp WHERE id = 1")
            )).scalar_one() is None
            await connection.execute(
                text("INSERT INTO rsvp (id, meeting_id, kpm_id, answer, answered_at, "
                     "answered_by_kpm_id) VALUES (2, 1, 2, 'tidak', '2026-12-05 10:00:00', 1)")
            )
            assert "ix_outbox_address_done" in await connection.run_sync(_indexes)
        await migrate.downgrade(engine, "0015")
        async with engine.connect() as connection:
            assert "answered_by_kpm_id" not in await connection.run_sync(_columns, "rsvp")
            assert "ix_outbox_address_done" not in await connection.run_sync(_indexes)
            count = (await connection.execute(text("SELECT count(*) FROM rsvp"))).scalar_one()
        assert count == 2  # the answers stay
    finally:
        await engine.dispose()
