"""The attendance export says who held each meeting: the pendamping, or the ketua alone."""

from __future__ import annotations

from sqlalchemy import select, update

from models.enums import Facilitator
from models.tables import Kelompok, Meeting
from reporting.exports import ExportKind
from tests.export_world import build_export_world
from tests.integration.test_exports import export, xlsx_rows


async def test_each_mark_row_names_who_held_its_meeting(sessions) -> None:
    await build_export_world(sessions)
    async with sessions.begin() as session:
        melati = select(Kelompok.id).where(Kelompok.name == "Kelompok Melati")
        await session.execute(
            update(Meeting)
            .where(Meeting.kelompok_id.in_(melati))
            .values(facilitator=Facilitator.KETUA)
        )
    _, content = await export(sessions, ExportKind.ATTENDANCE)
    held = {(row["Kelompok"], row["Fasilitator"]) for row in xlsx_rows(content)}
    assert ("Kelompok Melati", "Ketua kelompok (tanpa pendamping)") in held
    assert ("Kelompok Anggrek", "Pendamping") in held
    assert not any(group == "Kelompok Melati" and by == "Pendamping" for group, by in held)
