"""A hand-built kabupaten with known digest answers (see test_digest_figures.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    KpmStatus,
    MeetingStatus,
    StaffRole,
)
from models.regions import RegionIndex
from models.rules.text import name_key
from models.tables import (
    Attendance,
    CaseNote,
    GraduationAssessment,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Staff,
)

AS_OF = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 10:00 WIB
MARKS = {
    "H": AttendanceMark.HADIR,
    "I": AttendanceMark.IZIN,
    "S": AttendanceMark.SAKIT,
    "A": AttendanceMark.ALPA,
}
MELATI_MEETINGS = {  # date: marks of Sari, Rini, Tuti, Wati (and Yuni)
    date(2026, 7, 14): "HHAH",
    date(2026, 8, 11): "HHHH",
    date(2026, 9, 8): "HHAHH",
    date(2026, 10, 13): "HISH",
    date(2026, 11, 10): "HAAH",
}


async def build_digest_world(sessions) -> dict[str, int]:  # noqa: ANN001
    ids: dict[str, int] = {}
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        desa = await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju", "Kec. Sumber", "Desa Maju"])
        kab = await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju"])
        other_desa = await index.ensure_path(["Jawa Tengah", "Kab. Lain", "Kec. Lain", "Desa Lain"])
        other_kab = await index.ensure_path(["Jawa Tengah", "Kab. Lain"])
        for name, role, region in (
            ("Ani Suryani", StaffRole.PENDAMPING, None),
            ("Budi Santoso", StaffRole.PENDAMPING, None),
            ("Citra Lestari", StaffRole.PENDAMPING, None),
            ("Dewi Koordinator", StaffRole.KOORDINATOR, kab),
            ("Eko Koordinator", StaffRole.KOORDINATOR, other_kab),
        ):
            member = Staff(role=role, name=name, name_key=name_key(name), region_id=region)
            session.add(member)
            await session.flush()
            ids[name.split()[0].lower()] = member.id
        for key, name, owner, place in (
            ("melati", "Kelompok Melati", "ani", desa),
            ("mawar", "Kelompok Mawar", "budi", desa),
            ("kenanga", "Kelompok Kenanga", "citra", other_desa),
        ):
            group = Kelompok(
                name=name, name_key=name_key(name), desa_id=place, pendamping_id=ids[owner]
            )
            session.add(group)
            await session.flush()
            ids[key] = group.id
        people = [
            ("sari", "melati"),
            ("rini", "melati"),
            ("tuti", "melati"),
            ("wati", "melati"),
            ("yuni", "mawar"),
            ("yeti", "mawar"),
            ("gina", "melati"),
            ("kiki", "kenanga"),
        ]
        for number, (key, group) in enumerate(people, start=1):
            kpm = Kpm(
                id_pkh=f"P{number:03d}",
                nik=f"3399010000{number:06d}",
                nama_pengurus=key.capitalize(),
                kelompok_id=ids[group],
            )
            session.add(kpm)
            await session.flush()
            ids[key] = kpm.id
        # Yeti graduated this year, Gina last year: only Yeti counts (for Budi).
        yeti, gina = await session.get(Kpm, ids["yeti"]), await session.get(Kpm, ids["gina"])
        assert yeti is not None and gina is not None
        yeti.status, yeti.graduated_on = KpmStatus.GRADUASI_MANDIRI, date(2026, 3, 1)
        gina.status, gina.graduated_on = KpmStatus.GRADUASI_ALAMIAH, date(2025, 12, 15)

        def meeting(group: str, day: date, status: MeetingStatus) -> Meeting:
            row = Meeting(
                kelompok_id=ids[group],
                meeting_date=day,
                status=status,
                starts_at=datetime.combine(day, time(2, 0), UTC),
            )
            session.add(row)
            return row

        order = ["sari", "rini", "tuti", "wati", "yuni"]
        for day, marks in MELATI_MEETINGS.items():
            held = meeting("melati", day, MeetingStatus.HELD)
            await session.flush()
            for who, mark in zip(order, marks, strict=False):
                session.add(Attendance(meeting_id=held.id, kpm_id=ids[who], mark=MARKS[mark]))
        meeting("melati", date(2026, 11, 17), MeetingStatus.CANCELLED)
        meeting("melati", date(2026, 11, 24), MeetingStatus.PLANNED)
        kenanga = meeting("kenanga", date(2026, 11, 3), MeetingStatus.HELD)
        await session.flush()
        session.add(Attendance(meeting_id=kenanga.id, kpm_id=ids["kiki"], mark=MARKS["A"]))

        def case(
            who: str,
            category: str,
            severity: CaseSeverity,
            status: CaseStatus,
            follow_up: date | None,
        ) -> None:
            session.add(
                CaseNote(
                    kpm_id=ids[who],
                    staff_id=None,
                    category=category,
                    description="-",
                    severity=severity,
                    status=status,
                    follow_up_date=follow_up,
                )
            )

        case("sari", "kks_bermasalah", CaseSeverity.BIASA, CaseStatus.BARU, date(2026, 11, 20))
        case("rini", "perlindungan_anak", CaseSeverity.MENDESAK, CaseStatus.BARU, None)
        case("tuti", "lainnya", CaseSeverity.BIASA, CaseStatus.SELESAI, date(2026, 10, 1))
        case(
            "yuni",
            "bansos_belum_cair",
            CaseSeverity.BIASA,
            CaseStatus.TINDAK_LANJUT,
            date(2026, 12, 1),
        )
        case("kiki", "lainnya", CaseSeverity.MENDESAK, CaseStatus.BARU, date(2026, 1, 1))
        # Sari's last komponen ends within 90 days (alamiah); Yuni assessed ready (mandiri).
        session.add(Komponen(kpm_id=ids["sari"], type="anak_sma", end_date=date(2027, 1, 15)))
        session.add(Komponen(kpm_id=ids["wati"], type="anak_sd", end_date=date(2030, 7, 1)))
        session.add(
            GraduationAssessment(
                kpm_id=ids["yuni"], indicators={}, score=8.0, threshold=7.0, gates_met=True
            )
        )
    return ids
