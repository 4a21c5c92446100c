"""The small world of tests/world.py with three months of history and one family, Siti
Aminah of Kelompok Melati, who has something of every kind the service keeps: marks
(one with a note), an RSVP with a reason, a case with an update and a photo, a
commitment check with its evidence photo, a graduation assessment, a complementary
programme, a pesan KPM written from her phone (pushed to her pendamping through the
outbox), a reply waiting for her, an inbox row, a reminder waiting, a conversation,
a changed phone number and a digest naming her. Built through the model functions the
chat flows use, so the audit rows are the real ones."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import JSON, String, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import models.bansos
import models.referral_tables  # noqa: F401 (every table in the metadata)
from models.attendance import AttendanceRecord, save_attendance
from models.bansos import save_programmes
from models.base import Base
from models.cases import NewCase, open_case, update_case
from models.enums import (
    CaseSeverity,
    CaseStatus,
    Channel,
    CommitmentResult,
    InboxStatus,
    MeetingStatus,
    OutboxStatus,
    ProgrammeStatus,
    RsvpAnswer,
)
from models.graduation import NewAssessment, save_assessment
from models.messaging.tables import Conversation, Inbox, Outbox
from models.phone_changes import change_phone
from models.rsvp import record_rsvp
from models.rules.clock import FixedClock
from models.scrub import phone_forms
from models.tables import Attendance, CommitmentCheck, Komponen, Kpm, Meeting, Staff
from tests.world import MELATI, NOW, Chat, World, build_world, make_engine

NAME = "Siti Aminah"
OLD_PHONE_WRITTEN = "0813 5550 1234"
PESAN = "Bu, kartu KKS saya hilang di pasar kemarin sore"
REASON = "anak saya demam tinggi sejak kemarin malam"
CASE_TEXT = "Kartu KKS Ibu Siti Aminah tertelan mesin ATM di Sumber"
UPDATE_NOTE = "sudah diantar ke bank, menunggu kartu pengganti"
NOTE = "datang terlambat karena mengantar anak ke puskesmas"
PHOTO = "https://example.invalid/m/kks.jpg"
MEETING_DAYS = (date(2026, 9, 8), date(2026, 10, 13), date(2026, 11, 10))


@dataclass
class Family:
    world: World
    kpm_id: int
    id_pkh: str
    nik: str
    phone: str  # E.164, the number now
    old_phone: str  # the number before the change (kept masked in the audit)
    case_id: int
    waiting_reminder_id: int  # a reminder to her, still pending


async def _staff(session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    assert staff is not None
    return staff


async def build_family_world(sessions: async_sessionmaker[AsyncSession]) -> Family:
    world = await build_world(sessions)
    siti_id = world.kpm[NAME]
    async with sessions.begin() as session:
        ani = await _staff(session, world.ani)
        siti = await session.get(Kpm, siti_id)
        assert siti is not None
        current = siti.phone
        assert current is not None
        # A number changed: the audit keeps both, masked.
        await change_phone(session, siti, OLD_PHONE_WRITTEN, by=ani, now=NOW - timedelta(days=90))
        old = siti.phone
        assert old is not None
        await change_phone(session, siti, current, by=ani, now=NOW - timedelta(days=60))
        members = [world.kpm[name] for name in MELATI]
        for number, day in enumerate(MEETING_DAYS):
            marks = {kpm_id: "hadir" for kpm_id in members}
            marks[siti_id] = ("hadir", "alpa", "alpa")[number]  # absent twice in a row
            marks[world.kpm["Sri Wahyuni"]] = ("hadir", "izin", "alpa")[number]
            when = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)
            meeting_id = await save_attendance(
                session, ani,
                AttendanceRecord(world.melati, None, day, 1, number + 1, marks),
                now=when,
            )
            meeting = await session.get(Meeting, meeting_id)
            assert meeting is not None and meeting.status is MeetingStatus.HELD
        await session.flush()
        first = await session.scalar(
            select(Attendance).join(Meeting, Meeting.id == Attendance.meeting_id).where(
                Attendance.kpm_id == siti_id, Meeting.meeting_date == MEETING_DAYS[0]
            )
        )
        assert first is not None
        first.note = NOTE
        await record_rsvp(
            session, world.melati_today, siti_id, RsvpAnswer.TIDAK, REASON,
            now=NOW - timedelta(days=1),
        )
        case_id = await open_case(
            session, ani,
            NewCase(siti_id, "kks_bermasalah", CASE_TEXT, CaseSeverity.BIASA, date(2026, 11, 30),
                    photos=((PHOTO, "image/jpeg"),)),
            now=NOW - timedelta(days=20),
        )
        await update_case(
            session, ani, case_id, CaseStatus.TINDAK_LANJUT, UPDATE_NOTE,
            now=NOW - timedelta(days=10),
        )
        komponen = await session.scalar(select(Komponen).where(Komponen.kpm_id == siti_id))
        assert komponen is not None
        session.add(
            CommitmentCheck(
                komponen_id=komponen.id, kpm_id=siti_id, commitment="hadir_sekolah",
                period_start=date(2026, 10, 1), result=CommitmentResult.MEMENUHI,
                evidence_ref="https://example.invalid/m/rekap.jpg", recorded_by_id=ani.id,
                recorded_at=NOW - timedelta(days=15),
            )
        )
        await save_assessment(
            session, ani,
            NewAssessment(siti_id, frozenset({"usaha_berjalan"}), ("usaha_berjalan", "bersedia"),
                          2, 3, 4.0, 7.0),
            now=NOW - timedelta(days=5),
        )
        await save_programmes(
            session, ani, siti_id, {"kis_pbi_jkn": ProgrammeStatus.PUNYA},
            now=NOW - timedelta(days=5),
        )
        address = f"whatsapp:{current}"
        session.add(
            Inbox(
                channel=Channel.WHATSAPP, external_id="SM-erasure-1", address=address,
                payload={"From": address, "Body": "Ibu Siti Aminah di sini"},
                status=InboxStatus.DONE, received_at=NOW - timedelta(hours=2),
                done_at=NOW - timedelta(hours=2),
            )
        )
        waiting = Outbox(
            channel=Channel.WHATSAPP, address=address, kind="meeting_reminder",
            dedupe_key=f"reminder:{world.melati_today}:1:{siti_id}",
            payload={"text": f"Yth. Ibu {NAME}, pertemuan Kelompok Melati"},
            status=OutboxStatus.PENDING,
        )
        before = Outbox(  # a reminder sent while she had her old number
            channel=Channel.WHATSAPP, address=f"whatsapp:{old}", kind="meeting_reminder",
            dedupe_key=f"reminder:{world.melati_today}:3:{siti_id}",
            payload={"text": f"Yth. Ibu {NAME}, pertemuan Kelompok Melati"},
            status=OutboxStatus.DELIVERED, sent_at=NOW - timedelta(days=70),
        )
        digest = Outbox(
            channel=Channel.CONSOLE, address="console:dewi", kind="weekly_digest",
            dedupe_key="digest:test:text",
            payload={"text": f"Absen 2 kali berturut-turut: {NAME} (Kelompok Melati)"},
            status=OutboxStatus.SENT, sent_at=NOW - timedelta(days=3),
        )
        session.add_all([waiting, before, digest])
        session.add(
            Conversation(address=address, flow=None, step=None, data={"last": "pesan"})
        )
        await session.flush()
        family = Family(
            world, siti_id, siti.id_pkh, siti.nik, current, old, case_id, waiting.id,
        )
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock, queued_channels=("whatsapp",))
    await Chat(engine, clock, f"whatsapp:{family.phone}").send(PESAN)
    return family


def needles(family: Family) -> list[str]:
    """What must be nowhere once the family is erased: name, numbers, texts."""
    return [
        NAME, family.nik, *phone_forms(family.phone), *phone_forms(family.old_phone),
        PESAN, REASON, CASE_TEXT, UPDATE_NOTE, NOTE,
    ]


async def found_anywhere(sessions, wanted: list[str]) -> dict[str, list[str]]:  # noqa: ANN001
    """Every table, every text and JSON column cast to text, searched for each needle
    (any case): table.column -> the needles it holds."""
    found: dict[str, list[str]] = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                written = func.lower(cast(column, Text))
                for needle in wanted:
                    hits = await session.scalar(
                        select(func.count()).select_from(table).where(
                            or_(written.contains(needle.lower()),
                                written.contains(json.dumps(needle)[1:-1].lower()))
                        )
                    )
                    if hits:
                        found.setdefault(f"{table.name}.{column.name}", []).append(needle)
    return found
