"""Export test data on top of ``tests/world.py``: meetings, cases, graduation signals and
commitment checks in three time zones (WIB Jawa Tengah, WITA Sulawesi Selatan, WIT Papua),
a coordinator for each of two kabupaten, and a supervisor for one pendamping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    CommitmentResult,
    KpmStatus,
    MeetingStatus,
    StaffRole,
)
from models.regions import RegionIndex
from models.rules.text import name_key
from models.tables import (
    Attendance,
    CaseNote,
    CommitmentCheck,
    GraduationAssessment,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Staff,
)
from tests.world import World, build_world

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class ExportWorld:
    base: World
    citra: int = 0  # pendamping in Sulawesi Selatan (WITA)
    rudi: int = 0  # koordinator of Kab. Maros
    sari: int = 0  # supervisor of Budi
    hasnah: int = 0  # KPM in Kelompok Anggrek (WITA)
    yosina: int = 0  # KPM in Kelompok Cendrawasih (WIT)


async def _group(
    session: AsyncSession, index: RegionIndex, path: list[str], name: str, pendamping: int
) -> int:
    desa = await index.ensure_path(path)
    kelompok = Kelompok(name=name, name_key=name_key(name), desa_id=desa, pendamping_id=pendamping)
    session.add(kelompok)
    await session.flush()
    return kelompok.id


def _staff(session: AsyncSession, role: StaffRole, name: str, **values: int | None) -> Staff:
    member = Staff(role=role, name=name, name_key=name_key(name), active=True, **values)
    session.add(member)
    return member


def _kpm(session: AsyncSession, id_pkh: str, name: str, kelompok: int) -> Kpm:
    kpm = Kpm(id_pkh=id_pkh, nik="7371010101010001", nama_pengurus=name, kelompok_id=kelompok)
    session.add(kpm)
    return kpm


async def _meeting(
    session: AsyncSession,
    kelompok: int,
    day: date,
    marks: list[tuple[int, AttendanceMark, str | None]],
    recorded_at: datetime,
    *,
    sesi: int = 5,
) -> None:
    meeting = Meeting(
        kelompok_id=kelompok,
        meeting_date=day,
        starts_at=recorded_at,
        status=MeetingStatus.HELD,
        modul=2,
        sesi=sesi,
        attendance_recorded_at=recorded_at,
    )
    session.add(meeting)
    await session.flush()
    for kpm_id, mark, note in marks:
        session.add(
            Attendance(
                meeting_id=meeting.id, kpm_id=kpm_id, mark=mark, note=note, recorded_at=recorded_at
            )
        )


def _case(session: AsyncSession, kpm_id: int, created_at: datetime, **values: object) -> None:
    defaults: dict[str, object] = {
        "category": "lainnya",
        "description": "Perlu tindak lanjut.",
        "severity": CaseSeverity.BIASA,
        "status": CaseStatus.BARU,
    }
    session.add(CaseNote(kpm_id=kpm_id, created_at=created_at, **{**defaults, **values}))


async def build_export_world(sessions: async_sessionmaker[AsyncSession]) -> ExportWorld:
    world = ExportWorld(await build_world(sessions))
    kpm = world.base.kpm
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        maros = await index.ensure_path(["Sulawesi Selatan", "Kab. Maros"])
        citra = _staff(session, StaffRole.PENDAMPING, "Citra Lestari")
        rudi = _staff(session, StaffRole.KOORDINATOR, "Rudi Koordinator", region_id=maros)
        yakob = _staff(session, StaffRole.PENDAMPING, "Yakob Wenda")
        sari = _staff(session, StaffRole.SUPERVISOR, "Sari Supervisor")
        await session.flush()
        world.citra, world.rudi, world.sari = citra.id, rudi.id, sari.id
        (await session.get(Staff, world.base.budi)).supervisor_id = sari.id
        anggrek = await _group(
            session,
            index,
            ["Sulawesi Selatan", "Kab. Maros", "Kec. Bantimurung", "Desa Jenetaesa"],
            "Kelompok Anggrek",
            citra.id,
        )
        cendrawasih = await _group(
            session,
            index,
            ["Papua", "Kab. Jayapura", "Kec. Sentani", "Desa Hinekombe"],
            "Kelompok Cendrawasih",
            yakob.id,
        )
        hasnah = _kpm(session, "PKH-SUL-1", "Hasnah", anggrek)
        yosina = _kpm(session, "PKH-PAP-1", "Yosina Kogoya", cendrawasih)
        await session.flush()
        world.hasnah, world.yosina = hasnah.id, yosina.id

        await _meeting(
            session,
            world.base.melati,
            date(2026, 11, 10),
            [
                (kpm["Siti Aminah"], AttendanceMark.HADIR, None),
                (kpm["Siti Rahayu"], AttendanceMark.IZIN, "ke rumah sakit"),
                (kpm["Sri Wahyuni"], AttendanceMark.SAKIT, None),
                (kpm["Dewi Lestari"], AttendanceMark.ALPA, None),
            ],
            utc(2026, 11, 10, 3, 0),
        )
        await _meeting(
            session,
            world.base.melati,
            date(2026, 10, 13),
            [(kpm["Siti Aminah"], AttendanceMark.HADIR, None)],
            utc(2026, 10, 13, 3, 0),
            sesi=4,
        )
        await _meeting(
            session,
            world.base.kenanga,
            date(2026, 11, 11),
            [(kpm["Siti Budiarti"], AttendanceMark.HADIR, None)],
            utc(2026, 11, 11, 4, 0),
        )
        await _meeting(
            session,
            anggrek,
            date(2026, 11, 12),
            [(hasnah.id, AttendanceMark.HADIR, None)],
            utc(2026, 11, 12, 1, 30),
        )
        # Recorded after midnight in Jayapura: 1 December there, still 30 November in UTC.
        await _meeting(
            session,
            cendrawasih,
            date(2026, 11, 30),
            [(yosina.id, AttendanceMark.HADIR, None)],
            utc(2026, 11, 30, 16, 30),
        )

        _case(
            session,
            kpm["Sumarni"],
            utc(2026, 11, 5, 2, 0),
            category="kks_bermasalah",
            description='=HYPERLINK("http://contoh")',
            follow_up_date=date(2026, 11, 20),
        )
        # 31 October in UTC, 1 November 01:00 in Jakarta: a November case.
        _case(
            session,
            kpm["Siti Budiarti"],
            utc(2026, 10, 31, 18, 0),
            category="perlindungan_anak",
            severity=CaseSeverity.MENDESAK,
            status=CaseStatus.SELESAI,
            closed_at=utc(2026, 11, 3, 5, 0),
        )
        _case(session, kpm["Kurniasih"], utc(2026, 11, 8, 3, 0), category="bencana_alam")
        _case(session, kpm["Ratna Sari"], utc(2026, 10, 31, 16, 30))  # 23:30 WIB: October
        _case(session, hasnah.id, utc(2026, 10, 31, 16, 30))  # 00:30 WITA: November
        _case(session, yosina.id, utc(2026, 11, 30, 16, 0))  # 01:00 WIT on 1 December

        (await session.get(Kpm, kpm["Nur Hasanah"])).status = KpmStatus.GRADUASI_MANDIRI
        (await session.get(Kpm, kpm["Nur Hasanah"])).graduated_on = date(2026, 11, 15)
        for name, ends in (
            ("Yuli Astuti", [date(2024, 7, 1), date(2026, 11, 20)]),
            ("Wati Suryani", [date(2026, 11, 5), date(2030, 7, 1)]),
        ):
            for end in ends:
                session.add(Komponen(kpm_id=kpm[name], type="anak_sd", end_date=end))
        for name, score, at in (
            ("Ratna Sari", 0.5, utc(2026, 10, 1, 3)),
            ("Ratna Sari", 0.8, utc(2026, 11, 18, 3)),
            ("Ratna Sari", 0.9, utc(2026, 12, 5, 3)),
            ("Kurniasih", 0.4, utc(2026, 9, 1, 3)),
        ):
            session.add(
                GraduationAssessment(
                    kpm_id=kpm[name], indicators={}, score=score, threshold=0.7, assessed_at=at
                )
            )
        session.add(
            GraduationAssessment(
                kpm_id=hasnah.id,
                indicators={},
                score=0.75,
                threshold=0.7,
                assessed_at=utc(2026, 10, 31, 16, 30),
            )
        )  # 00:30 WITA, 1 Nov
        await _commitment_checks(session, world, citra.id, yakob.id)
    return world


async def _commitment_checks(
    session: AsyncSession, world: ExportWorld, citra: int, yakob: int
) -> None:
    """Siti Aminah's school attendance (her anak_sd of tests/world.py) in October (met),
    November (not met, recorded 00:30 WIB on 21 November) and December; Yuli Astuti's
    ending anak_sd in November, by a staff member since removed; Hasnah's (WITA) and
    Yosina's (WIT) weighing in November."""
    kpm = world.base.kpm
    komponen = {
        row.kpm_id: row.id
        for row in await session.scalars(select(Komponen).order_by(Komponen.end_date))
    }
    hasnah = Komponen(
        kpm_id=world.hasnah,
        type="anak_usia_dini",
        birth_date=date(2023, 4, 5),
        end_date=date(2030, 4, 5),
    )
    yosina = Komponen(
        kpm_id=world.yosina,
        type="anak_usia_dini",
        birth_date=date(2024, 8, 17),
        end_date=date(2031, 8, 17),
    )
    session.add_all([hasnah, yosina])
    await session.flush()
    MET, NOT_MET = CommitmentResult.MEMENUHI, CommitmentResult.TIDAK_MEMENUHI
    for kpm_id, komponen_id, commitment, period, result, reason, by, at in (
        (
            kpm["Siti Aminah"],
            komponen[kpm["Siti Aminah"]],
            "hadir_sekolah",
            date(2026, 10, 1),
            MET,
            None,
            world.base.ani,
            utc(2026, 10, 28, 3, 0),
        ),
        (
            kpm["Siti Aminah"],
            komponen[kpm["Siti Aminah"]],
            "hadir_sekolah",
            date(2026, 11, 1),
            NOT_MET,
            "sakit",
            world.base.ani,
            utc(2026, 11, 20, 17, 30),
        ),
        (
            kpm["Siti Aminah"],
            komponen[kpm["Siti Aminah"]],
            "hadir_sekolah",
            date(2026, 12, 1),
            MET,
            None,
            world.base.ani,
            utc(2026, 12, 20, 3, 0),
        ),
        (
            kpm["Yuli Astuti"],
            komponen[kpm["Yuli Astuti"]],  # the one ending 20 November 2026
            "hadir_sekolah",
            date(2026, 11, 1),
            NOT_MET,
            "pindah_sekolah",
            None,
            utc(2026, 11, 5, 3, 0),
        ),
        (
            world.hasnah,
            hasnah.id,
            "timbang_imunisasi",
            date(2026, 11, 1),
            MET,
            None,
            citra,
            utc(2026, 11, 15, 1, 0),
        ),
        (
            world.yosina,
            yosina.id,
            "timbang_imunisasi",
            date(2026, 11, 1),
            MET,
            None,
            yakob,
            utc(2026, 11, 29, 16, 0),
        ),
    ):
        session.add(
            CommitmentCheck(
                komponen_id=komponen_id,
                kpm_id=kpm_id,
                commitment=commitment,
                period_start=period,
                result=result,
                reason=reason,
                evidence_ref=None,
                recorded_by_id=by,
                recorded_at=at,
            )
        )
