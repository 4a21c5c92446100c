"""Migration 0013 on SQLite and PostgreSQL: kpm_programme (bansos komplementer) and
graduation_assessment.gates_met, filled in from the assessments' "bersedia" tick."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from models.db import create_engine, migrate

ROWS = (
    "INSERT INTO region (id, level, name, name_key) VALUES (1, 'provinsi', 'Bali', 'bali')",
    "INSERT INTO region (id, level, name, name_key, parent_id) VALUES (2, 'desa', 'D', 'd', 1)",
    "INSERT INTO kelompok (id, name, name_key, desa_id, created_at) "
    "VALUES (1, 'Melati', 'melati', 2, '2026-11-01 00:00:00')",
    "INSERT INTO kpm (id, id_pkh, nik, nama_pengurus, preferred_channel, kelompok_id, status, "
    "created_at, updated_at) VALUES (1, 'P1', '3302015508800001', 'Siti', 'whatsapp', 1, "
    "'aktif', '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
)


def assessment(assessment_id: int, indicators: dict[str, object]) -> str:
    return (
        "INSERT INTO graduation_assessment (id, kpm_id, indicators, score, threshold, "
        f"assessed_at) VALUES ({assessment_id}, 1, '{json.dumps(indicators)}', 8, 7, "
        "'2026-11-20 02:00:00')"
    )


async def test_0013_fills_gates_met_from_willingness_and_adds_the_programmes(
    empty_db_url: str,
) -> None:
    engine = create_engine(empty_db_url)
    programme = (
        "INSERT INTO kpm_programme (kpm_id, programme, status, updated_at) "
        "VALUES (1, 'kis_pbi_jkn', '{}', '2026-12-09 02:00:00')"
    )
    try:
        await migrate.upgrade(engine, "0012")
        async with engine.begin() as connection:
            for row in ROWS:
                await connection.execute(text(row))
            await connection.execute(text(assessment(1, {"bersedia": True, "x": False})))
            await connection.execute(text(assessment(2, {"bersedia": False, "x": True})))
            await connection.execute(text(assessment(3, {"x": True})))  # no such indicator
        await migrate.upgrade(engine, "0013")
        async with engine.begin() as connection:
            gates = await connection.execute(
                text("SELECT id, gates_met FROM graduation_assessment ORDER BY id")
            )
            assert [(row[0], bool(row[1])) for row in gates] == [(1, True), (2, False), (3, False)]
            await connection.execute(text(programme.format("butuh")))
        for wrong in (programme.format("punya"), programme.format("mungkin")):
            try:  # a second row for the same programme, or a status outside the enumeration
                async with engine.begin() as connection:
                    await connection.execute(text(wrong))
                raise AssertionError(f"accepted: {wrong}")
            except IntegrityError:
                pass
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM kpm WHERE id = 1"))  # cascades
            assert await connection.scalar(text("SELECT count(*) FROM kpm_programme")) == 0
        await migrate.downgrade(engine, "0012")
        async with engine.connect() as connection:
            tables, columns = await connection.run_sync(
                lambda sync: (
                    set(inspect(sync).get_table_names()),
                    {c["name"] for c in inspect(sync).get_columns("graduation_assessment")},
                )
            )
        assert "kpm_programme" not in tables
        assert "gates_met" not in columns and "threshold" in columns
    finally:
        await engine.dispose()
