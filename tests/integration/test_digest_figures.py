"""Every figure of the coordinator digest against hand-built data with known answers.

Kab. Sukamaju (coordinator Dewi): Ani's Kelompok Melati meets monthly; Budi's Kelompok
Mawar has never met. Kab. Lain (coordinator Eko) holds Citra's Kelompok Kenanga, which
Dewi must never see. The reference day is Sunday 22 November 2026.

Melati's attendance (H hadir, I izin, S sakit, A alpa):

    KPM        14 Jul  11 Aug  8 Sep  13 Okt  10 Nov
    Sari         H       H       H      H       H
    Rini         H       H       H      I       A
    Tuti         A       H       A      S       A
    Wati         H       H       H      H       H
    Yuni (now in Mawar)          H

Also in Melati: 17 Nov cancelled, 24 Nov planned. So November: 2 planned, 1 held, 2 of 4
present (50%); August-October: 10 of 13 present (76.9%); Rini is absent 2 in a row,
Tuti 3; Yuni's September attendance stays with Melati (Ani) after her move.
"""

from __future__ import annotations

import io
import struct
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from handlers.i18n import Translator
from models.tables import Staff
from reporting.chart import chart_size
from reporting.digest import DigestOptions, build_all_digests, build_digest
from tests.digest_world import AS_OF, build_digest_world

t = Translator("id")


async def _digest(sessions, staff_id: int, as_of: datetime = AS_OF):  # noqa: ANN001, ANN202
    async with sessions() as session:
        staff = await session.get(Staff, staff_id)
        return await build_digest(session, staff, as_of=as_of, options=DigestOptions(), translate=t)


async def test_each_pendamping_s_figures(sessions) -> None:
    ids = await build_digest_world(sessions)
    digest = await _digest(sessions, ids["dewi"])
    figures = digest.figures

    assert digest.ref_day == date(2026, 11, 22) and digest.week == "2026-W47"
    assert [p.name for p in figures.pendamping] == ["Ani Suryani", "Budi Santoso"]
    ani, budi = figures.pendamping
    assert (ani.planned, ani.held) == (2, 1)  # the cancelled meeting is not planned
    assert ani.rate == pytest.approx(2 / 4)
    assert ani.previous_rate == pytest.approx(10 / 13)  # Yuni's September mark stays here
    assert [(s.name, s.kelompok, s.streak) for s in ani.absentees] == [
        ("Tuti", "Kelompok Melati", 3),
        ("Rini", "Kelompok Melati", 2),
    ]
    assert (ani.open_cases, ani.urgent_cases, ani.overdue_cases) == (2, 1, 1)
    assert dict(ani.cases_by_category) == {"kks_bermasalah": 1, "perlindungan_anak": 1}
    assert (ani.candidates_alamiah, ani.candidates_mandiri) == (1, 0)
    assert (ani.graduated_this_year, ani.kpm_active) == (0, 4)

    assert (budi.planned, budi.held, budi.rate, budi.previous_rate) == (0, 0, None, None)
    assert (budi.open_cases, budi.urgent_cases, budi.overdue_cases) == (1, 0, 0)
    assert (budi.candidates_alamiah, budi.candidates_mandiri) == (0, 1)
    assert (budi.graduated_this_year, budi.kpm_active) == (1, 1)
    assert budi.absentees == []

    assert figures.months[0] == date(2026, 6, 1) and figures.months[-1] == date(2026, 11, 1)
    assert [ani.month_rate(m) for m in figures.months] == [None, 0.75, 1.0, 0.8, 0.5, 0.5]


async def test_the_text_states_the_figures(sessions) -> None:
    ids = await build_digest_world(sessions)
    text = (await _digest(sessions, ids["dewi"])).text

    assert "Sukamaju" in text
    assert "Pertemuan November 2026: 1 dari 2 terlaksana. Kehadiran 50% (turun 26,9 poin" in text
    assert "Kasus terbuka: 3 (1 mendesak, 1 lewat tanggal tindak lanjut)" in text
    assert "Graduasi: 2 calon saat ini; 1 KPM graduasi tahun ini (target 20)" in text
    assert "1. Ani Suryani: pertemuan 1/2, kehadiran 50% (turun 26,9 poin)" in text
    assert "2. Budi Santoso: pertemuan 0/0, kehadiran belum ada data (belum ada pembanding)" in text
    assert "• Tuti (Kelompok Melati): 3 kali" in text
    assert "Kiki" not in text and "Citra" not in text  # another kabupaten
    assert len(text) < 4096


async def test_another_coordinator_sees_only_their_region(sessions) -> None:
    ids = await build_digest_world(sessions)
    figures = (await _digest(sessions, ids["eko"])).figures
    assert [p.name for p in figures.pendamping] == ["Citra Lestari"]
    (citra,) = figures.pendamping
    assert (citra.planned, citra.held, citra.rate) == (1, 1, 0.0)
    assert (citra.open_cases, citra.urgent_cases, citra.overdue_cases) == (1, 1, 1)
    assert [s.name for s in citra.absentees] == []  # one absence is not a streak


