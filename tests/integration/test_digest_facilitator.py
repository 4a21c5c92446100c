"""The digest's warning for meetings held by the ketua without the pendamping.

The world of :mod:`tests.digest_world` (reference day Sunday 22 November 2026), with
Melati's meetings of 10 November (held) and 13 October (held, last month) and 24 November
(planned) recorded as held by the ketua alone, and Kenanga's of 3 November (another
coordinator's kabupaten): only Melati's 10 November counts for coordinator Dewi, and it
counts for Ani.
"""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import update

from handlers.i18n import Translator
from models.enums import Facilitator
from models.tables import Meeting, Staff
from reporting.digest import DigestOptions, build_digest
from tests.digest_world import AS_OF, build_digest_world

t = Translator("id")


async def _digest(sessions, staff_id: int):  # noqa: ANN001, ANN202
    async with sessions() as session:
        staff = await session.get(Staff, staff_id)
        return await build_digest(session, staff, as_of=AS_OF, options=DigestOptions(), translate=t)


async def _held_by_ketua(sessions, ids: dict[str, int]) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        for group, day in (
            ("melati", date(2026, 11, 10)),
            ("melati", date(2026, 10, 13)),
            ("melati", date(2026, 11, 24)),
            ("kenanga", date(2026, 11, 3)),
        ):
            await session.execute(
                update(Meeting)
                .where(Meeting.kelompok_id == ids[group], Meeting.meeting_date == day)
                .values(facilitator=Facilitator.KETUA)
            )


async def test_a_world_without_such_meetings_shows_no_warning(sessions) -> None:
    ids = await build_digest_world(sessions)
    digest = await _digest(sessions, ids["dewi"])
    assert [p.held_by_ketua for p in digest.figures.pendamping] == [0, 0]
    assert "tanpa pendamping" not in digest.text


async def test_this_month_s_held_meetings_without_the_pendamping_are_counted_per_pendamping(
    sessions,
) -> None:
    ids = await build_digest_world(sessions)
    await _held_by_ketua(sessions, ids)
    digest = await _digest(sessions, ids["dewi"])
    ani, budi = digest.figures.pendamping
    assert (ani.held, ani.held_by_ketua, budi.held_by_ketua) == (1, 1, 0)
    assert digest.figures.total("held_by_ketua") == 1
    melati = next(k for k in ani.kelompok if k.name == "Kelompok Melati")
    assert melati.held_by_ketua == 1

    text = digest.text
    assert t("digest.without_pendamping", count=1) in text
    lines = text.splitlines()
    ani_line = next(line for line in lines if line.startswith("1. Ani Suryani"))
    budi_line = next(line for line in lines if line.startswith("2. Budi Santoso"))
    assert ani_line.endswith(t("digest.pendamping_without", count=1))
    assert "1 pertemuan tanpa pendamping" in ani_line
    assert "tanpa pendamping" not in budi_line

    eko = await _digest(sessions, ids["eko"])
    (citra,) = eko.figures.pendamping
    assert citra.held_by_ketua == 1 and "1 pertemuan tanpa pendamping" in eko.text


async def test_the_workbook_has_the_count_per_kelompok_and_per_pendamping(sessions) -> None:
    ids = await build_digest_world(sessions)
    await _held_by_ketua(sessions, ids)
    digest = await _digest(sessions, ids["dewi"])
    book = load_workbook(io.BytesIO(digest.workbook), read_only=True)
    column = t("digest.col.held_by_ketua")

    groups = list(book["Per kelompok"].iter_rows(values_only=True))
    by_group = {row[0]: dict(zip(groups[0], row, strict=True)) for row in groups[1:]}
    assert by_group["Kelompok Melati"][column] == 1
    assert by_group["Kelompok Mawar"][column] == 0

    people = list(book["Per pendamping"].iter_rows(values_only=True))
    by_person = {row[0]: dict(zip(people[0], row, strict=True)) for row in people[1:]}
    assert by_person["Ani Suryani"][column] == 1
    assert by_person["Budi Santoso"][column] == 0