async def test_an_empty_month_has_no_rate_and_no_comparison(sessions) -> None:
    ids = await build_digest_world(sessions)
    digest = await _digest(sessions, ids["dewi"], as_of=datetime(2027, 3, 10, 3, tzinfo=UTC))
    ani = digest.figures.pendamping[0]
    assert (ani.planned, ani.held, ani.rate, ani.previous_rate) == (0, 0, None, None)
    assert ani.graduated_this_year == 0
    # The streaks do not fade with time: Tuti is still 3 meetings absent.
    assert [(s.name, s.streak) for s in ani.absentees] == [("Tuti", 3), ("Rini", 2)]
    assert "kehadiran belum ada data (belum ada pembanding)" in digest.text
    assert "0 dari 0 terlaksana. Kehadiran belum ada data (belum ada pembanding)." in digest.text


async def test_the_reference_day_cuts_later_meetings(sessions) -> None:
    ids = await build_digest_world(sessions)
    digest = await _digest(sessions, ids["dewi"], as_of=datetime(2026, 11, 9, 3, tzinfo=UTC))
    ani = digest.figures.pendamping[0]
    assert (ani.planned, ani.held, ani.rate) == (2, 0, None)
    assert [(s.name, s.streak) for s in ani.absentees] == [("Tuti", 2)]  # Rini only 1
    assert ani.previous_rate == pytest.approx(10 / 13)


async def test_chart_and_workbook_open_and_match(sessions) -> None:
    ids = await build_digest_world(sessions)
    digest = await _digest(sessions, ids["dewi"])

    assert digest.chart_png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", digest.chart_png[16:24])
    assert (width, height) == chart_size(2)

    book = load_workbook(io.BytesIO(digest.workbook), read_only=True)
    assert book.sheetnames == ["Per kelompok", "Per pendamping", "Tidak hadir berturut-turut"]
    rows = list(book["Per kelompok"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Kelompok", "Desa/Kelurahan", "Pendamping")
    melati = next(r for r in rows[1:] if r[0] == "Kelompok Melati")
    mawar = next(r for r in rows[1:] if r[0] == "Kelompok Mawar")
    assert melati[1:8] == ("Maju", "Ani Suryani", 4, 2, 1, 0, 0.5)  # 0 held by the ketua
    assert melati[8] == pytest.approx(10 / 13)
    assert melati[9:14] == (2, 2, 1, 1, 0)
    assert mawar[2:9] == ("Budi Santoso", 1, 0, 0, 0, None, None)
    assert mawar[13] == 1  # Yeti graduated this year
    people = list(book["Per pendamping"].iter_rows(values_only=True))
    header = people[0]
    ani = dict(zip(header, people[1], strict=True))
    assert ani["Pendamping"] == "Ani Suryani"
    assert ani["KKS bermasalah"] == 1 and ani["Perlindungan anak"] == 1
    assert ani["Calon graduasi alamiah"] == 1
    absent = list(book["Tidak hadir berturut-turut"].iter_rows(values_only=True))
    assert [(r[0], r[1], r[2], r[3]) for r in absent[1:]] == [
        ("Tuti", "Kelompok Melati", "Ani Suryani", 3),
        ("Rini", "Kelompok Melati", "Ani Suryani", 2),
    ]
    assert absent[1][4] == datetime(2026, 11, 10)


async def test_all_coordinators_get_their_own_digest(sessions) -> None:
    ids = await build_digest_world(sessions)
    digests = await build_all_digests(sessions, as_of=AS_OF, options=DigestOptions(), translate=t)
    assert [d.staff_id for d in digests] == [ids["dewi"], ids["eko"]]
    names = {d.staff_id: [p.name for p in d.figures.pendamping] for d in digests}
    assert names == {ids["dewi"]: ["Ani Suryani", "Budi Santoso"], ids["eko"]: ["Citra Lestari"]}


def test_a_chart_of_more_pendamping_than_it_shows_says_so_in_its_title() -> None:
    from reporting.chart import MAX_ROWS
    from reporting.digest import _chart_title
    from reporting.figures import DigestFigures, PendampingFigures

    months = [date(2026, m, 1) for m in range(6, 12)]
    many = DigestFigures(
        date(2026, 11, 22), months, [PendampingFigures(i, f"P{i}") for i in range(MAX_ROWS + 1)], []
    )
    few = DigestFigures(date(2026, 11, 22), months, [PendampingFigures(1, "P1")], [])
    assert _chart_title(many, t) == (
        f"Kehadiran (%), 6 bulan terakhir: {MAX_ROWS} dari {MAX_ROWS + 1} pendamping "
        "(selengkapnya di Excel)"
    )
    assert _chart_title(few, t) == "Kehadiran per pendamping (%), 6 bulan terakhir"
